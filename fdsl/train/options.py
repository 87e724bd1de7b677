"""Command-line options shared by ``fdsl pretrain`` and ``fdsl finetune``: a recipe plus overrides."""

from __future__ import annotations

import argparse
from pathlib import Path

from fdsl.train.recipes import PRESETS, RECIPES, recipe_config

# (flag, type, help); each defaults to None = "the recipe's value".
OVERRIDES = [
    ("epochs", int, "training epochs"),
    ("batch-size", int, "images per step and process"),
    ("lr", float, "peak learning rate"),
    ("weight-decay", float, "weight decay"),
    ("momentum", float, "SGD momentum"),
    ("opt", str, "timm optimiser name (sgd, adamw, ...)"),
    ("sched", str, "timm schedule (multistep, cosine, ...)"),
    ("warmup-epochs", float, "linear warm-up length in epochs"),
    ("image-size", int, "model input side in pixels"),
    ("crop-pct", float, "random-crop (train) and centre-crop (eval) size as a fraction of the resized image"),
    ("train-crop", str, "'crop' (RandomCrop, the ResNet papers) or 'resized' (RandomResizedCrop)"),
    ("hflip", float, "horizontal flip probability"),
    ("auto-augment", str, "timm auto-augment policy, e.g. rand-m9-mstd0.5-inc1"),
    ("re-prob", float, "random erasing probability"),
    ("mixup", float, "Mixup alpha (0: off)"),
    ("cutmix", float, "CutMix alpha (0: off)"),
    ("label-smoothing", float, "label smoothing"),
    ("drop-path", float, "stochastic depth rate"),
    ("layer-decay", float, "layer-wise learning-rate decay for ViT fine-tuning, e.g. 0.75 (0: off)"),
    ("eval-every", int, "epochs between evaluations (the last epoch is always evaluated)"),
    ("workers", int, "DataLoader worker processes"),
    ("render-device", str, "where --params images are rendered: cpu (DataLoader workers) or cuda (on the training GPU)"),
    ("threads", int, "torch CPU threads (0: torch's default; 1 is fastest when other jobs share the cores)"),
    ("checkpoint-every", int, "also checkpoint every N steps inside an epoch (default: epoch ends only)"),
]


def add_training_arguments(parser: argparse.ArgumentParser, default_model: str | None = "resnet18") -> None:
    parser.add_argument("--out", type=Path, required=True, help="run folder (checkpoint, metrics.jsonl, curves.png)")
    parser.add_argument("--model", default=None, help=f"any timm model name, or a small-ViT preset: "
                        f"{', '.join(PRESETS)} (default: {default_model}, or the recipe's)")
    parser.add_argument("--recipe", default=None, help=f"preset: {', '.join(sorted(RECIPES))} (default: resnet-sgd; "
                        "segmentation with --task segmentation)")
    parser.add_argument("--seed", type=int, default=0, help="seed of data order, augmentation and init (default: 0)")
    parser.add_argument("--device", default="auto", help="auto (CUDA when available), cpu or cuda")
    parser.add_argument("--no-amp", action="store_true", help="no bf16 autocast on CUDA")
    parser.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    for flag, kind, text in OVERRIDES:
        parser.add_argument(f"--{flag}", type=kind, default=None, help=f"{text} (default: the recipe's)")


def config_from_args(args, stage: str, default_model: str = "resnet18", default_recipe: str = "resnet-sgd"):
    args.recipe = args.recipe or default_recipe
    overrides = {flag.replace("-", "_"): getattr(args, flag.replace("-", "_")) for flag, _, _ in OVERRIDES}
    overrides.update(seed=args.seed, device=args.device, amp=not args.no_amp, model=args.model,
                     label_noise=getattr(args, "label_noise", None))
    config = recipe_config(args.recipe, stage, overrides)
    if args.model is None and "model" not in RECIPES[args.recipe][stage]:
        config.model = default_model
    return config


def parse_key_values(items: list[str] | None, flag: str) -> dict:
    from fdsl.errors import FdslError

    values = {}
    for item in items or []:
        if "=" not in item:
            raise FdslError(f"{flag} takes KEY=VALUE (e.g. {flag} size=64), got '{item}'")
        key, value = item.split("=", 1)
        values[key.strip()] = value.strip()
    return values
