"""Pre-train, fine-tune, evaluate: build data and model for a stage, then hand them to the engine."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from fdsl.datasets import pretraining_dataset
from fdsl.errors import FdslError
from fdsl.realdata import balanced_subset, check_same_classes, keep_classes, open_images, split, take
from fdsl.train import checkpoint, engine, model as models
from fdsl.train.recipes import TrainConfig


def pretrain(config: TrainConfig, out: Path, recipe: str, params: Path | None = None, images: Path | None = None,
             formula: str | None = None, render_options: dict | None = None, data_seed: int = 0,
             instances: int | None = None, resume: bool = False, progress: bool = True, **fit_options) -> dict:
    dataset, data = pretraining_dataset(params=params, images=images, formula=formula, render_options=render_options,
                                        seed=data_seed, instances=instances)
    classes = list(dataset.classes)
    kwargs = models.model_kwargs(config.model, config.image_size, config.drop_path)
    model = models.create(config.model, len(classes), seed=config.seed, **kwargs)
    meta = {"stage": "pretrain", "model": config.model, "model_kwargs": kwargs, "classes": classes,
            "recipe": recipe, "data": data}
    return engine.fit(model, dataset, None, config, out, meta, resume=resume, progress=progress, **fit_options)


def real_splits(data: str, val: str | None = None, val_fraction: float = 0.1, split_seed: int = 0,
                train_images: int | None = None, max_classes: int | None = None):
    """(train, val, description) from a real dataset: a given validation set, or a split carved with a fixed seed."""
    source = keep_classes(open_images(data), max_classes)
    if val is not None:
        held_out = keep_classes(open_images(val), max_classes)
        check_same_classes(source, held_out, val)
        train = source
        if train_images is not None:
            chosen = balanced_subset(np.asarray(source.targets), np.arange(len(source)), train_images, split_seed)
            train = take(source, chosen)
        description = {"train": data, "val": val, "val_fingerprint": held_out.fingerprint}
    else:
        train, held_out = split(source, val_fraction, split_seed, train_limit=train_images)
        description = {"train": data, "val": f"{val_fraction:g} of it, split seed {split_seed}"}
    description.update(fingerprint=source.fingerprint, train_size=len(train), val_size=len(held_out),
                       classes=len(source.classes), max_classes=max_classes, train_images=train_images)
    return train, held_out, description


def finetune(config: TrainConfig, out: Path, recipe: str, data: str, checkpoint_path: Path | None = None,
             scratch: bool = False, freeze: int | None = None, val: str | None = None, val_fraction: float = 0.1,
             split_seed: int = 0, train_images: int | None = None, max_classes: int | None = None,
             resume: bool = False, progress: bool = True, model_given: bool = False, **fit_options) -> dict:
    """Fine-tune a pre-trained checkpoint (head replaced) or, with ``scratch``, the same model from random weights."""
    if scratch == (checkpoint_path is not None):
        raise FdslError("give exactly one of --checkpoint DIR (fine-tune pre-trained weights) or --scratch")
    train, held_out, description = real_splits(data, val, val_fraction, split_seed, train_images, max_classes)
    classes = list(train.classes)
    parent = None
    if scratch:
        kwargs = models.model_kwargs(config.model, config.image_size, config.drop_path)
        model = models.create(config.model, len(classes), seed=config.seed, **kwargs)
    else:
        source = checkpoint.read_meta(checkpoint_path)
        if model_given and source["model"] != config.model:
            raise FdslError(f"--model {config.model} does not match the checkpoint's model {source['model']}; "
                            "drop --model or use that checkpoint's model")
        config.model = source["model"]
        kwargs = dict(source["model_kwargs"])
        model = models.create(source["model"], len(source["classes"]), seed=config.seed, **kwargs)
        models.load_weights(model, checkpoint.load_weights(checkpoint_path), str(checkpoint_path))
        models.replace_head(model, len(classes))
        kwargs.pop("drop_path_rate", None)
        if config.drop_path:
            kwargs["drop_path_rate"] = config.drop_path
            _set_drop_path(model, config.drop_path)
        if "img_size" in kwargs and kwargs["img_size"] != config.image_size:
            model.set_input_size(img_size=config.image_size)  # resamples the position embeddings
            kwargs["img_size"] = config.image_size
        parent = {"path": str(checkpoint_path), "model": source["model"], "data": source.get("data"),
                  "epoch": source.get("epoch"), "metrics": source.get("metrics")}
    frozen = models.freeze(model, freeze) if freeze is not None else []
    meta = {"stage": "finetune", "model": config.model, "model_kwargs": kwargs, "classes": classes, "recipe": recipe,
            "data": description, "init": "scratch" if scratch else "checkpoint", "parent": parent,
            "freeze": freeze}
    return engine.fit(model, train, held_out, config, out, meta, resume=resume, frozen=frozen, progress=progress,
                      **fit_options)


def _set_drop_path(model, rate: float) -> None:
    """Stochastic depth for fine-tuning, linearly increasing with depth as timm builds it."""
    from timm.layers import DropPath

    paths = [m for m in model.modules() if isinstance(m, DropPath)]
    for i, module in enumerate(paths):
        module.drop_prob = rate * i / max(len(paths) - 1, 1)


def evaluate(checkpoint_path: Path, data: str, split_name: str = "all", val_fraction: float = 0.1,
             split_seed: int = 0, max_classes: int | None = None, batch_size: int = 256, workers: int = 0,
             device: str = "auto", progress: bool = True) -> dict:
    meta = checkpoint.read_meta(checkpoint_path)
    source = keep_classes(open_images(data), max_classes)
    if split_name != "all":
        train, held_out = split(source, val_fraction, split_seed)
        source = held_out if split_name == "val" else train
    if len(source.classes) != len(meta["classes"]):
        raise FdslError(f"{data} has {len(source.classes)} classes but the checkpoint was trained on "
                        f"{len(meta['classes'])}; evaluate a checkpoint fine-tuned on this dataset")
    model = models.create(meta["model"], len(meta["classes"]), **meta["model_kwargs"])
    models.load_weights(model, checkpoint.load_weights(checkpoint_path), str(checkpoint_path))
    config = TrainConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in meta["config"].items()})
    config.batch_size, config.workers, config.device = batch_size, workers, device
    ctx = engine.Context(device)
    model.to(ctx.device)
    return engine.evaluate(model, source, config, ctx, progress=progress)
