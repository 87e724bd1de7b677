"""Training, used by pre-training and fine-tuning alike: build the pieces, resume, run epochs, checkpoint.

The loops themselves are in ``loop`` (train_one_epoch, validate); where the run executes
in ``context`` (device, DDP); what a checkpoint is in ``checkpoint``; what may be resumed
in ``resume``.  Exact resume: everything random is keyed rather than carried in process
state (data order by (seed, epoch), augmentation by (seed, epoch, index), dropout and
Mixup by (seed, step)), the learning rate is a function of the step, and the optimiser
state is saved; so a run restarted from a checkpoint takes the same steps an
uninterrupted run would have taken.
"""

from __future__ import annotations

import dataclasses
import shutil
import time
from pathlib import Path

import torch
from tqdm import tqdm

from fdsl.data.formula import EpochSampler, Keyed
from fdsl.core.errors import FdslError
from fdsl.core.notes import note, plural, warn, work_starts
from fdsl.train import checkpoint, diagnose, hub_config, logs, resume as resuming
from fdsl.train.context import Context, loader
from fdsl.train.loop import Training, train_one_epoch, validate
from fdsl.train.model import keep_frozen_eval, plain_state_dict
from fdsl.train.recipes import TrainConfig
from fdsl.train.tasks.classification import CLASSIFICATION

evaluate = validate  # the name the verbs use
LOCK = ".fdsl-train.lock"


def fit(model, train_set, val_set, config: TrainConfig, folder: Path, meta: dict, resume: bool = False,
        frozen: list[str] | None = None, progress: bool = True, stop_after_steps: int | None = None,
        heldout_set=None, task=CLASSIFICATION) -> dict:
    """Train ``model`` and write the run folder; returns the last sidecar.

    ``meta`` is the sidecar's description of the run (model, model_kwargs, classes,
    data...).  ``val_set`` None: accuracy is measured on a fixed sample of training
    images instead.  ``heldout_set``: pre-training images never trained on (of the same
    categories); their accuracy says whether the task is being learned (``diagnose``).
    ``stop_after_steps`` stops after that many steps as a kill would (the last
    checkpoint is what survives): tests use it to check resumption.  ``task`` says what
    an item is and how it is scored (``fdsl.train.tasks.classification``; segmentation: fdsl.train.tasks.segmentation).
    """
    ctx = Context(config.device)
    if config.threads:
        torch.set_num_threads(config.threads)
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise FdslError(f"--out {folder} is a file; give a folder for the run")
    num_classes = len(meta["classes"])
    torch.manual_seed(config.seed)
    model.to(ctx.device)
    if config.channels_last and ctx.device.type == "cuda":
        model.to(memory_format=torch.channels_last)
    if config.small_convs != "matmul" and ctx.device.type != "cpu" and ctx.main:
        note(f"--small-convs {config.small_convs} chooses a CPU kernel; on {ctx.device} torch's own kernels run")

    labels, changed = task.labels(train_set, num_classes, config)
    meta = {**meta, "label_noise": {"fraction": config.label_noise, "changed": int(changed.sum())}}
    keyed = Keyed(train_set, seed=config.seed, targets=labels if config.label_noise else None,
                  transforms=task.train_transforms(config))
    sampler = EpochSampler(len(train_set), config.seed, shuffle=True, rank=ctx.rank, world=ctx.world)
    if config.batch_size > len(sampler) > 0:
        # A small dataset trains in whole-dataset batches rather than being refused (the recipes' 256 fits
        # ImageNet-sized data, not 20 images); said, since the recipe's or the user's value is not what runs.
        if ctx.main:
            note(f"--batch-size {config.batch_size} is larger than the {len(sampler)} training images of each of "
                 f"{ctx.world} process(es): training with batches of {len(sampler)} (the learning rate "
                 f"stays {config.lr:g})")
        config = dataclasses.replace(config, batch_size=len(sampler))
    steps_per_epoch = len(sampler) // config.batch_size
    if steps_per_epoch == 0:
        raise FdslError("no training images for this process: give more data or fewer processes")
    run = _build(model, train_set, config, ctx, num_classes, steps_per_epoch, task)
    sidecar = dict(meta, config=config.to_dict(), epochs=config.epochs, steps_per_epoch=steps_per_epoch,
                   environment=ctx.environment())
    if task is CLASSIFICATION:  # a timm model: its folder loads with timm.create_model("local-dir:RUN")
        sidecar["pretrained_cfg"] = hub_config.pretrained_cfg(model, config)
    created = not folder.exists()
    if not created:  # on every process, as the refusals below: one refusing alone would leave the others waiting
        _refuse_foreign_folder(folder)
    lock = None
    try:
        if ctx.main:
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise FdslError(f"cannot create {folder} ({exc.strerror or exc}); choose a writable --out") from None
            work_starts()  # the inputs passed: the notes held about this run's settings are said now
            lock = _lock(folder)  # before anything is read: a second writer would interleave its checkpoints
        if resume:
            saved = resuming.restore(folder, run, config, sidecar, ctx.main)
            if saved is not None:
                # The saved sidecar's progress entries, in its key order: model.json then has the uninterrupted
                # run's bytes (a fresh sidecar gains them at the first save, "diagnosis" at the first warning).
                sidecar.update({key: saved[key] for key in ("epoch", "global_step", "metrics", "complete",
                                                             "diagnosis") if key in saved})
                ordered = [key for key in saved if key in sidecar] + [key for key in sidecar if key not in saved]
                for key in ordered:
                    sidecar[key] = sidecar.pop(key)
                if run.step >= steps_per_epoch * config.epochs:
                    if ctx.main:
                        checkpoint.settle(folder, checkpoint.latest(folder))  # a kill inside the last save
                        tqdm.write(f"{folder}: the run is already complete ({plural(config.epochs, 'epoch')}); "
                                   "nothing to do")
                    return saved
        elif (folder / checkpoint.SIDECAR).exists() or checkpoint.latest(folder) is not None:
            raise FdslError(f"{folder} already holds a training run; add --resume to continue it or choose a new "
                            "--out")
        if ctx.main:
            logs.truncate_after(folder, run.step) if run.step else (folder / logs.METRICS).unlink(missing_ok=True)
        ctx.barrier()
        return _epochs(run, train_set, val_set, heldout_set, keyed, sampler, labels, config, ctx, folder, sidecar,
                       frozen or [], progress, stop_after_steps, task)
    except BaseException:
        # A run that fails or is interrupted before its first checkpoint leaves nothing worth keeping
        # (only when this process made the folder and holds it: never another writer's).
        if created and lock is not None and checkpoint.latest(folder) is None:
            shutil.rmtree(folder, ignore_errors=True)
        raise
    finally:
        if lock is not None:
            lock.release()


