"""Rendering on a torch device (CUDA or CPU): the registry of batched renderers and the writer's entry point.

A *torch renderer* is the batched twin of a formula's ``render_draw`` + ``view``:
it is built once from the categories, the render settings, the seed and a
device, and then turns index tensors (category, draw, view) into a uint8
image batch on that device.  Formulas opt in with ``@register_torch_renderer``
(as they register themselves as formulas), so nothing outside the formula's
own adapter module names a formula.

The protocol (duck-typed):
    draws_per_category() -> int, views_per_draw() -> int, num_categories -> int
    render_draws(categories, draws) -> (images uint8 (B, H, W) or (B, H, W, 3), warnings: list[str | None])
    view(images, views) -> images: view ``views[b]`` of row b (e.g. FractalDB's flips)
    file_name(category, draw, view) -> str
All index arguments are (B,) int64 tensors; the images stay on the renderer's device.
"""

from __future__ import annotations

import importlib

import numpy as np
import torch

from fdsl.errors import FdslError

# Modules that register torch renderers; imported on first use so that `import fdsl` stays light.
_RENDERER_MODULES = ("fdsl.gpu_fractal",)
_RENDERERS: dict[str, type] = {}


def register_torch_renderer(formula_name: str):
    def decorate(cls):
        _RENDERERS[formula_name] = cls
        return cls
    return decorate


def torch_renderer_names() -> list[str]:
    for module in _RENDERER_MODULES:
        importlib.import_module(module)
    return sorted(_RENDERERS)


def resolve_device(name: str | torch.device) -> torch.device:
    """'cpu', 'cuda' or 'cuda:N' as a torch.device; FdslError when that device is not there."""
    try:
        device = torch.device(name)
    except (RuntimeError, TypeError):
        raise FdslError(f"unknown device '{name}'; use cpu, cuda or cuda:N") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise FdslError(f"device '{name}': torch sees no CUDA GPU here; run on the CPU instead")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise FdslError(f"device '{name}': only {torch.cuda.device_count()} CUDA device(s) visible; "
                            f"use cuda:0..cuda:{torch.cuda.device_count() - 1}")
    elif device.type != "cpu":
        raise FdslError(f"device '{name}' is not supported; use cpu, cuda or cuda:N")
    return device


def create_torch_renderer(formula_name: str, categories: list, settings, seed: int, device="cpu"):
    """The batched renderer of ``formula_name`` for these categories, on ``device``."""
    names = torch_renderer_names()
    if formula_name not in _RENDERERS:
        raise FdslError(f"formula '{formula_name}' has no torch (GPU) renderer yet; render it on the CPU "
                        f"(omit --device / --render-device), or use one of: {', '.join(names)}")
    if not categories:
        raise FdslError("no categories to render: the catalog folder holds no parameter files")
    if seed < 0:
        raise FdslError(f"--seed must be >= 0, got {seed}")
    settings.validate()
    return _RENDERERS[formula_name](categories, settings, seed, resolve_device(device))


def render_units(formula_name: str, categories: list, units: list, settings, seed: int, device="cuda",
                 batch_size: int = 256, renderer=None) -> list:
    """Render writer units (category, draw) on ``device``: one ([(file name, uint8 array)], warning) per unit.

    The same shape as ``fdsl.writer.render_unit`` returns per unit, so the writer can
    encode PNGs on its CPU workers while the device renders the next batch.  Pass a
    ``renderer`` from create_torch_renderer to reuse its device tables across calls.
    """
    if renderer is None:
        renderer = create_torch_renderer(formula_name, categories, settings, seed, device)
    views = renderer.views_per_draw()
    results = []
    for start in range(0, len(units), batch_size):
        chunk = units[start:start + batch_size]
        cats = torch.tensor([c for c, _ in chunk], dtype=torch.int64)
        draws = torch.tensor([d for _, d in chunk], dtype=torch.int64)
        images, warnings = renderer.render_draws(cats, draws)
        # Each draw is rendered once; its views are cheap transforms of it.
        per_view = [renderer.view(images, torch.full((len(chunk),), v, dtype=torch.int64)).cpu().numpy()
                    for v in range(views)]
        for k, (category, draw) in enumerate(chunk):
            named = [(renderer.file_name(category, draw, v), np.ascontiguousarray(per_view[v][k]))
                     for v in range(views)]
            results.append((named, warnings[k]))
    return results
