"""Pre-train, fine-tune, evaluate: build data and model for a stage, then hand them to the engine."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import numpy as np

from fdsl.data.composite import Composite, parse_objects
from fdsl.data.formula import Rendered, Repeated, pretraining_dataset
from fdsl.core.errors import FdslError
from fdsl.data.real import (balanced_subset, check_same_classes, check_train_images, keep_classes, open_images,
                           split, take)
from fdsl.train import checkpoint, engine, learnability, model as models
from fdsl.train.recipes import TrainConfig


HELDOUT_PER_CATEGORY = 10  # unseen formula images per category measured each epoch (pre-training diagnostics)
HELDOUT_FRACTION = 0.05    # of an ImageFolder's images per class, when pre-training on --images
TASKS = ("classification", "multi-instance")


def pretrain(config: TrainConfig, out: Path, recipe: str, params: Path | None = None, images: Path | None = None,
             formula: str | None = None, render_options: dict | None = None, data_seed: int = 0,
             instances: int | None = None, render_once: bool = False, repeat: int = 1,
             heldout_per_category: int = HELDOUT_PER_CATEGORY, task: str = "classification",
             objects: str = "1-5", colourise: bool = False, check_learnability: bool = True,
             learnability_only: bool = False, resume: bool = False, progress: bool = True, **fit_options) -> dict:
    """Pre-train on formula images; every epoch also measures accuracy on images of the same categories
    that training never sees (``heldout_*`` metrics), the number that says whether the task is learned.

    ``render_once`` renders the on-the-fly images up front and augments them every epoch (the few-images
    recipes); ``repeat`` shows each image that many times per epoch, each time augmented anew.
    ``task="multi-instance"`` pastes ``objects`` shapes of different categories per image on a random colour
    background with a multi-hot target; ``colourise`` tints single shapes and pastes them on such a background
    (Anderson & Farrell, fdsl.data.composite).

    ``check_learnability`` first measures training-free learners on the same unseen images (fdsl.train.learnability),
    kept in the run's metadata beside the pretext accuracy; ``learnability_only`` stops there, training nothing.
    """
    if task not in TASKS:
        raise FdslError(f"unknown --task '{task}'; choose one of: {', '.join(TASKS)}")
    if learnability_only and not check_learnability:
        raise FdslError("--learnability-only measures the learnability check: drop --no-learnability-check")
    if learnability_only and task == "multi-instance":
        raise FdslError("--learnability-only measures single-label tasks; --task multi-instance has several labels")
    composite = task == "multi-instance" or colourise
    if composite and images is not None:
        raise FdslError("--task multi-instance and --colourise compose shapes rendered on the fly: use --params")
    object_range = parse_objects(objects) if task == "multi-instance" else (1, 1)
    if object_range[1] > 1 and (config.mixup or config.cutmix or config.label_noise):
        raise FdslError("--task multi-instance has several labels per image: Mixup/CutMix and --label-noise mix "
                        "single labels; add --mixup 0 --cutmix 0 (and no --label-noise)")
    dataset, data = pretraining_dataset(params=params, images=images, formula=formula, render_options=render_options,
                                        seed=data_seed, instances=instances)
    classes = list(dataset.classes)
    timm_name, kwargs = models.resolve(config.model, config.image_size, config.drop_path)
    if images is not None:
        dataset, heldout = split(dataset, HELDOUT_FRACTION, data_seed)
        data["heldout"] = f"{HELDOUT_FRACTION:g} of each class, split seed {data_seed}"
    else:
        if heldout_per_category < 1:
            raise FdslError(f"--heldout-per-category must be at least 1, got {heldout_per_category}")
        heldout = dataset.heldout(heldout_per_category)
        data["heldout"] = {"per_category": heldout.instances, "kind": "fresh draws" if heldout.stream != "render"
                           else "images of each category training does not use"}
        if render_once:
            dataset = Rendered(dataset, progress)
        if composite:
            dataset = Composite(dataset, object_range, seed=data_seed)
            heldout = Composite(heldout, object_range, seed=data_seed, stream="composite-heldout")
            data["composite"] = {"task": task, "objects": list(object_range), "scale": list(dataset.scale),
                                 "colour": "random hue on a random smooth colour background"}
    model = models.create(timm_name, len(classes), seed=config.seed, **kwargs)
    meta = {"stage": "pretrain", "model": timm_name, "preset": config.model if timm_name != config.model else None,
            "model_kwargs": kwargs, "classes": classes, "recipe": recipe, "data": data}
    if check_learnability and task == "classification":
        from fdsl.train.augment import eval_transform

        # The model as it is about to be trained, with its initial weights: the probe's random features.
        found = learnability.measure(dataset, heldout, eval_transform(config), config.image_size, model,
                                     progress=progress)
        meta["learnability"] = found.to_dict()
        from fdsl.train.context import is_main_process

        if is_main_process():  # one line per run, not one per torchrun process
            print(found.summary(), flush=True)
        if learnability_only:
            return meta
    if repeat != 1:
        dataset = Repeated(dataset, repeat)
    data.update(render_once=bool(render_once and params is not None), repeat=int(repeat))
    return engine.fit(model, dataset, None, config, out, meta, resume=resume, progress=progress,
                      heldout_set=heldout, **fit_options)


# A fine-tuning's carved validation split as model.json records it ("0.1 of it, split seed 0"), and read back by
# ``evaluate --split`` to score the same split.
SPLIT_RECORD = "{:g} of it, split seed {}"
SPLIT_RECORDED = re.compile(r"(\S+) of it, split seed (-?\d+)")


def real_splits(data: str, val: str | None = None, val_fraction: float = 0.1, split_seed: int = 0,
                train_images: int | None = None, max_classes: int | None = None):
    """(train, val, description) from a real dataset: a given validation set, or a split carved with a fixed seed."""
    source = keep_classes(open_images(data), max_classes)
    if val is not None:
        held_out = keep_classes(open_images(val), max_classes)
        check_same_classes(source, held_out, val)
        train = source
        if train_images is not None:
            check_train_images(train_images, len(source), f"in {data}")
            chosen = balanced_subset(np.asarray(source.targets), np.arange(len(source)), train_images, split_seed)
            train = take(source, chosen)
        description = {"train": data, "val": val, "val_fingerprint": held_out.fingerprint}
    else:
        train, held_out = split(source, val_fraction, split_seed, train_limit=train_images)
        description = {"train": data, "val": SPLIT_RECORD.format(val_fraction, split_seed)}
    description.update(fingerprint=source.fingerprint, train_size=len(train), val_size=len(held_out),
                       classes=len(source.classes), max_classes=max_classes, train_images=train_images)
    return train, held_out, description


@dataclasses.dataclass(frozen=True)
class FinetuneData:
    """Which real images a fine-tuning trains and validates on (built once, from the command line or a script)."""

    data: str                          # ImageFolder, zip, npz or a built-in name
    val: str | None = None             # a validation set of its own, or None: a split of ``data``
    val_fraction: float = 0.1          # of each class, when the split is carved from ``data``
    split_seed: int = 0
    train_images: int | None = None    # a fixed class-balanced subset of the training side
    max_classes: int | None = None     # the first N classes only

    def splits(self):
        """(train, val, description), as ``real_splits`` makes them."""
        return real_splits(self.data, self.val, self.val_fraction, self.split_seed, self.train_images,
                           self.max_classes)


def finetune(config: TrainConfig, out: Path, recipe: str, data: FinetuneData | str, checkpoint_path: Path | None = None,
             scratch: bool = False, freeze: int | None = None, resume: bool = False, progress: bool = True,
             model_given: bool = False, inherited: list[str] | None = None, **fit_options) -> dict:
    """Fine-tune a pre-trained checkpoint (head replaced) or, with ``scratch``, the same model from random weights.

    ``data``: a FinetuneData, or just the dataset (a 10 % validation split carved with seed 0).
    ``inherited``: the settings taken from the checkpoint rather than given (``inherit_from_checkpoint``).
    """
    if scratch == (checkpoint_path is not None):
        raise FdslError("give exactly one of --checkpoint DIR (fine-tune pre-trained weights) or --scratch")
    train, held_out, description = (FinetuneData(data) if isinstance(data, str) else data).splits()
    return finetune_on(config, out, recipe, train, held_out, description, checkpoint_path, freeze=freeze,
                       resume=resume, progress=progress, model_given=model_given, inherited=inherited, **fit_options)


def finetune_on(config: TrainConfig, out: Path, recipe: str, train, held_out, description: dict,
                checkpoint_path: Path | None, freeze: int | None = None, resume: bool = False, progress: bool = True,
                model_given: bool = False, inherited: list[str] | None = None, **fit_options) -> dict:
    """Fine-tune on datasets already split: ``checkpoint_path`` None trains ``config.model`` from random weights."""
    classes = list(train.classes)
    if len(classes) < 2:
        raise FdslError(f"the training data has {len(classes)} class(es); classification needs at least 2")
    model, kwargs, parent = _initial_model(config, len(classes), checkpoint_path, model_given)
    frozen = models.freeze(model, freeze) if freeze is not None else []
    meta = {"stage": "finetune", "model": config.model, "model_kwargs": kwargs, "classes": classes, "recipe": recipe,
            "data": description, "init": "scratch" if checkpoint_path is None else "checkpoint", "parent": parent,
            "freeze": freeze}
    if inherited:
        meta["inherited"] = list(inherited)
    return engine.fit(model, train, held_out, config, out, meta, resume=resume, frozen=frozen, progress=progress,
                      **fit_options)


def _initial_model(config: TrainConfig, num_classes: int, checkpoint_path: Path | None, model_given: bool):
    """(model, timm keyword arguments, parent description): random weights, or a checkpoint's with a new head."""
    if checkpoint_path is None:
        timm_name, kwargs = models.resolve(config.model, config.image_size, config.drop_path)
        config.model = timm_name
        return models.create(timm_name, num_classes, seed=config.seed, **kwargs), kwargs, None
    source = checkpoint.read_meta(checkpoint_path)
    given = models.PRESETS.get(config.model, (config.model, None))[0]
    if model_given and source["model"] != given:
        raise FdslError(f"--model {config.model} does not match the checkpoint's model {source['model']}; "
                        "drop --model or use that checkpoint's model")
    config.model = source["model"]
    kwargs = dict(source["model_kwargs"])
    model = models.create(source["model"], len(source["classes"]), seed=config.seed, **kwargs)
    models.load_weights(model, checkpoint.load_weights(checkpoint_path), str(checkpoint_path))
    models.replace_head(model, num_classes)
    kwargs.pop("drop_path_rate", None)
    if config.drop_path:
        kwargs["drop_path_rate"] = config.drop_path
        _set_drop_path(model, config.drop_path)
    if "img_size" in kwargs and kwargs["img_size"] != config.image_size:
        models.check_patch(kwargs, config.image_size, source["model"])
        model.set_input_size(img_size=config.image_size)  # resamples the position embeddings
        kwargs["img_size"] = config.image_size
    parent = {"path": str(checkpoint_path), "model": source["model"], "data": source.get("data"),
              "epoch": source.get("epoch"), "metrics": source.get("metrics")}
    return model, kwargs, parent


