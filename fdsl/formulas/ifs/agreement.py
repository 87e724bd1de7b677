"""How closely the torch (parallel-chain) FractalDB renderer agrees with the numba (single-chain) one.

The renderers use different random streams, so their images are compared as
statistics against a noise floor, for the same (category, draw) at the same
settings:
  - the filling rate (lit fraction of the canvas) of torch vs numba;
  - the IoU of the occupied pixels (lit pixels for point modes; lit pixels
    dilated by the 3x3 patch footprint for patch modes) of torch vs numba,
    against the same IoU between two numba renders with different seeds (two
    independent draws of the same image).
Used by the tests and by benchmarks/gpu_agreement.py (docs/gpu.md quotes its figures).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from fdsl.formulas.ifs.fractal import FractalDB, FractalRenderSettings
from fdsl.core.seeding import rng_for


def occupancy(images: np.ndarray, patch: bool) -> np.ndarray:
    """(B, H, W[, 3]) uint8 -> (B, H, W) bool: pixels a point (or its 3x3 patch footprint) covers."""
    lit = images.reshape(*images.shape[:3], -1).max(axis=3) > 0
    if not patch:
        return lit
    grown = F.max_pool2d(torch.from_numpy(lit).float()[:, None], 3, stride=1, padding=1)[:, 0]
    return grown.numpy() > 0


def iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    union = (a | b).reshape(len(a), -1).sum(1)
    return (a & b).reshape(len(a), -1).sum(1) / np.maximum(union, 1)


def measure(categories: list, settings: FractalRenderSettings, draws_per_category: int, device: str, seed: int = 0):
    formula = FractalDB()
    renderer = formula.create_torch_renderer(categories, settings, seed, device)
    pick = rng_for(seed, "agreement")
    units = [(c, int(d)) for c in range(len(categories))
             for d in pick.choice(formula.draws_per_category(settings), draws_per_category, replace=False)]
    context = formula.render_context(categories, settings)
    numba_a, numba_b, warned = [], [], 0
    for c, d in units:
        image_a, warning = formula.render_draw(categories[c], d, rng_for(seed, "render", c, d), settings, context)
        image_b, _ = formula.render_draw(categories[c], d, rng_for(seed + 1, "render", c, d), settings, context)
        numba_a.append(image_a)
        numba_b.append(image_b)
        warned += warning is not None
    torch_images = []
    for start in range(0, len(units), 64):
        chunk = units[start:start + 64]
        images, _ = renderer.render_draws(torch.tensor([c for c, _ in chunk]), torch.tensor([d for _, d in chunk]))
        torch_images.append(images.cpu().numpy())
    ours, cpu_a, cpu_b = np.concatenate(torch_images), np.stack(numba_a), np.stack(numba_b)
    patch = settings.patch_mode
    fill = lambda x: (x.reshape(*x.shape[:3], -1).max(axis=3) > 0).reshape(len(x), -1).mean(1)  # noqa: E731
    occ_t, occ_a, occ_b = occupancy(ours, patch), occupancy(cpu_a, patch), occupancy(cpu_b, patch)
    return {
        "images": len(units), "numba_warnings": warned,
        "fill_torch": fill(ours), "fill_numba": fill(cpu_a), "fill_numba_reseeded": fill(cpu_b),
        "iou_torch_numba": iou(occ_t, occ_a), "iou_numba_numba": iou(occ_b, occ_a),
    }


def summary(m: dict) -> dict:
    """The figures docs/gpu.md and the tests quote."""
    rel = np.abs(m["fill_torch"] - m["fill_numba"]).mean() / m["fill_numba"].mean()
    rel_floor = np.abs(m["fill_numba_reseeded"] - m["fill_numba"]).mean() / m["fill_numba"].mean()
    return {
        "mean_fill_torch": float(m["fill_torch"].mean()),
        "mean_fill_numba": float(m["fill_numba"].mean()),
        "fill_ratio": float(m["fill_torch"].mean() / m["fill_numba"].mean()),
        "mean_abs_fill_diff_rel": float(rel),
        "mean_abs_fill_diff_rel_noise_floor": float(rel_floor),
        "mean_iou_torch_numba": float(m["iou_torch_numba"].mean()),
        "mean_iou_noise_floor": float(m["iou_numba_numba"].mean()),
    }
