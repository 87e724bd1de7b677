"""Deliberately faithful, slow baselines for the FractalDB benchmarks.

Written from the descriptions in docs/reference-algorithms.md (§1.1, §1.2, §9,
"Peers" §2.1), not from any repository:

* ``published_render`` / ``published_search_candidate``: the published
  FractalDB code path: a Python loop per point over the global NumPy RNG
  (re-seeded with 100 per system), the ``__rescale`` rule, one PIL 3x3 patch
  built and pasted per point, 4 flips, RGB PNGs at PIL's default level;
  the search draws a system, runs 100k points and counts non-zero pixels
  of a 512x512 canvas.
* ``anderson_farrell_render``: an Anderson & Farrell-style numba renderer
  (one compiled chaos game per image with numba's ``np.random``, bbox,
  random 3x3 patches), the fastest published CPU peer.
"""

from __future__ import annotations

import io
import random

import numpy as np
from numba import njit
from PIL import Image

GREY = 127


# ---- the published renderer (pure Python + PIL) ---------------------------------------------
def published_chaos_game(maps: np.ndarray, probabilities: np.ndarray, points: int) -> tuple[list, list]:
    """One chain from (0, 0), kept as the first point; the global RNG is re-seeded with 100."""
    np.random.seed(100)
    draws = np.random.random_sample(points)
    cumulative = np.cumsum(probabilities)
    xs, ys = [0.0], [0.0]
    x = y = 0.0
    for t in range(1, points):
        u = draws[t - 1]
        j = 0
        while j < len(cumulative) - 1 and u > cumulative[j]:
            j += 1
        a, b, c, d, e, f = maps[j]
        x, y = a * x + b * y + e, c * x + d * y + f
        xs.append(x)
        ys.append(y)
    return xs, ys


def published_rescale(xs: list, ys: list, size: int, pad: int) -> tuple[np.ndarray, np.ndarray]:
    """Drop NaNs (and the 100 points before the first), shift negative axes, scale each axis, uint16."""
    points = np.array([xs, ys], dtype=np.float64)
    bad = np.where(np.isnan(points).any(axis=0))[0]
    if len(bad):
        points = points[:, : max(0, bad[0] - 100)]
    out = []
    for axis in points:
        if axis.min() < 0:
            axis = axis - axis.min()
        extent = axis.max() - axis.min()
        out.append((axis / extent * (size - 2 * pad) + pad).astype(np.uint16))
    return out[0], out[1]


def published_patch_canvas(px: np.ndarray, py: np.ndarray, size: int) -> Image.Image:
    """One 3x3 RGB patch per point, mask = random.randrange(1, 512), pasted at (x + 1, y + 1)."""
    canvas = Image.new("RGB", (size, size))
    for x, y in zip(px.tolist(), py.tolist()):
        mask = random.randrange(1, 512)
        bits = [(mask >> (8 - cell)) & 1 for cell in range(9)]
        patch = np.array(bits, dtype=np.uint8).reshape(3, 3)[:, :, None] * np.full(3, GREY, dtype=np.uint8)
        canvas.paste(Image.fromarray(patch), (x + 1, y + 1))
    return canvas


def published_render(system: np.ndarray, weight_row: np.ndarray, size: int = 362, points: int = 200_000,
                     pad: int = 6, save: bool = True) -> list:
    """The published instance: chain, rescale, patches, flip (y up), 4 flipped images saved as PNG bytes."""
    maps = system[:, :6] * weight_row[None, :]
    xs, ys = published_chaos_game(maps, system[:, 6], points)
    px, py = published_rescale(xs, ys, size, pad)
    canvas = published_patch_canvas(px, py, size).transpose(Image.FLIP_TOP_BOTTOM)
    views = [canvas, canvas.transpose(Image.FLIP_TOP_BOTTOM), canvas.transpose(Image.FLIP_LEFT_RIGHT),
             canvas.transpose(Image.FLIP_TOP_BOTTOM).transpose(Image.FLIP_LEFT_RIGHT)]
    if not save:
        return views
    encoded = []
    for view in views:
        buffer = io.BytesIO()
        view.save(buffer, format="PNG")
        encoded.append(buffer.getvalue())
    return encoded


def published_search_candidate(points: int = 100_000, size: int = 512, pad: int = 6) -> tuple[np.ndarray, float]:
    """One candidate of the published search (global RNG, seeded once by the caller)."""
    with np.errstate(all="ignore"):  # divergent candidates overflow, as in the original
        return _published_search_candidate(points, size, pad)


def _published_search_candidate(points: int, size: int, pad: int) -> tuple[np.ndarray, float]:
    n_maps = np.random.randint(2, 8)
    maps = np.array([[np.random.uniform(-1.0, 1.0) for _ in range(6)] for _ in range(n_maps)])
    det = np.abs(maps[:, 0] * maps[:, 3] - maps[:, 1] * maps[:, 2])
    probabilities = det / det.sum()
    xs, ys = [0.0], [0.0]
    x = y = 0.0
    cumulative = np.cumsum(probabilities)
    draws = np.random.random_sample(points)  # the chain draws from the same global generator
    for t in range(1, points):
        u = draws[t - 1]
        j = 0
        while j < n_maps - 1 and u > cumulative[j]:
            j += 1
        a, b, c, d, e, f = maps[j]
        x, y = a * x + b * y + e, c * x + d * y + f
        xs.append(x)
        ys.append(y)
    px, py = published_rescale(xs, ys, size, pad)
    image = np.zeros((size, size, 3), dtype=np.uint8)
    keep = (px < size) & (py < size)
    image[py[keep], px[keep]] = GREY
    rate = np.count_nonzero(image[:, :, 0]) / (size * size)
    return np.column_stack([maps, probabilities]), rate


# ---- Anderson & Farrell-style numba renderer ---------------------------------------------------
@njit(cache=True)
def _af_iterate(maps, cumulative, n):
    points = np.empty((n, 2))
    x = 0.0
    y = 0.0
    for t in range(n):
        u = np.random.rand()
        j = 0
        while j < cumulative.shape[0] - 1 and u > cumulative[j]:
            j += 1
        nx = maps[j, 0] * x + maps[j, 1] * y + maps[j, 4]
        y = maps[j, 2] * x + maps[j, 3] * y + maps[j, 5]
        x = nx
        points[t, 0] = x
        points[t, 1] = y
    return points


@njit(cache=True)
def _af_render_patch(points, size):
    image = np.zeros((size, size), dtype=np.uint8)
    xmin = points[:, 0].min()
    xmax = points[:, 0].max()
    ymin = points[:, 1].min()
    ymax = points[:, 1].max()
    for t in range(points.shape[0]):
        col = int((points[t, 0] - xmin) / (xmax - xmin) * (size - 3))
        row = int((points[t, 1] - ymin) / (ymax - ymin) * (size - 3))
        mask = np.random.randint(1, 512)
        for cell in range(9):
            image[row + cell // 3, col + cell % 3] = GREY * ((mask >> (8 - cell)) & 1)
    return image


def anderson_farrell_render(system: np.ndarray, size: int = 256, points: int = 100_000) -> np.ndarray:
    """One image, as a per-image numba renderer with numba's own RNG does it."""
    maps = np.ascontiguousarray(system[:, :6])
    return _af_render_patch(_af_iterate(maps, np.cumsum(system[:, 6]), points), size)