def _set_drop_path(model, rate: float) -> None:
    """Stochastic depth for fine-tuning, linearly increasing with depth as timm builds it."""
    from timm.layers import DropPath

    paths = [m for m in model.modules() if isinstance(m, DropPath)]
    for i, module in enumerate(paths):
        module.drop_prob = rate * i / max(len(paths) - 1, 1)


def evaluate(checkpoint_path: Path, data: str, split_name: str = "all", val_fraction: float | None = None,
             split_seed: int | None = None, max_classes: int | None = None, batch_size: int = 256, workers: int = 0,
             device: str = "auto", progress: bool = True, match_by_index: bool = False) -> dict:
    """Top-1/top-5 of a checkpoint on ``data``, all of it or one side (``split_name`` "train"/"val") of a split.

    ``val_fraction``/``split_seed`` None: the split the checkpoint's fine-tuning carved from this same data (its
    record in model.json, said in a note); given, they must be that split's, or the checkpoint records none for
    this data (a pre-training run, a fine-tuning with a separate --val, other data).
    """
    _check_loader(batch_size, workers)
    if split_name not in ("all", "train", "val"):
        raise FdslError(f"unknown split '{split_name}'; choose one of: all, train, val")
    if split_name == "all":
        given = [f"{name} {value:g}" for name, value in (("--val-fraction", val_fraction),
                                                         ("--split-seed", split_seed)) if value is not None]
        if given:
            raise FdslError(f"{' and '.join(given)} would be ignored: --split all (the default) scores all of --data; "
                            "add --split val or --split train to score one side of that split, or drop them")
    meta = checkpoint.read_meta(checkpoint_path)  # a missing checkpoint is said before the data is read
    source = keep_classes(open_images(data), max_classes)
    if split_name != "all":
        val_fraction, split_seed, train_limit = _evaluation_split(meta, checkpoint_path, source, str(data),
                                                                  split_name, val_fraction, split_seed)
        train, held_out = split(source, val_fraction, split_seed, train_limit=train_limit)
        source = held_out if split_name == "val" else train
    return evaluate_on(checkpoint_path, source, str(data), batch_size, workers, device, progress,
                       match_by_index=match_by_index)


