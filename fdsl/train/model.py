"""Models come from timm by name; this file only adds the checks, the head swap and freezing."""

from __future__ import annotations

import timm
import torch

from fdsl.core.errors import FdslError
from fdsl.train.presets import PRESETS


def resolve(name: str, image_size: int, drop_path: float, extra: dict | None = None) -> tuple[str, dict]:
    """(timm model name, keyword arguments recorded in the checkpoint) for a timm name or an fdsl preset.

    ``extra`` are user keyword arguments (``--model-arg KEY=VALUE``) given to timm as they are.
    """
    timm_name, kwargs = PRESETS.get(name, (name, {}))
    kwargs = dict(kwargs, **(extra or {}))
    if drop_path:
        kwargs["drop_path_rate"] = float(drop_path)
    if _takes_image_size(timm_name):
        kwargs["img_size"] = int(image_size)  # ViT-like models fix their position embeddings to one size
        check_patch(kwargs, image_size, timm_name)
    return timm_name, kwargs


def check_patch(kwargs: dict, image_size: int, name: str) -> None:
    """A ViT's patch must tile the image exactly; otherwise timm silently drops the border pixels."""
    patch = kwargs.get("patch_size") or _default_patch(name)
    if patch and int(image_size) % int(patch):
        raise FdslError(f"--image-size {image_size} is not a multiple of the patch size {patch} of {name}; "
                        f"use a multiple of {patch} (e.g. {max(patch, int(image_size) // int(patch) * int(patch))})")


def _default_patch(name: str) -> int | None:
    import re

    match = re.search(r"patch(\d+)", name)
    return int(match.group(1)) if match else None


def model_kwargs(name: str, image_size: int, drop_path: float) -> dict:
    """Keyword arguments recorded in the checkpoint so that plain timm rebuilds the same network."""
    return resolve(name, image_size, drop_path)[1]


def _takes_image_size(name: str) -> bool:
    cfg = timm.get_pretrained_cfg(name)
    return bool(cfg and getattr(cfg, "fixed_input_size", False))


def check_name(name: str) -> None:
    """A timm model name or an fdsl preset; otherwise one line with the close matches among timm's names."""
    if name in PRESETS or timm.is_model(name):
        return
    import difflib

    close = difflib.get_close_matches(name, timm.list_models() + list(PRESETS), n=4, cutoff=0.6)
    hint = f" (similar: {', '.join(close)})" if close else ""
    raise FdslError(f"unknown model '{name}'{hint}; see timm.list_models() for the names")


def create(name: str, num_classes: int, seed: int = 0, **kwargs) -> torch.nn.Module:
    """timm's model ``name``, its random initial weights drawn from ``seed``."""
    if num_classes < 1:
        raise FdslError(f"a model needs at least 1 class, got {num_classes}; check the dataset's class folders")
    check_name(name)
    torch.manual_seed(seed)
    try:
        return timm.create_model(name, num_classes=num_classes, **kwargs)
    except (TypeError, ValueError, AssertionError) as exc:
        raise FdslError(f"timm cannot build {name} with {kwargs}: {exc}".splitlines()[0]) from None


def load_weights(model: torch.nn.Module, weights: dict, where: str) -> None:
    """Strict load: every tensor present, every shape equal, or a one-line error."""
    own = model.state_dict()
    missing = [k for k in own if k not in weights]
    unexpected = [k for k in weights if k not in own]
    shapes = [k for k in own if k in weights and tuple(own[k].shape) != tuple(weights[k].shape)]
    if missing or unexpected or shapes:
        detail = (f"{len(missing)} missing (e.g. {missing[:2]}), {len(unexpected)} unexpected (e.g. {unexpected[:2]}), "
                  f"{len(shapes)} of another shape (e.g. {shapes[:2]})")
        raise FdslError(f"{where} does not match the model: {detail}; use the checkpoint's own --model")
    model.load_state_dict(weights, strict=True)


def plain_state_dict(model: torch.nn.Module) -> dict:
    """Contiguous CPU tensors with no DDP prefix: what timm + safetensors load as is."""
    model = model.module if hasattr(model, "module") else model
    return {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}


def replace_head(model: torch.nn.Module, num_classes: int) -> None:
    if num_classes < 1:
        raise FdslError(f"a model needs at least 1 class, got {num_classes}")
    model.reset_classifier(num_classes)


def freeze(model: torch.nn.Module, stages: int) -> list[str]:
    """Freeze the stem and the first ``stages`` stages (timm's coarse parameter groups); returns the module names.

    Frozen parameters stop receiving gradients, and frozen normalisation layers keep
    their running statistics: call ``keep_frozen_eval`` after every ``model.train()``.
    """
    if stages < 0:
        raise FdslError(f"--freeze must be >= 0, got {stages}")
    from timm.models import group_parameters

    groups = group_parameters(model, model.group_matcher(coarse=True))
    ordered = sorted(groups.items(), key=lambda item: item[0])
    # Group 0 is the stem, then one group per stage; the last group is the head, never frozen.
    body = ordered[:-1]
    if stages + 1 > len(body):
        raise FdslError(f"--freeze {stages}: this model has only {len(body) - 1} stages after its stem")
    names = [name for _, params in body[: stages + 1] for name in params]
    parameters = dict(model.named_parameters())
    for name in names:
        parameters[name].requires_grad_(False)
    frozen_modules = sorted({name.rsplit(".", 1)[0] for name in names})
    return frozen_modules


def keep_frozen_eval(model: torch.nn.Module, frozen_modules: list[str]) -> None:
    modules = dict(model.named_modules())
    for name in frozen_modules:
        module = modules.get(name)
        if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
            module.eval()
