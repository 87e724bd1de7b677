"""Compiled chaos-game kernels for 2D iterated function systems.

Arrays in, arrays out: these functions know nothing about categories, files or
formulas.  Two passes per image:

1. ``iterate``: run the chain, store the points, track the bounding box and
   stop at the first divergent point;
2. ``splat_*``: map points to pixels with the per-axis rescale of the
   published code and write them (single pixels or random 3x3 patches).

Randomness inside kernels is counter-based (SplitMix64 of key + counter): the
value used at step t depends only on (key, t), so nothing here depends on the
order in which images are rendered.  No ``fastmath``: results must be
bit-identical on every machine.
"""

from __future__ import annotations

import numpy as np
from numba import njit

# A point farther than this from the origin is treated as divergent: past it the
# rescale loses all structure (and a few steps later the chain overflows to inf).
DIVERGENCE_LIMIT = 1e150
# The published renderer drops the 100 points before the first NaN; we apply the
# same rule to any divergent point.
POINTS_DROPPED_BEFORE_DIVERGENCE = 100

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_S32 = np.uint64(32)
_TO_UNIT = 1.0 / 9007199254740992.0  # 2**-53


@njit(inline="always")
def mix64(key, counter):
    """SplitMix64 finaliser of key + counter*golden: a counter-based 64-bit hash."""
    z = key + (np.uint64(counter) + np.uint64(1)) * _GOLDEN
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@njit(inline="always")
def uniform01(key, counter):
    """A float64 in [0, 1) from (key, counter)."""
    return float(mix64(key, counter) >> _S11) * _TO_UNIT


@njit(cache=True, nogil=True)
def choose_maps(cumulative, n_steps, key, fixed_uniforms, choices):
    """Map index of every step: the first map j with u <= cumsum(p)_j, as published.

    The uniform of step t is fixed_uniforms[t] when given (compat mode: the
    published global-RNG sequence), else drawn from (key, t).  Counting the
    cumulative values below u is branch-free, so this loop vectorises; rounding
    that leaves cumsum(p)[-1] just below u falls back to the last map.
    """
    last = cumulative.shape[0] - 1
    use_fixed = fixed_uniforms.shape[0] > 0
    for t in range(n_steps):
        u = fixed_uniforms[t] if use_fixed else uniform01(key, t)
        j = 0
        for k in range(last):
            j += u > cumulative[k]
        choices[t] = j


@njit(cache=True, nogil=True)
def iterate(maps, cumulative, n_points, key, fixed_uniforms, xs, ys, choices):
    """Run the chaos game from (0, 0), keeping (0, 0) as point 0.

    maps: (N, 6) float64 rows a, b, c, d, e, f with x' = a x + b y + e, y' = c x + d y + f.
    cumulative: (N,) cumulative map probabilities; step t >= 1 uses uniform t - 1.
    Returns the number of valid points (divergence truncates) and their bounding box.
    """
    choose_maps(cumulative, n_points - 1, key, fixed_uniforms, choices)
    x = 0.0
    y = 0.0
    xs[0] = 0.0
    ys[0] = 0.0
    # The chain is latency-bound: keep it free of branches; divergence is found afterwards.
    for t in range(1, n_points):
        j = choices[t - 1]
        nx = maps[j, 0] * x + maps[j, 1] * y + maps[j, 4]
        y = maps[j, 2] * x + maps[j, 3] * y + maps[j, 5]
        x = nx
        xs[t] = x
        ys[t] = y
    valid = n_points
    for t in range(n_points):
        if not (abs(xs[t]) <= DIVERGENCE_LIMIT and abs(ys[t]) <= DIVERGENCE_LIMIT):
            valid = max(0, t - POINTS_DROPPED_BEFORE_DIVERGENCE)
            break
    # The box is that of the kept points only.
    xmin = xmax = ymin = ymax = 0.0
    for t in range(valid):
        xmin = min(xmin, xs[t])
        xmax = max(xmax, xs[t])
        ymin = min(ymin, ys[t])
        ymax = max(ymax, ys[t])
    return valid, xmin, xmax, ymin, ymax


@njit(inline="always")
def _to_pixel(v, vmin, vrange, span, pad):
    # The published rescale, in its order of operations: shift by the minimum,
    # divide by the range, multiply by (size - 2 pad), add pad, truncate.
    if vrange == 0.0:
        return pad  # a degenerate axis: every point sits on the pad line
    return int(((v - vmin) / vrange) * span + pad)