def _evaluation_split(meta: dict, checkpoint_path: Path, source, data: str, split_name: str,
                      val_fraction: float | None, split_seed: int | None):
    """(fraction, seed, training subset size or None) of the split ``evaluate --split`` carves from ``source``.

    The fine-tuning record is ``data["val"] == "F of it, split seed S"`` (``real_splits``) beside the data's
    fingerprint, the sizes of both sides and ``train_images``.
    """
    record = meta.get("data") if isinstance(meta.get("data"), dict) else {}
    carved = SPLIT_RECORDED.fullmatch(str(record.get("val", "")))
    same_data = record.get("fingerprint") is not None and record.get("fingerprint") == source.fingerprint
    if not (carved and same_data and meta.get("stage") == "finetune"):
        if val_fraction is None or split_seed is None:
            if meta.get("stage") != "finetune":
                why = f"{checkpoint_path} is a {meta.get('stage', 'pre-training')} run, not a fine-tuning"
            elif not same_data:
                why = f"{checkpoint_path} was fine-tuned on other data than {data}"
            else:
                why = f"{checkpoint_path} was fine-tuned with a validation set of its own ({record.get('val')})"
            missing = " and ".join(name for name, value in (("--val-fraction", val_fraction),
                                                            ("--split-seed", split_seed)) if value is None)
            raise FdslError(f"--split {split_name}: {why}, so it records no split of this data to reuse; give "
                            f"{missing} to choose one, or use --split all")
        if same_data:
            from fdsl.core.notes import warn

            warn(f"--split {split_name}: {checkpoint_path} trained on this data without carving a split from it, "
                 f"so the {split_name} side of --val-fraction {val_fraction:g} --split-seed {split_seed} may hold "
                 "images it trained on")
        return val_fraction, split_seed, None
    recorded_text, recorded_seed = carved.group(1), int(carved.group(2))
    if val_fraction is not None and f"{val_fraction:g}" != recorded_text:
        raise FdslError(f"--val-fraction {val_fraction:g} is not the split {checkpoint_path} was fine-tuned with "
                        f"on this data (--val-fraction {recorded_text} --split-seed {recorded_seed}): the other split "
                        "would score images it trained on; drop --val-fraction to use the run's, or evaluate other data")
    if split_seed is not None and split_seed != recorded_seed:
        raise FdslError(f"--split-seed {split_seed} is not the split {checkpoint_path} was fine-tuned with on "
                        f"this data (--val-fraction {recorded_text} --split-seed {recorded_seed}): the other split "
                        "would score images it trained on; drop --split-seed to use the run's, or evaluate other data")
    taken = [name for name, value in (("--val-fraction", val_fraction), ("--split-seed", split_seed)) if value is None]
    fraction = val_fraction if val_fraction is not None else float(recorded_text)
    train_images = record.get("train_images")
    train, held_out = split(source, fraction, recorded_seed, train_limit=train_images)
    sizes = {"train": len(train), "val": len(held_out)}
    recorded_sizes = {"train": record.get("train_size"), "val": record.get("val_size")}
    if any(recorded_sizes[side] is not None and recorded_sizes[side] != sizes[side] for side in sizes):
        raise FdslError(f"--split {split_name}: carving {recorded_text} of {data} with split seed {recorded_seed} "
                        f"gives {sizes['train']} training and {sizes['val']} validation images, but {checkpoint_path} "
                        f"recorded {recorded_sizes['train']} and {recorded_sizes['val']}; give the run's exact "
                        "--val-fraction")
    if taken:
        from fdsl.core.notes import note

        subset = f", its {train_images}-image training subset" if train_images is not None and split_name == "train" \
            else ""
        note(f"--split {split_name}: {' and '.join(taken)} taken from {checkpoint_path}'s fine-tuning: "
             f"--val-fraction {recorded_text} --split-seed {recorded_seed}{subset} ({sizes[split_name]} images)")
    return fraction, recorded_seed, train_images