# What a training run writes at the top of its folder: a folder holding anything else and no run is not ours.
RUN_FILES = frozenset({LOCK, checkpoint.SIDECAR, checkpoint.WEIGHTS, checkpoint.CHECKPOINTS, hub_config.CONFIG,
                       logs.METRICS, logs.METRICS_CSV, logs.CURVES, logs.TENSORBOARD})


def _refuse_foreign_folder(folder: Path) -> None:
    """Refuse an --out that exists and holds no run but other files (a dataset, a catalog, another tool's output):
    training into it would mix a run into them (and a dataset --out of its own --images gains a class).
    A folder that holds a run is resume's to judge; one left by a run killed before its first save holds only
    run files."""
    from fdsl.core.files import PART_SUFFIX

    if not folder.is_dir() or (folder / checkpoint.SIDECAR).exists() or (folder / checkpoint.CHECKPOINTS).exists():
        return
    foreign = sorted(entry.name for entry in folder.iterdir()
                     if entry.name not in RUN_FILES and not entry.name.endswith(PART_SUFFIX))  # a write cut short
    if foreign:
        shown = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
        raise FdslError(f"{folder} is not empty and holds no fdsl training run ({shown}); choose a new or empty --out")


def _lock(folder: Path):
    """One training process per run folder; the operating system releases the lock when the process dies."""
    from fdsl.core.files import acquire_lock

    return acquire_lock(folder / LOCK, f"another fdsl training run is writing to {folder}; wait for it to finish "
                        "(then add --resume to continue it), or choose another --out")


def _build(model, train_set, config: TrainConfig, ctx: Context, num_classes: int, steps_per_epoch: int,
           task) -> Training:
    """Optimiser and schedule from timm; loss and Mixup from the task."""
    from timm.optim import create_optimizer_v2
    from timm.scheduler import create_scheduler_v2

    try:
        optimizer = create_optimizer_v2(model, opt=config.opt, lr=config.lr, weight_decay=config.weight_decay,
                                         momentum=config.momentum, layer_decay=config.layer_decay or None)
    except (ImportError, ValueError, RuntimeError, AssertionError) as exc:  # e.g. bnb*/fused* without their package
        raise FdslError(f"timm cannot build --opt {config.opt} here: {str(exc).splitlines()[0][:120]}") from None
    scheduler, _ = create_scheduler_v2(
        optimizer, sched=config.sched, num_epochs=config.epochs,
        decay_milestones=[f * config.epochs for f in config.decay_at], decay_rate=config.decay_rate,
        warmup_epochs=config.warmup_epochs, warmup_lr=config.warmup_lr, min_lr=config.min_lr, step_on_epochs=False,
        updates_per_epoch=steps_per_epoch)
    criterion, mixing = task.loss(train_set, config, num_classes)
    net = model
    if ctx.world > 1:
        device_ids = [ctx.device.index] if ctx.device.type == "cuda" else None
        net = torch.nn.parallel.DistributedDataParallel(model, device_ids=device_ids)
    return Training(model, net, optimizer, scheduler, criterion, mixing, steps_per_epoch)


