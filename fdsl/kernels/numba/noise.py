"""Compiled gradient (Perlin) noise in 1D and 2D, on a seeded permutation table.

Arrays in, arrays out.  Random numbers here are counter-based (SplitMix64 of
key + counter), and the permutation table is built from a 64-bit key with
them, so a table depends on its key only.

``perlin1`` stands in for ``noise.pnoise1`` (one octave) used by RCDB and
VisualAtom: gradients are the 16 values +-1..+-8 picked by the table, scaled so
that at random positions the noise has mean 0 and the published package's
standard deviation, 0.33 (its range is +-1.09 against the package's +-0.95).
``fbm2_image`` sums the classic improved noise in 2D (8 gradient directions)
over octaves (fractional Brownian motion), for the Perlin-N baseline.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from fdsl.kernels.numba.counter_rng import mix64

TABLE_SIZE = 256
# The unscaled noise over the contour table (key 0) has sd 1.2037 at random positions (sampled over 2e5):
# scale it to noise.pnoise1's measured 0.3285.
PERLIN1_SCALE = 0.3285 / 1.2037
# Improved noise in 2D peaks at about +-1/sqrt(2) with these gradients: scale to about +-1.
PERLIN2_SCALE = 1.4142135623730951






@njit(cache=True, nogil=True)
def permutation_table(key):
    """A Fisher-Yates permutation of 0..255 from (key, i), stored twice so lookups need no wrap."""
    table = np.arange(TABLE_SIZE).astype(np.int32)
    for i in range(TABLE_SIZE - 1, 0, -1):
        j = int(mix64(np.uint64(key), i) % np.uint64(i + 1))
        table[i], table[j] = table[j], table[i]
    doubled = np.empty(2 * TABLE_SIZE + 1, dtype=np.int32)
    for i in range(2 * TABLE_SIZE + 1):
        doubled[i] = table[i % TABLE_SIZE]
    return doubled


@njit(inline="always")
def _fade(t):
    return t * t * t * (t * (t * 6.0 - 15.0) + 10.0)


@njit(cache=True, nogil=True)
def gradients1(table):
    """The 1D gradient of each lattice point: +-1..+-8 chosen by the table, times the output scale.

    Looking gradients up (instead of branching on the hash) keeps ``perlin1``
    branch-free: at random positions a branch on the hash mispredicts half the time.
    """
    out = np.empty(TABLE_SIZE + 1, dtype=np.float64)
    for i in range(TABLE_SIZE + 1):
        h = table[i]
        g = float((h & 7) + 1)
        out[i] = (-g if h & 8 else g) * PERLIN1_SCALE
    return out


@njit(inline="always")
def perlin1(x, gradients):
    """One octave of 1D gradient noise at x (any real; period 256); ``gradients`` from gradients1."""
    cell = np.floor(x)
    f = x - cell
    i = int(cell) & (TABLE_SIZE - 1)
    u = _fade(f)
    a = gradients[i] * f
    b = gradients[i + 1] * (f - 1.0)
    return a + u * (b - a)


@njit(inline="always")
def _grad2(h, x, y):
    k = h & 7
    if k == 0:
        return x + y
    if k == 1:
        return -x + y
    if k == 2:
        return x - y
    if k == 3:
        return -x - y
    if k == 4:
        return x
    if k == 5:
        return -x
    if k == 6:
        return y
    return -y


@njit(inline="always")
def perlin2(x, y, table):
    """One octave of 2D improved noise at (x, y) (period 256 on each axis)."""
    cx = np.floor(x)
    cy = np.floor(y)
    fx = x - cx
    fy = y - cy
    i = int(cx) & (TABLE_SIZE - 1)
    j = int(cy) & (TABLE_SIZE - 1)
    u = _fade(fx)
    v = _fade(fy)
    aa = table[table[i] + j]
    ab = table[table[i] + j + 1]
    ba = table[table[i + 1] + j]
    bb = table[table[i + 1] + j + 1]
    x1 = _grad2(aa, fx, fy) + u * (_grad2(ba, fx - 1.0, fy) - _grad2(aa, fx, fy))
    x2 = _grad2(ab, fx, fy - 1.0) + u * (_grad2(bb, fx - 1.0, fy - 1.0) - _grad2(ab, fx, fy - 1.0))
    return (x1 + v * (x2 - x1)) * PERLIN2_SCALE


@njit(cache=True, nogil=True)
def fbm2_image(out, frequency_x, frequency_y, angle, octaves, persistence, lacunarity, offset_x, offset_y, table):
    """Fill out (H, W) float64 with octave-summed 2D noise, normalised by the amplitude sum.

    Pixel (r, c) maps to image coordinates (c / W, r / H) in [0, 1), rotated by
    ``angle`` about the centre, scaled by the per-axis frequencies (cycles per
    image) and shifted by the offset (in noise lattice units).
    """
    height, width = out.shape
    ca = np.cos(angle)
    sa = np.sin(angle)
    total = 0.0
    amplitude = 1.0
    for _ in range(octaves):
        total += amplitude
        amplitude *= persistence
    for r in range(height):
        py = r / height - 0.5
        for c in range(width):
            px = c / width - 0.5
            x = (ca * px - sa * py) * frequency_x
            y = (sa * px + ca * py) * frequency_y
            value = 0.0
            amplitude = 1.0
            scale = 1.0
            for o in range(octaves):
                # Each octave gets its own offset so octaves do not share a lattice origin.
                value += amplitude * perlin2(x * scale + offset_x + 37.0 * o, y * scale + offset_y + 71.0 * o, table)
                amplitude *= persistence
                scale *= lacunarity
            out[r, c] = value / total


@njit(cache=True, nogil=True)
def stretch_to_uint8(values, out):
    """Linear min-max stretch of a float image to 0..255 (a flat image becomes mid-grey)."""
    lo = values.min()
    hi = values.max()
    if hi - lo < 1e-12:
        out[:, :] = 128
        return
    k = 255.0 / (hi - lo)
    height, width = values.shape
    for r in range(height):
        for c in range(width):
            out[r, c] = np.uint8(int((values[r, c] - lo) * k + 0.5))