def evaluate_on(checkpoint_path: Path, dataset, where: str, batch_size: int = 256, workers: int = 0,
                device: str = "auto", progress: bool = True, match_by_index: bool = False) -> dict:
    """Top-1/top-5 of a checkpoint on a labelled dataset whose classes are the checkpoint's.

    Classes are matched by name: the same number of classes under other names (another dataset, or
    the same one with other folders) would be scored against the wrong labels.  ``match_by_index``
    scores class i of the data as class i of the checkpoint, whatever the names.
    """
    _check_loader(batch_size, workers)
    meta = checkpoint.read_meta(checkpoint_path)
    if meta.get("task") == "segmentation":
        raise FdslError(f"{checkpoint_path} is a segmentation run; fdsl evaluate scores classifiers (its mIoU is in "
                        "metrics.jsonl; fdsl.train.segmentation_stages.evaluate_on scores it on other data)")
    if len(dataset.classes) != len(meta["classes"]):
        raise FdslError(f"{where} has {len(dataset.classes)} classes but the checkpoint was trained on "
                        f"{len(meta['classes'])}; evaluate a checkpoint fine-tuned on this dataset")
    if not match_by_index:
        for index, (ours, theirs) in enumerate(zip(map(str, dataset.classes), map(str, meta["classes"]))):
            if ours != theirs:
                raise FdslError(f"{where}: class {index} is '{ours}' but the checkpoint's class {index} is "
                                f"'{theirs}'; evaluate on data with the checkpoint's classes, or add "
                                "--match-classes-by-index to score class i as class i")
    model = models.create(meta["model"], len(meta["classes"]), **meta["model_kwargs"])
    models.load_weights(model, checkpoint.load_weights(checkpoint_path), str(checkpoint_path))
    config = TrainConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in meta["config"].items()})
    config.batch_size, config.workers, config.device = batch_size, workers, device
    ctx = engine.Context(device)
    model.to(ctx.device)
    return engine.evaluate(model, dataset, config, ctx, progress=progress)


def _check_loader(batch_size: int, workers: int) -> None:
    if batch_size < 1:
        raise FdslError(f"--batch-size must be at least 1, got {batch_size}")
    if workers < 0:
        raise FdslError(f"--workers must be >= 0, got {workers}")
