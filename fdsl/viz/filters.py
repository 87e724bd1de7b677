"""``fdsl viz filters``: the first convolution's filters (a ViT's patch embedding) as a grid, as the talk's Conv1.

Each filter is min-max normalised on its own, so weak and strong filters are equally
visible (the talk's figure does the same); RGB when the layer reads three channels.
"""

from __future__ import annotations

import numpy as np
import torch

from fdsl.core.errors import FdslError
from fdsl.viz.figure import Picture, grid_shape, pyplot, title


def first_conv(model: torch.nn.Module) -> tuple[str, torch.nn.Conv2d]:
    """(name, module) of the first Conv2d in the forward order timm registers (a ViT's patch_embed.proj)."""
    for name, module in model.named_modules():
        if isinstance(module, torch.nn.Conv2d):
            return name, module
    raise FdslError(f"{type(model).__name__} has no 2D convolution to show; 'filters' needs a CNN or a ViT")


def filter_tiles(weight: np.ndarray) -> np.ndarray:
    """(filters, k, k, 3) in [0, 1] from a conv weight (filters, in, k, k): one tile per filter, each normalised."""
    weight = np.asarray(weight, dtype=np.float64)
    tiles = weight[:, :3] if weight.shape[1] >= 3 else np.repeat(weight[:, :1], 3, axis=1)
    tiles = tiles.transpose(0, 2, 3, 1)
    low = tiles.min(axis=(1, 2, 3), keepdims=True)
    span = tiles.max(axis=(1, 2, 3), keepdims=True) - low
    return ((tiles - low) / np.where(span > 0, span, 1.0)).astype(np.float32)


def mosaic(tiles: np.ndarray, gap: int = 1) -> np.ndarray:
    """The tiles on a near-square grid with a white gap between them: one image per run."""
    count, height, width, _ = tiles.shape
    rows, columns = grid_shape(count)
    sheet = np.ones((rows * (height + gap) - gap, columns * (width + gap) - gap, 3), dtype=np.float32)
    for index, tile in enumerate(tiles):
        r, c = divmod(index, columns)
        sheet[r * (height + gap):r * (height + gap) + height, c * (width + gap):c * (width + gap) + width] = tile
    return sheet


def filters(runs: list, max_filters: int = 256) -> Picture:
    """``numbers[label]`` = {"tiles": (filters, k, k, 3), "layer": name}; one grid per run, side by side."""
    plt = pyplot()
    numbers = {}
    for run in runs:
        name, conv = first_conv(run.model())
        tiles = filter_tiles(conv.weight.detach().cpu().numpy()[:max_filters])
        numbers[run.label] = {"tiles": tiles, "layer": name, "total": int(conv.out_channels)}
    figure, axes = plt.subplots(1, len(runs), figsize=(3.6 * len(runs), 4.0), squeeze=False)
    for axis, run in zip(axes[0], runs):
        entry = numbers[run.label]
        axis.imshow(mosaic(entry["tiles"]), interpolation="nearest")
        shown = len(entry["tiles"])
        count = f"{shown} of {entry['total']}" if shown < entry["total"] else f"{shown}"
        axis.set_title(f"{run.label}\n{run.model_name}: {entry['layer']}, {count} filters", fontsize=8)
        axis.axis("off")
    title(figure, "First-layer filters", "each filter min-max normalised on its own; RGB when the input has 3 channels")
    return Picture(numbers, figure, "first-layer filters")