@njit(cache=True, nogil=True)
def splat_points(xs, ys, valid, xmin, xmax, ymin, ymax, pad, colours, canvas):
    """One pixel per point on a (H, W, C) canvas; point t takes colours[t % K]."""
    height = canvas.shape[0]
    width = canvas.shape[1]
    n_colours = colours.shape[0]
    xr = xmax - xmin
    yr = ymax - ymin
    if canvas.shape[2] == 1:
        value = colours[0, 0]
        for t in range(valid):
            col = _to_pixel(xs[t], xmin, xr, width - 2 * pad, pad)
            row = _to_pixel(ys[t], ymin, yr, height - 2 * pad, pad)
            canvas[row, col, 0] = value
        return
    for t in range(valid):
        col = _to_pixel(xs[t], xmin, xr, width - 2 * pad, pad)
        row = _to_pixel(ys[t], ymin, yr, height - 2 * pad, pad)
        k = t % n_colours
        canvas[row, col, 0] = colours[k, 0]
        canvas[row, col, 1] = colours[k, 1]
        canvas[row, col, 2] = colours[k, 2]


@njit(inline="always")
def patch_mask(mask_key, t):
    """Point t's 3x3 mask, uniform in 1..511 (never empty), from (mask_key, t)."""
    return int(((mix64(mask_key, t) >> _S32) * np.uint64(511)) >> _S32) + 1


@njit(cache=True, nogil=True)
def splat_patches(xs, ys, valid, xmin, xmax, ymin, ymax, pad, colours, mask_key, canvas):
    """A random 3x3 patch per point, top-left corner at (col + 1, row + 1).

    Each point's 9-bit mask is read row-major, most significant bit first; set
    cells take the point's colour, clear cells are written black, so later
    patches overwrite earlier ones (as the published PIL paste does).
    The grey case writes a flat buffer with unrolled stores: it is the hot path.
    """
    height = canvas.shape[0]
    width = canvas.shape[1]
    n_colours = colours.shape[0]
    grey = canvas.shape[2] == 1
    flat = canvas.reshape(-1)
    value = colours[0, 0]
    xr = xmax - xmin
    yr = ymax - ymin
    for t in range(valid):
        col = _to_pixel(xs[t], xmin, xr, width - 2 * pad, pad) + 1
        row = _to_pixel(ys[t], ymin, yr, height - 2 * pad, pad) + 1
        mask = patch_mask(mask_key, t)
        if grey and row + 3 <= height and col + 3 <= width:
            i = row * width + col
            flat[i] = value * ((mask >> 8) & 1)
            flat[i + 1] = value * ((mask >> 7) & 1)
            flat[i + 2] = value * ((mask >> 6) & 1)
            i += width
            flat[i] = value * ((mask >> 5) & 1)
            flat[i + 1] = value * ((mask >> 4) & 1)
            flat[i + 2] = value * ((mask >> 3) & 1)
            i += width
            flat[i] = value * ((mask >> 2) & 1)
            flat[i + 1] = value * ((mask >> 1) & 1)
            flat[i + 2] = value * (mask & 1)
            continue
        k = t % n_colours
        for cell in range(9):
            r = row + cell // 3
            c = col + cell % 3
            if r < height and c < width:
                on = (mask >> (8 - cell)) & 1
                for ch in range(canvas.shape[2]):
                    canvas[r, c, ch] = colours[k, ch] * on


@njit(cache=True, nogil=True)
def count_lit_points(xs, ys, valid, xmin, xmax, ymin, ymax, size, pad, needed, scratch):
    """Lit pixels of a single-pixel render on a size x size canvas.

    Stops early (returning a number below ``needed``) once even lighting a new
    pixel with every remaining point could not reach ``needed``.
    scratch: (size, size) uint8, zeroed here.
    """
    scratch[:, :] = 0
    xr = xmax - xmin
    yr = ymax - ymin
    lit = 0
    for t in range(valid):
        col = _to_pixel(xs[t], xmin, xr, size - 2 * pad, pad)
        row = _to_pixel(ys[t], ymin, yr, size - 2 * pad, pad)
        if scratch[row, col] == 0:
            scratch[row, col] = 1
            lit += 1
        if lit + (valid - 1 - t) < needed:
            return lit
    return lit