def _epochs(run: Training, train_set, val_set, heldout_set, keyed, sampler, labels, config: TrainConfig, ctx: Context,
            folder: Path, sidecar: dict, frozen: list[str], progress: bool, stop_after_steps: int | None,
            task) -> dict:
    total_steps = run.steps_per_epoch * config.epochs

    def save(epoch_done: int, metrics: dict | None) -> None:
        sidecar.update(epoch=epoch_done, global_step=run.step, metrics=metrics or sidecar.get("metrics", {}),
                       complete=run.step == total_steps)
        if ctx.main:
            state = {"optimizer": run.optimizer.state_dict(), "global_step": run.step, "epoch_loss": run.epoch_loss,
                     "config": config.to_dict()}
            checkpoint.save(folder, plain_state_dict(run.model), sidecar, state)
        ctx.barrier()

    if ctx.main and sidecar.get("inherited"):  # said once everything is checked, as the training starts
        note(f"from the checkpoint: {' and '.join(sidecar['inherited'])} (--recipe, --image-size choose others)")
    for epoch in range(run.step // run.steps_per_epoch, config.epochs):
        run.net.train()
        keep_frozen_eval(run.model, frozen)
        sampler.set_epoch(epoch, skip=(run.step - epoch * run.steps_per_epoch) * config.batch_size)
        if config.render_device == "cpu":
            data = loader(keyed, sampler, config, config.batch_size, True, ctx)
        else:  # rendered and augmented on the GPU (docs/gpu.md)
            from fdsl.data.device_batches import device_batches
            data = device_batches(train_set, sampler, config, ctx.device, labels if config.label_noise else None)
        started = time.perf_counter()

        def after_step(step: int, at_epoch_end: bool) -> bool:
            if config.checkpoint_every and step % config.checkpoint_every == 0 and not at_epoch_end:
                save(epoch, None)
            return stop_after_steps is not None and step >= stop_after_steps and not at_epoch_end

        if not train_one_epoch(run, data, epoch, config, ctx, folder, after_step, progress):
            return sidecar
        metrics = {"train_loss": run.epoch_loss[0] / max(run.epoch_loss[1], 1)}
        run.epoch_loss = [0.0, 0]
        evaluated = (epoch + 1) % config.eval_every == 0 or epoch + 1 == config.epochs
        if evaluated:
            metrics.update(_epoch_metrics(run.model, train_set, val_set, heldout_set, config, ctx, progress, task))
        metrics["epoch_seconds"] = time.perf_counter() - started
        warning = diagnose.pretraining(metrics.get("heldout_top1"), epoch + 1, config.epochs, len(sidecar["classes"]),
                                       sidecar.get("learnability"))
        if warning and warning not in sidecar.get("diagnosis", []):
            sidecar["diagnosis"] = sidecar.get("diagnosis", []) + [warning]
            if ctx.main:
                warn(warning)
        if ctx.main:
            # Epochs count from 1 everywhere: the console's "epoch 3/10", model.json's epochs done, and these records.
            logs.append(folder, {"kind": "epoch", "step": run.step, "epoch": epoch + 1, **metrics})
            logs.write_csv(folder)
            if config.tensorboard:
                logs.write_tensorboard(folder)
            tqdm.write(f"epoch {epoch + 1}/{config.epochs}: " + logs.summary(metrics))
        # Only when the accuracy curve gained a point: a matplotlib figure takes a sizeable part of a short
        # fine-tuning epoch (the demo's runs have 7 steps an epoch), and between evaluations nothing new is drawn.
        # Before the save: a kill before the save completes redoes this epoch, the curves included.
        if ctx.main and evaluated:
            logs.plot({folder.name: folder}, folder / logs.CURVES,
                      title=f"{sidecar['model']} ({sidecar.get('stage', '')})")
        save(epoch + 1, metrics)
        if stop_after_steps is not None and run.step >= stop_after_steps:
            return sidecar
    return sidecar


def _epoch_metrics(model, train_set, val_set, heldout_set, config: TrainConfig, ctx: Context, progress: bool,
                   task) -> dict:
    """Validation scores (fine-tuning), or training-sample and held-out scores (pre-training)."""
    parts = {}
    if val_set is not None:
        parts["val"] = task.validate(model, val_set, config, ctx, progress, desc="validate")
    elif task.fit_sample:
        parts["fit"] = task.validate(model, train_set, config, ctx, progress, limit=task.fit_sample,
                                     desc="fit sample")
    if heldout_set is not None:
        parts["heldout"] = task.validate(model, heldout_set, config, ctx, progress, desc="held-out")
    return {f"{prefix}_{k}": v for prefix, result in parts.items() for k, v in result.items()}
