"""The one training loop, used by pre-training and fine-tuning alike: data, steps, evaluation, checkpoints, DDP.

Exact resume: everything random is keyed rather than carried in process state
(data order by (seed, epoch), augmentation by (seed, epoch, index), dropout
and Mixup by (seed, step)), the learning rate is a function of the step, and
the optimiser state is saved; so a run restarted from a checkpoint takes the
same steps an uninterrupted run would have taken.
"""

from __future__ import annotations

import os
import platform
import time
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from tqdm import tqdm

from fdsl import __version__
from fdsl.datasets import EpochSampler, Keyed, dataset_targets, noisy_labels, seeded
from fdsl.errors import FdslError
from fdsl.seeding import rng_for
from fdsl.train import augment, checkpoint, diagnose, logs
from fdsl.train.model import keep_frozen_eval, load_weights, plain_state_dict
from fdsl.train.recipes import TrainConfig

# Values that may change between a run and its resumption without changing its result.
RESUMABLE_CHANGES = {"workers", "threads", "device", "log_every", "checkpoint_every", "eval_every"}
FIT_SAMPLE = 1000  # pre-training has no validation split: accuracy is measured on this many training images


def is_main_process() -> bool:
    """Rank 0 of a torchrun job, or a plain process: the one that prints and writes."""
    return int(os.environ.get("RANK", "0")) == 0


