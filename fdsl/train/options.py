"""Command-line options shared by ``fdsl pretrain`` and ``fdsl finetune``: a recipe plus overrides."""

from __future__ import annotations

import argparse

from fdsl.train.presets import PRESETS
from fdsl.train.recipes import RECIPES, command_line_fields, recipe_config
from fdsl.core.checks import SEEDS, output_path
from fdsl.core.numbers import Number, number_type

# The command line reads these types from TrainConfig's annotations ("str | None" -> str).
_TYPES = {"int": int, "float": float, "str": str}


def _type(field):
    kind = _TYPES[str(field.type).split("|")[0].strip()]
    return number_type(field, kind) if kind in (int, float) else kind


def _overrides() -> list[tuple[str, str, type, str]]:
    """(dest, --flag, type, help) of every TrainConfig value a user may override; each defaults to the recipe's."""
    return [(f.name, "--" + f.name.replace("_", "-"), _type(f), f.metadata["help"]) for f in command_line_fields()]


def add_training_arguments(parser: argparse.ArgumentParser, default_model: str | None = "resnet18") -> None:
    parser.add_argument("--out", type=output_path, required=True,
                        help="run folder (checkpoint, metrics.jsonl, curves.png)")
    parser.add_argument("--model", default=None, help=f"any timm model name, or a small-ViT preset: "
                        f"{', '.join(PRESETS)} (default: {default_model}, or the recipe's)")
    parser.add_argument("--recipe", default=None, help=f"preset: {', '.join(sorted(RECIPES))} (default: resnet-sgd; "
                        "segmentation with --task segmentation)")
    parser.add_argument("--seed", type=Number(int, SEEDS), default=0,
                        help="seed of data order, augmentation and init (default: 0)")
    parser.add_argument("--device", default="auto", help="auto (CUDA when available), cpu, cuda "
                        "or cuda:N, as every verb's --device (default: auto)")
    parser.add_argument("--no-amp", action="store_true", help="no bf16 autocast on CUDA")
    parser.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.add_argument("--tensorboard", action="store_true", help="also write TensorBoard event files to "
                        "OUT/tensorboard ('tensorboard --logdir OUT'); needs pip install 'fdsl[tensorboard]'")
    parser.add_argument("--json", action="store_true", help="end with one JSON object on stdout (model, epochs, "
                        "metrics, run folder) instead of the sentence, for scripts")
    for dest, flag, kind, text in _overrides():
        parser.add_argument(flag, dest=dest, type=kind, default=None,
                            help=f"{text} (default: the recipe's; 'fdsl recipes NAME' prints them)")


def inherit_from_checkpoint(args, checkpoint: dict, stage: str = "finetune") -> list[str]:
    """Fill what the user did not give from the meta of the run being fine-tuned: the recipe family and the image
    size the model was trained at, rather than the defaults (a ViT pre-trained at 32 px is not silently rebuilt
    at 224 px with another recipe's optimiser).  Returns what was taken, for the run to say and record."""
    taken = []
    if args.recipe is None and checkpoint.get("recipe") in RECIPES and stage in RECIPES[checkpoint["recipe"]]:
        args.recipe = checkpoint["recipe"]
        taken.append(f"recipe {args.recipe}")
    size = (checkpoint.get("config") or {}).get("image_size")
    if args.image_size is None and size:
        args.image_size = size
        taken.append(f"image size {size}")
    return taken


def config_from_args(args, stage: str, default_model: str = "resnet18", default_recipe: str = "resnet-sgd"):
    if getattr(args, "tensorboard", False):
        import importlib.util

        if importlib.util.find_spec("tensorboard") is None:  # before training, not at the first epoch's end
            from fdsl.core.errors import FdslError

            raise FdslError("--tensorboard needs the tensorboard package: pip install 'fdsl[tensorboard]'")
    args.recipe = args.recipe or default_recipe
    overrides = {dest: getattr(args, dest) for dest, _, _, _ in _overrides()}
    overrides.update(seed=args.seed, device=args.device, amp=not args.no_amp, model=args.model,
                     tensorboard=getattr(args, "tensorboard", False),
                     label_noise=getattr(args, "label_noise", None))
    config = recipe_config(args.recipe, stage, overrides)
    if args.model is None and "model" not in RECIPES[args.recipe][stage]:
        config.model = default_model
    return config


def parse_key_values(items: list[str] | None, flag: str) -> dict:
    from fdsl.core.errors import FdslError

    values = {}
    for item in items or []:
        if "=" not in item:
            raise FdslError(f"{flag} takes KEY=VALUE (e.g. {flag} size=64), got '{item}'")
        key, value = item.split("=", 1)
        values[key.strip()] = value.strip()
    return values
