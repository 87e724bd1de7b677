"""Segmentation pre-training, fine-tuning and evaluation: build data and an smp model, hand them to the engine.

The same engine as classification (``fdsl.train.engine.fit``) with the
segmentation task; a run folder holds the smp state dict (``model.safetensors``)
and a sidecar that rebuilds it with plain smp (``fdsl.train.segmentation_model``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from fdsl.catalog.params import read_manifest
from fdsl.core.errors import FdslError
from fdsl.formulas import create_formula
from fdsl.core.seeding import rng_for
from fdsl.data import proxy
from fdsl.train import segmentation_model as models
from fdsl.data.masks import Items, MaskPairs, SegRCDBImages
from fdsl.train.tasks.segmentation import Segmentation
from fdsl.core.shared_data import shared_data_dir
from fdsl.train import checkpoint, engine
from fdsl.train.context import Context

HELDOUT_IMAGES = 64        # unseen SegRCDB images scored each pre-training epoch
HELDOUT_FRACTION = 0.05    # of a folder's pairs, when pre-training on --images
CANVAS_COUNTS = {"train": 1000, "val": 300, "heldout": 500}  # the fashion-canvas proxy's default sizes


def _split(dataset, fraction: float, seed: int):
    """(train, val) items of a pair dataset: a fixed random ``fraction`` held out."""
    if not (0.0 < fraction < 1.0):
        raise FdslError(f"--val-fraction must be strictly between 0 and 1, got {fraction}")
    order = rng_for(seed, "segmentation-split").permutation(len(dataset))
    cut = int(round(fraction * len(dataset)))
    if cut < 1 or cut >= len(dataset):
        raise FdslError(f"{len(dataset)} image/mask pairs are too few to hold out {fraction:g} of them")
    return Items(dataset, np.sort(order[cut:])), Items(dataset, np.sort(order[:cut]))


def pretraining_data(params: Path | None, images: Path | None, render_options: dict, seed: int,
                     count: int | None, heldout: int):
    """(train, held-out, description): SegRCDB rendered on the fly from a catalog, or a folder of pairs."""
    if (params is None) == (images is None):
        raise FdslError("give exactly one of --params (a SegRCDB catalog, rendered on the fly) or --images "
                        "(a folder of image/mask pairs)")
    if images is not None:
        pairs = MaskPairs(images)
        train, held = _split(pairs, HELDOUT_FRACTION, seed)
        return train, held, {"kind": "pairs", "path": str(images), "fingerprint": pairs.fingerprint,
                             "size": len(train), "heldout": f"{HELDOUT_FRACTION:g} of it, split seed {seed}"}
    manifest = read_manifest(params) if Path(params).is_dir() else None
    name = (manifest or {}).get("formula")
    formula = create_formula(name) if name else None
    if formula is None or formula.dataset_kind != "segmentation":
        raise FdslError(f"{params} is not a segmentation catalog (its manifest names formula {name!r}); make one "
                        "with 'fdsl search segrcdb', or pre-train for classification without --task segmentation")
    settings = formula.RenderSettings.from_strings(render_options or {}, what="render setting")
    count = settings.images if count is None else count
    if heldout < 1:
        raise FdslError(f"--heldout-per-category (held-out images for segmentation) must be at least 1, got {heldout}")
    train = SegRCDBImages(formula, params, settings, seed, 0, count)
    held = SegRCDBImages(formula, params, settings, seed, count, heldout)  # the images after the training ones
    return train, held, {"kind": "formula", "formula": formula.name, "params": str(params),
                         "render": settings.to_dict(), "seed": seed, "instances": count,
                         "fingerprint": train.fingerprint, "size": count, "heldout": heldout}


def _model(config, decoder: str, num_classes: int, init: Path | None):
    if config.render_device != "cpu":
        raise FdslError("--render-device cuda renders classification batches; segmentation data is rendered by the "
                        "DataLoader (omit --render-device)")
    models.check_image_size(config.image_size)
    arch, kwargs = models.build_kwargs(decoder, config.model, num_classes)
    model = models.create(arch, seed=config.seed, **kwargs)
    parent = models.init_encoder(model, init, config.model) if init is not None else None
    return model, arch, kwargs, parent


def pretrain(config, out: Path, recipe: str, params: Path | None = None, images: Path | None = None,
             render_options: dict | None = None, data_seed: int = 0, instances: int | None = None,
             heldout: int = HELDOUT_IMAGES, decoder: str = "fpn", task: Segmentation | None = None,
             resume: bool = False, progress: bool = True, **fit_options) -> dict:
    """Pre-train an encoder + decoder on SegRCDB (or any pairs); held-out mIoU says whether it is learned."""
    task = task or Segmentation()
    train, held, data = pretraining_data(params, images, render_options or {}, data_seed, instances, heldout)
    model, arch, kwargs, _ = _model(config, decoder, len(train.classes), None)
    meta = {"stage": "pretrain", "task": "segmentation", "model": arch, "model_kwargs": kwargs,
            "classes": list(train.classes), "recipe": recipe, "data": data, "segmentation": task.describe()}
    return engine.fit(model, train, None, config, out, meta, resume=resume, progress=progress, heldout_set=held,
                      task=task, **fit_options)


def real_data(data: str, val: str | None = None, val_fraction: float = 0.1, split_seed: int = 0,
              train_images: int | None = None, num_classes: int | None = None):
    """(train, val, description): the fashion-canvas proxy, or a folder of pairs (its validation split or a carve)."""
    if data == proxy.NAME:
        folder = shared_data_dir() / "fashion_mnist"
        # Training and validation canvases both come from Fashion-MNIST's training part.
        proxy.check_fashion_mnist(folder, "set FDSL_SHARED_DATA or give --data a folder of image/mask pairs",
                                  parts=("train",))
        count = train_images or CANVAS_COUNTS["train"]
        train = proxy.FashionCanvas(folder, "train", count, seed=split_seed)
        held = proxy.FashionCanvas(folder, "val", CANVAS_COUNTS["val"], seed=split_seed)
        if num_classes is not None and num_classes != len(train.classes):
            raise FdslError(f"{proxy.NAME} has {len(train.classes)} classes; drop --num-classes")
        description = {"train": data, "val": "fashion-canvas validation canvases", "split_seed": split_seed}
    else:
        source = MaskPairs(Path(data), "training", num_classes)
        if val is not None:
            held = MaskPairs(Path(val), "validation" if (Path(val) / "images" / "validation").is_dir()
                             else "training", len(source.classes))
            train = source
        elif (Path(data) / "images" / "validation").is_dir():
            train, held = source, MaskPairs(Path(data), "validation", len(source.classes))
        else:
            train, held = _split(source, val_fraction, split_seed)
        if train_images is not None:
            if not (1 <= train_images <= len(train)):
                raise FdslError(f"--train-images {train_images}: give 1..{len(train)} (the training pairs)")
            train = Items(train, np.sort(rng_for(split_seed, "subset").permutation(len(train))[:train_images]))
        description = {"train": data, "val": val or "validation split or carve", "val_fraction": val_fraction,
                       "split_seed": split_seed, "fingerprint": source.fingerprint}
    description.update(train_size=len(train), val_size=len(held), classes=len(train.classes),
                       train_images=train_images)
    return train, held, description


def finetune_on(config, out: Path, recipe: str, train, held, description: dict, init: Path | None,
                decoder: str = "fpn", task: Segmentation | None = None, resume: bool = False, progress: bool = True,
                **fit_options) -> dict:
    """Fine-tune on datasets already split; ``init`` None starts from random weights."""
    task = task or Segmentation()
    model, arch, kwargs, parent = _model(config, decoder, len(train.classes), init)
    meta = {"stage": "finetune", "task": "segmentation", "model": arch, "model_kwargs": kwargs,
            "classes": list(train.classes), "recipe": recipe, "data": description,
            "init": "scratch" if init is None else "checkpoint", "parent": parent, "freeze": None,
            "segmentation": task.describe()}
    return engine.fit(model, train, held, config, out, meta, resume=resume, progress=progress, task=task,
                      **fit_options)


def finetune(config, out: Path, recipe: str, data: str, checkpoint_path: Path | None = None, scratch: bool = False,
             val: str | None = None, val_fraction: float = 0.1, split_seed: int = 0,
             train_images: int | None = None, num_classes: int | None = None, decoder: str = "fpn",
             task: Segmentation | None = None, resume: bool = False, progress: bool = True) -> dict:
    if scratch == (checkpoint_path is not None):
        raise FdslError("give exactly one of --checkpoint DIR (an fdsl classification or segmentation run) or "
                        "--scratch")
    if checkpoint_path is not None:
        checkpoint.read_meta(checkpoint_path)  # a missing checkpoint is said before the data is read
    train, held, description = real_data(data, val, val_fraction, split_seed, train_images, num_classes)
    return finetune_on(config, out, recipe, train, held, description, checkpoint_path, decoder, task, resume,
                       progress)


def evaluate_on(run: Path, dataset, batch_size: int = 64, device: str = "cpu", progress: bool = False) -> dict:
    """mIoU, pixel accuracy and loss of a segmentation run's final model on a dataset of its classes."""
    from fdsl.train.recipes import TrainConfig

    meta = checkpoint.read_meta(run)
    if meta.get("task") != "segmentation":
        raise FdslError(f"{run} is not a segmentation run")
    if len(dataset.classes) != len(meta["classes"]):
        raise FdslError(f"the data has {len(dataset.classes)} classes but {run} was trained on {len(meta['classes'])}")
    model = models.create(meta["model"], **meta["model_kwargs"])
    from fdsl.train.model import load_weights

    load_weights(model, checkpoint.load_weights(run), str(run))
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in meta["config"].items()}
    config = TrainConfig(**values)
    config.batch_size, config.device, config.workers = batch_size, device, 0
    ctx = Context(device)
    model.to(ctx.device)
    return Segmentation().validate(model, dataset, config, ctx, progress=progress, desc="evaluate")