class Context:
    """Rank, world size and device, from torchrun's environment variables (or a single process)."""

    def __init__(self, device: str = "auto"):
        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        local = int(os.environ.get("LOCAL_RANK", "0"))
        if device == "auto":
            device = f"cuda:{local}" if torch.cuda.is_available() else "cpu"
        elif device == "cuda":
            device = f"cuda:{local}"
        if device.startswith("cuda") and not torch.cuda.is_available():
            raise FdslError("--device cuda asked for, but torch sees no CUDA device; use --device cpu")
        self.device = torch.device(device)
        if self.device.type == "cuda":
            torch.cuda.set_device(self.device)
        if self.world > 1 and not dist.is_initialized():
            dist.init_process_group(backend="nccl" if self.device.type == "cuda" else "gloo")

    @property
    def main(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        if self.world > 1:
            dist.barrier()

    def sum(self, values: list[float]) -> list[float]:
        if self.world == 1:
            return values
        tensor = torch.tensor(values, dtype=torch.float64, device=self.device)
        dist.all_reduce(tensor)
        return tensor.tolist()


def _loader(dataset, sampler, config: TrainConfig, batch_size: int, drop_last: bool, ctx: Context):
    return torch.utils.data.DataLoader(dataset, batch_size=batch_size, sampler=sampler, num_workers=config.workers,
                                       drop_last=drop_last, pin_memory=ctx.device.type == "cuda",
                                       persistent_workers=False)


def _autocast(config: TrainConfig, ctx: Context):
    if config.amp and ctx.device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return nullcontext()


@torch.no_grad()
def evaluate(model, dataset, config: TrainConfig, ctx: Context, progress: bool = False, limit: int | None = None,
             desc: str = "eval") -> dict:
    """Top-1/top-5 (%) and mean loss over ``dataset`` (or a fixed sample of ``limit`` items), summed over ranks."""
    indices = np.arange(len(dataset))
    if limit is not None and limit < len(dataset):
        indices = np.sort(rng_for(config.seed, "fit-sample").choice(len(dataset), size=limit, replace=False))
    mine = [(0, int(i)) for i in indices[ctx.rank::ctx.world]]
    keyed = Keyed(dataset, augment.eval_transform(config), config.seed)
    loader = _loader(keyed, mine, config, max(1, config.batch_size), False, ctx)
    was_training = model.training
    model.eval()
    top1 = top5 = loss_sum = count = 0.0
    for images, targets in tqdm(loader, desc=desc, leave=False, disable=not (progress and ctx.main)):
        images, targets = _to_device(images, targets, config, ctx)
        with _autocast(config, ctx):
            logits = model(images)
        logits = logits.float()
        ranked = logits.topk(min(5, logits.shape[1]), dim=1).indices
        if targets.ndim == 2:  # multi-label: top-k counts an image when one of its top k classes is present
            loss_sum += torch.nn.functional.binary_cross_entropy_with_logits(
                logits, targets, reduction="none").sum(dim=1).sum().item()
            hits = targets.gather(1, ranked) > 0
            top1 += hits[:, 0].sum().item()
            top5 += hits.any(dim=1).sum().item()
        else:
            loss_sum += torch.nn.functional.cross_entropy(logits, targets, reduction="sum").item()
            top1 += (ranked[:, 0] == targets).sum().item()
            top5 += (ranked == targets[:, None]).any(dim=1).sum().item()
        count += len(targets)
    model.train(was_training)
    top1, top5, loss_sum, count = ctx.sum([top1, top5, loss_sum, count])
    if count == 0:
        raise FdslError("the evaluation set is empty")
    return {"top1": 100 * top1 / count, "top5": 100 * top5 / count, "loss": loss_sum / count, "count": int(count)}


def _to_device(images, targets, config: TrainConfig, ctx: Context):
    images = images.to(ctx.device, non_blocking=True)
    if config.channels_last and ctx.device.type == "cuda":
        images = images.contiguous(memory_format=torch.channels_last)
    return images, targets.to(ctx.device, non_blocking=True)


def _environment(ctx: Context) -> dict:
    import timm

    return {"fdsl": __version__, "torch": torch.__version__, "timm": timm.__version__,
            "python": platform.python_version(), "device": str(ctx.device), "world_size": ctx.world}


def fit(model, train_set, val_set, config: TrainConfig, folder: Path, meta: dict, resume: bool = False,
        frozen: list[str] | None = None, progress: bool = True, stop_after_steps: int | None = None,
        heldout_set=None) -> dict:
    """Train ``model`` and write the run folder; returns the last sidecar.

    ``meta`` is the sidecar's description of the run (model, model_kwargs, classes,
    data...).  ``val_set`` None: accuracy is measured on a fixed sample of training
    images instead.  ``heldout_set``: pre-training images never trained on (of the same
    categories); their accuracy says whether the task is being learned (``diagnose``).
    ``stop_after_steps`` stops after that many steps as a kill would (the last
    checkpoint is what survives): tests use it to check resumption.
    """
    ctx = Context(config.device)
    if config.threads:
        torch.set_num_threads(config.threads)
    folder = Path(folder)
    frozen = frozen or []
    num_classes = len(meta["classes"])
    torch.manual_seed(config.seed)
    model.to(ctx.device)
    if config.channels_last and ctx.device.type == "cuda":
        model.to(memory_format=torch.channels_last)

    targets = dataset_targets(train_set)
    labels, changed = noisy_labels(targets, num_classes, config.label_noise, config.seed)
    meta = {**meta, "label_noise": {"fraction": config.label_noise, "changed": int(changed.sum())}}
    keyed = Keyed(train_set, augment.train_transform(config), config.seed,
                  targets=labels if config.label_noise else None)
    sampler = EpochSampler(len(train_set), config.seed, shuffle=True, rank=ctx.rank, world=ctx.world)
    steps_per_epoch = len(sampler) // config.batch_size
    if steps_per_epoch == 0:
        raise FdslError(f"--batch-size {config.batch_size} is larger than the {len(sampler)} training images "
                        f"of each of {ctx.world} process(es); lower --batch-size")
    total_steps = steps_per_epoch * config.epochs

    from timm.optim import create_optimizer_v2
    from timm.scheduler import create_scheduler_v2

    optimizer = create_optimizer_v2(model, opt=config.opt, lr=config.lr, weight_decay=config.weight_decay,
                                     momentum=config.momentum, layer_decay=config.layer_decay or None)
    scheduler, _ = create_scheduler_v2(
        optimizer, sched=config.sched, num_epochs=config.epochs, decay_milestones=[f * config.epochs for f in config.decay_at],
        decay_rate=config.decay_rate, warmup_epochs=config.warmup_epochs, warmup_lr=config.warmup_lr,
        min_lr=config.min_lr, step_on_epochs=False, updates_per_epoch=steps_per_epoch)
    multi_label = bool(getattr(train_set, "multi_label", False))
    mixing = None if multi_label else augment.mixup(config, num_classes)
    criterion = augment.loss_function(config, mixing is not None, multi_label)

    step, epoch_loss = 0, [0.0, 0]
    if resume:
        step, epoch_loss = _restore(folder, model, optimizer, config)
    elif (folder / checkpoint.SIDECAR).exists():
        raise FdslError(f"{folder} already holds a training run; add --resume to continue it or choose a new --out")
    if ctx.main:
        folder.mkdir(parents=True, exist_ok=True)
        logs.truncate_after(folder, step) if resume else (folder / logs.METRICS).unlink(missing_ok=True)
    ctx.barrier()
    net = model
    if ctx.world > 1:
        device_ids = [ctx.device.index] if ctx.device.type == "cuda" else None
        net = torch.nn.parallel.DistributedDataParallel(model, device_ids=device_ids)

    sidecar = dict(meta, config=config.to_dict(), epochs=config.epochs, steps_per_epoch=steps_per_epoch,
                   environment=_environment(ctx))

    def save(epoch_done: int, metrics: dict | None) -> None:
        sidecar.update(epoch=epoch_done, global_step=step, metrics=metrics or sidecar.get("metrics", {}),
                       complete=step == total_steps)
        if ctx.main:
            state = {"optimizer": optimizer.state_dict(), "global_step": step, "epoch_loss": epoch_loss,
                     "config": config.to_dict()}
            checkpoint.save(folder, plain_state_dict(model), sidecar, state)
        ctx.barrier()

    start_epoch = step // steps_per_epoch
    window = [0.0, 0]
    for epoch in range(start_epoch, config.epochs):
        net.train()
        keep_frozen_eval(model, frozen)
        sampler.set_epoch(epoch, skip=(step - epoch * steps_per_epoch) * config.batch_size)
        if config.render_device == "cpu":
            loader = _loader(keyed, sampler, config, config.batch_size, True, ctx)
        else:  # rendered and augmented on the GPU (docs/gpu.md)
            from fdsl.gpu_source import device_batches
            loader = device_batches(train_set, sampler, config, ctx.device, labels if config.label_noise else None)
        started = time.perf_counter()
        bar = tqdm(total=steps_per_epoch, initial=step - epoch * steps_per_epoch, desc=f"epoch {epoch + 1}/{config.epochs}",
                   disable=not (progress and ctx.main), leave=False)
        for images, batch_targets in loader:
            scheduler.step_update(step)
            images, batch_targets = _to_device(images, batch_targets, config, ctx)
            torch.manual_seed(int(rng_for(config.seed, "step", step).integers(2**62)))  # dropout, drop-path
            if mixing is not None:
                with seeded([config.seed, 0x313, step]):
                    images, batch_targets = mixing(images, batch_targets)
            with _autocast(config, ctx):
                loss = criterion(net(images), batch_targets)
            if not torch.isfinite(loss):
                raise FdslError(f"training diverged at step {step} (loss {loss.item()}); lower --lr")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            step += 1
            value = loss.item()
            epoch_loss = [epoch_loss[0] + value, epoch_loss[1] + 1]
            bar.update(1)
            bar.set_postfix(loss=f"{value:.3f}", lr=f"{optimizer.param_groups[0]['lr']:.2g}")
            window = [window[0] + value, window[1] + 1]
            if ctx.main and (step % config.log_every == 0 or step == 1):
                # The mean over the steps since the last record: single-batch losses are too noisy to plot.
                logs.append(folder, {"kind": "step", "step": step, "epoch": epoch, "loss": window[0] / window[1],
                                     "lr": optimizer.param_groups[0]["lr"]})
                window = [0.0, 0]
            at_epoch_end = step % steps_per_epoch == 0
            if config.checkpoint_every and step % config.checkpoint_every == 0 and not at_epoch_end:
                save(epoch, None)
            if stop_after_steps is not None and step >= stop_after_steps and not at_epoch_end:
                bar.close()
                return sidecar
        bar.close()
        metrics = {"train_loss": epoch_loss[0] / max(epoch_loss[1], 1)}
        epoch_loss = [0.0, 0]
        if (epoch + 1) % config.eval_every == 0 or epoch + 1 == config.epochs:
            metrics.update(_epoch_metrics(model, train_set, val_set, heldout_set, config, ctx, progress))
        metrics["epoch_seconds"] = time.perf_counter() - started
        warning = diagnose.pretraining(metrics.get("heldout_top1"), epoch + 1, config.epochs, num_classes)
        if warning and warning not in sidecar.get("diagnosis", []):
            sidecar["diagnosis"] = sidecar.get("diagnosis", []) + [warning]
            if ctx.main:
                tqdm.write(f"warning: {warning}")
        if ctx.main:
            logs.append(folder, {"kind": "epoch", "step": step, "epoch": epoch, **metrics})
            tqdm.write(f"epoch {epoch + 1}/{config.epochs}: " + logs.summary(metrics))
        save(epoch + 1, metrics)
        if ctx.main:
            logs.plot({folder.name: folder}, folder / logs.CURVES, title=f"{meta['model']} ({meta.get('stage', '')})")
        if stop_after_steps is not None and step >= stop_after_steps:
            return sidecar
    return sidecar


def _epoch_metrics(model, train_set, val_set, heldout_set, config: TrainConfig, ctx: Context, progress: bool) -> dict:
    """Validation accuracy (fine-tuning), or training-sample and held-out accuracy (pre-training)."""
    if val_set is not None:
        parts = {"val": evaluate(model, val_set, config, ctx, progress, desc="validate")}
    else:
        parts = {"fit": evaluate(model, train_set, config, ctx, progress, limit=FIT_SAMPLE, desc="fit sample")}
    if heldout_set is not None:
        parts["heldout"] = evaluate(model, heldout_set, config, ctx, progress, desc="held-out")
    return {f"{prefix}_{k}": v for prefix, result in parts.items() for k, v in result.items()}


def _restore(folder: Path, model, optimizer, config: TrainConfig):
    state = checkpoint.load_state(folder)
    if state is None:
        raise FdslError(f"nothing to resume in {folder}: no {checkpoint.STATE}; start without --resume")
    meta = checkpoint.read_meta(folder)
    if meta.get("global_step") != state.get("global_step"):
        raise FdslError(f"{folder}: the sidecar and {checkpoint.STATE} describe different steps (a save was "
                        "interrupted); delete the folder and start over")
    changed = [k for k, v in config.to_dict().items()
               if k not in RESUMABLE_CHANGES and _plain(state["config"].get(k)) != _plain(v)]
    if changed:
        raise FdslError(f"--resume with different settings ({', '.join(changed)}); use the original values")
    load_weights(model, checkpoint.load_weights(folder), str(folder))
    optimizer.load_state_dict(state["optimizer"])
    return int(state["global_step"]), list(state["epoch_loss"])


def _plain(value):
    return list(value) if isinstance(value, tuple) else value

