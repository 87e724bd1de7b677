"""Compiled kernels for 3D iterated function systems: the chain, the cloud's normalisation, a camera's splat.

Arrays in, arrays out: these functions know nothing about categories, files or
formulas.  A point cloud is an (n, 3) float64 array.  The map choices come
from the 2D kernel's ``choose_maps`` (counter-based, so a point depends only
on its key and index).  No ``fastmath``: results must be bit-identical on
every machine.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from fdsl.kernels.numba.ifs import DIVERGENCE_CHECK_EVERY, DIVERGENCE_LIMIT, POINTS_DROPPED_BEFORE_DIVERGENCE


@njit(cache=True, nogil=True)
def _run_chain3d(maps, choices, n_points, out):
    """out[t] = map choices[t] applied to the previous point, from the origin (which is not stored).

    Returns (points computed, diverged): all of them, or up to the end of the
    block holding the first divergent point (the points after it are never used).
    """
    x = 0.0
    y = 0.0
    z = 0.0
    start = 0
    while start < n_points:
        stop = min(start + DIVERGENCE_CHECK_EVERY, n_points)
        finite = True
        # Latency-bound on x, y, z: the divergence flag is off that path and branch-free.
        for t in range(start, stop):
            m = maps[choices[t]]
            # Summed as two pairs: three dependent operations per step instead of four.
            nx = (m[0] * x + m[1] * y) + (m[2] * z + m[9])
            ny = (m[3] * x + m[4] * y) + (m[5] * z + m[10])
            z = (m[6] * x + m[7] * y) + (m[8] * z + m[11])
            x = nx
            y = ny
            out[t, 0] = x
            out[t, 1] = y
            out[t, 2] = z
            finite &= (abs(x) <= DIVERGENCE_LIMIT) & (abs(y) <= DIVERGENCE_LIMIT) & (abs(z) <= DIVERGENCE_LIMIT)
        if not finite:
            return stop, True
        start = stop
    return n_points, False


@njit(cache=True, nogil=True)
def iterate3d(maps, choices, n_points, out):
    """Run the chain of ``n_points`` steps into out[:n_points]; returns how many points are kept.

    maps: (N, 12) float64 rows a..i (the 3x3 matrix, row-major) then j, k, l (the translation):
    x' = a x + b y + c z + j, y' = d x + e y + f z + k, z' = g x + h y + i z + l.
    choices: (n_points,) int32 map index of every step.  A divergent chain keeps the
    points before the 100 that precede its first divergent point (the 2D rule).
    """
    computed, diverged = _run_chain3d(maps, choices, n_points, out)
    if not diverged:
        return n_points
    for t in range(computed):
        if not (abs(out[t, 0]) <= DIVERGENCE_LIMIT and abs(out[t, 1]) <= DIVERGENCE_LIMIT
                and abs(out[t, 2]) <= DIVERGENCE_LIMIT):
            return max(0, t - POINTS_DROPPED_BEFORE_DIVERGENCE)
    return computed


@njit(cache=True, nogil=True)
def normalise_cloud(points, n):
    """points[:n] mapped by one min-max over all coordinates to [-1, 1] (the aspect ratio is kept), then centred.

    A cloud that is a single point (no extent) becomes the origin.
    """
    flat = points[:n].reshape(-1)  # one flat pass each: these loops vectorise
    low = flat[0]
    high = flat[0]
    for i in range(flat.shape[0]):
        v = flat[i]
        low = v if v < low else low
        high = v if v > high else high
    extent = high - low
    scale = 2.0 / extent if extent > 0.0 else 0.0
    for i in range(flat.shape[0]):
        flat[i] = (flat[i] - low) * scale - 1.0
    recentre(points[:n])


@njit(cache=True, nogil=True)
def recentre(points):
    """Subtract the centroid of all rows (two normalised clouds concatenated are re-centred as one)."""
    n = points.shape[0]
    sx = 0.0
    sy = 0.0
    sz = 0.0
    for t in range(n):
        sx += points[t, 0]
        sy += points[t, 1]
        sz += points[t, 2]
    cx = sx / n
    cy = sy / n
    cz = sz / n
    for t in range(n):
        points[t, 0] -= cx
        points[t, 1] -= cy
        points[t, 2] -= cz


@njit(cache=True, nogil=True)
def normalised_variances(points, n, out):
    """out[a] = variance along axis a of points[:n] after ``normalise_cloud``, in one pass, points untouched.

    The normalisation scales every axis by 2 / (global max - global min) and shifts
    it, so each variance is the raw one times that scale squared.  The raw sums are
    taken relative to the first point (on the attractor), which keeps the
    one-pass variance free of cancellation.  Zero for a cloud with no extent.
    """
    px = points[0, 0]
    py = points[0, 1]
    pz = points[0, 2]
    low = min(px, py, pz)
    high = max(px, py, pz)
    sx = 0.0
    sy = 0.0
    sz = 0.0
    sxx = 0.0
    syy = 0.0
    szz = 0.0
    for t in range(n):
        x = points[t, 0]
        y = points[t, 1]
        z = points[t, 2]
        low = min(low, min(x, min(y, z)))
        high = max(high, max(x, max(y, z)))
        x -= px
        y -= py
        z -= pz
        sx += x
        sy += y
        sz += z
        sxx += x * x
        syy += y * y
        szz += z * z
    extent = high - low
    scale = (2.0 / extent) ** 2 if extent > 0.0 else 0.0
    out[0] = (sxx / n - (sx / n) ** 2) * scale
    out[1] = (syy / n - (sy / n) ** 2) * scale
    out[2] = (szz / n - (sz / n) ** 2) * scale


@njit(cache=True, nogil=True)
def repeat_kept(points, kept, n):
    """Fill points[kept:n] by repeating points[:kept] (the origin when nothing was kept): a fixed-size cloud."""
    for t in range(kept, n):
        for a in range(3):
            points[t, a] = points[t % kept, a] if kept > 0 else 0.0


@njit(cache=True, nogil=True)
def splat_projected(points, mvp, value, canvas):
    """Each point through the 4x4 clip matrix ``mvp``, drawn as one pixel of ``value`` on the (H, W) canvas.

    OpenGL's rules for an unlit 1-px GL_POINT: a point is kept when -w <= z <= w in clip
    space (between the near and far planes) and its window position
    ((x/w + 1) W/2, (y/w + 1) H/2) falls on the canvas; it lights the pixel holding
    that position.  Row 0 is the top of the picture (window y grows upwards).
    Two passes: the projection (branch-free, it pipelines), then the stores.
    """
    height = canvas.shape[0]
    width = canvas.shape[1]
    flat = canvas.reshape(-1)
    m00, m01, m02, m03 = mvp[0, 0], mvp[0, 1], mvp[0, 2], mvp[0, 3]
    m10, m11, m12, m13 = mvp[1, 0], mvp[1, 1], mvp[1, 2], mvp[1, 3]
    m20, m21, m22, m23 = mvp[2, 0], mvp[2, 1], mvp[2, 2], mvp[2, 3]
    m30, m31, m32, m33 = mvp[3, 0], mvp[3, 1], mvp[3, 2], mvp[3, 3]
    half_w = 0.5 * width
    half_h = 0.5 * height
    n = points.shape[0]
    pixels = np.empty(n, dtype=np.int64)
    for t in range(n):
        x = points[t, 0]
        y = points[t, 1]
        z = points[t, 2]
        cw = m30 * x + m31 * y + m32 * z + m33
        cz = m20 * x + m21 * y + m22 * z + m23
        inverse = 1.0 / cw
        xw = ((m00 * x + m01 * y + m02 * z + m03) * inverse + 1.0) * half_w
        yw = ((m10 * x + m11 * y + m12 * z + m13) * inverse + 1.0) * half_h
        inside = ((cw > 0.0) & (-cw <= cz) & (cz <= cw) & (0.0 <= xw) & (xw < width) & (0.0 <= yw)
                  & (yw < height))
        pixels[t] = (height - 1 - np.int64(yw)) * width + np.int64(xw) if inside else -1
    for t in range(n):
        i = pixels[t]
        if i >= 0:
            flat[i] = value
