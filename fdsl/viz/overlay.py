"""A heat map drawn over the image it was computed on, aligned to its pixels (attention and cam share it)."""

from __future__ import annotations

import numpy as np


def draw(axis, image: np.ndarray, heat: np.ndarray | None, alpha: float = 0.5) -> None:
    """``heat`` (any grid, e.g. 8x8 patches) is stretched over the ``image``'s full extent, scaled to [0, 1]."""
    height, width = image.shape[:2]
    axis.imshow(image, extent=(0, width, height, 0), interpolation="nearest")
    if heat is not None:
        heat = np.asarray(heat, dtype=np.float64)
        span = heat.max() - heat.min()
        scaled = (heat - heat.min()) / span if span > 0 else np.zeros_like(heat)
        axis.imshow(scaled, extent=(0, width, height, 0), cmap="jet", alpha=alpha, vmin=0, vmax=1,
                    interpolation="bilinear")
    axis.set_xticks([]), axis.set_yticks([])
