"""Compiled line rasterisation: 1-pixel (or square-brush) segments and radial contour growth.

Arrays in, arrays out.  Segments use Bresenham's algorithm with both end
points drawn, like PIL's ``ImageDraw.line`` at width 1; float coordinates are
truncated toward zero as PIL does.  Pixels off the canvas are clipped, and a
segment wholly beyond one edge is skipped without walking it.

``grow_radial_contours`` is the hot loop of RCDB and VisualAtom: one polygon
whose vertices move along their rays by a noisy amount per line, each line
drawn as a closed polyline.  Its randomness is counter-based (key, counter).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from fdsl.kernels.numba.counter_rng import mix64, uniform01
from fdsl.kernels.numba.noise import perlin1

# Positions at which the 1D noise is sampled: U(0, 10^4), as published.
NOISE_POSITION_RANGE = 10_000.0
_S32 = np.uint64(32)


@njit(inline="always")
def _plot(canvas, x, y, value, brush):
    if brush == 1:
        if 0 <= x < canvas.shape[1] and 0 <= y < canvas.shape[0]:
            canvas[y, x] = value
        return
    # A brush of width w covers [x - (w-1)//2, x + w//2] on each axis.
    lo = (brush - 1) // 2
    for yy in range(max(y - lo, 0), min(y - lo + brush, canvas.shape[0])):
        for xx in range(max(x - lo, 0), min(x - lo + brush, canvas.shape[1])):
            canvas[yy, xx] = value


@njit(inline="always")
def draw_segment(canvas, x0, y0, x1, y1, value, brush):
    """Bresenham segment between integer points, both ends included, clipped to the canvas."""
    height = canvas.shape[0]
    width = canvas.shape[1]
    reach = brush  # a brush reaches this far past the pixel it is centred on
    if (x0 < -reach and x1 < -reach) or (x0 >= width + reach and x1 >= width + reach):
        return
    if (y0 < -reach and y1 < -reach) or (y0 >= height + reach and y1 >= height + reach):
        return
    _bresenham(canvas, canvas, x0, y0, x1, y1, value, value, False, brush, True)


@njit(inline="always")
def _bresenham(canvas, second, x0, y0, x1, y1, value, second_value, paired, brush, clipped):
    """The walk from (x0, y0) to (x1, y1), both ends included.

    ``clipped`` plots each pixel through ``_plot`` (bounds and brush); unclipped writes it directly,
    for a 1-pixel segment whose ends are both on the canvas.  ``paired`` also writes ``second_value``
    into ``second``.  Callers pass both flags as constants, so their branches compile away.
    """
    dx = abs(x1 - x0)
    dy = -abs(y1 - y0)
    sx = 1 if x0 < x1 else -1
    sy = 1 if y0 < y1 else -1
    err = dx + dy
    x = x0
    y = y0
    while True:
        if clipped:
            _plot(canvas, x, y, value, brush)
            if paired:
                _plot(second, x, y, second_value, brush)
        else:
            canvas[y, x] = value
            if paired:
                second[y, x] = second_value
        if x == x1 and y == y1:
            return
        e2 = 2 * err
        if e2 >= dy:
            err += dy
            x += sx
        if e2 <= dx:
            err += dx
            y += sy


@njit(inline="always")
def _thin_walk(canvas, second, x0, y0, x1, y1, value, second_value, paired):
    """The 1-pixel case of draw_segment, with an unchecked loop when both ends are on the canvas.

    Contours are mostly segments of a few pixels, so the per-segment set-up is
    the cost that matters: it is kept to a few compares.  ``paired`` also writes
    ``second_value`` into ``second`` (same shape) in the same walk; the callers
    pass it as a constant, so the branch compiles away where it is False.
    """
    height = canvas.shape[0]
    width = canvas.shape[1]
    inside = 0 <= x0 < width and 0 <= x1 < width and 0 <= y0 < height and 0 <= y1 < height
    if inside and x0 == x1 and y0 == y1:
        canvas[y0, x0] = value
        if paired:
            second[y0, x0] = second_value
        return
    if not inside:
        draw_segment(canvas, x0, y0, x1, y1, value, 1)
        if paired:
            draw_segment(second, x0, y0, x1, y1, second_value, 1)
        return
    _bresenham(canvas, second, x0, y0, x1, y1, value, second_value, paired, 1, False)


@njit(inline="always")
def draw_thin_segment(canvas, x0, y0, x1, y1, value):
    """A 1-pixel segment, both ends included, clipped to the canvas."""
    _thin_walk(canvas, canvas, x0, y0, x1, y1, value, value, False)


@njit(inline="always")
def draw_thin_segment_pair(canvas, second, x0, y0, x1, y1, value, second_value):
    """draw_thin_segment into two canvases at once (an image and its label mask): one walk, two writes."""
    _thin_walk(canvas, second, x0, y0, x1, y1, value, second_value, True)


@njit(cache=True, nogil=True)
def draw_polyline(canvas, xs, ys, value, closed, brush):
    """Segments through the float points (xs, ys) in pixels, truncated toward zero."""
    n = xs.shape[0]
    for k in range(n - 1):
        draw_segment(canvas, int(xs[k]), int(ys[k]), int(xs[k + 1]), int(ys[k + 1]), value, brush)
    if closed and n > 2:
        draw_segment(canvas, int(xs[n - 1]), int(ys[n - 1]), int(xs[0]), int(ys[0]), value, brush)


@njit(inline="always")
def _noise(key, counter, gradients):
    return perlin1(uniform01(key, counter) * NOISE_POSITION_RANGE, gradients)


@njit(inline="always")
def line_grey(grey_key, line):
    """The grey (0..255) of contour line ``line``, from (grey_key, line)."""
    return np.uint8((mix64(np.uint64(grey_key), line) >> _S32) * np.uint64(256) >> _S32)


@njit(inline="always")
def advance_polygon(vx, vy, cos_t, sin_t, bias, line, noise_scale, noise_shift, line_width, independent_xy,
                    centre_x, centre_y, scale, noise_key, gradients, px, py):
    """Move every vertex one noisy step along its ray (line ``line``); its pixel position into (px, py)."""
    n = vx.shape[0]
    base = 2 * line * n
    for k in range(n):
        nx = _noise(noise_key, base + 2 * k, gradients) * noise_scale - noise_shift - bias[k]
        ny = nx
        if independent_xy:
            ny = _noise(noise_key, base + 2 * k + 1, gradients) * noise_scale - noise_shift - bias[k]
        vx[k] -= cos_t[k] * (nx - line_width)
        vy[k] -= sin_t[k] * (ny - line_width)
        px[k] = int(centre_x + vx[k] * scale)
        py[k] = int(centre_y + vy[k] * scale)


@njit(cache=True, nogil=True)
def grow_radial_contours(canvas, vx, vy, cos_t, sin_t, bias, lines, noise_scale, noise_shift, line_width,
                         independent_xy, centre_x, centre_y, scale, noise_key, grey_key, break_key,
                         break_rate, background, gradients):
    """Move the polygon (vx, vy) outward ``lines`` times, drawing each state as a closed polyline.

    Line l, vertex k: n = perlin1(U) * noise_scale - noise_shift - bias[k], with
    U drawn from (noise_key, counter); x_k -= cos_k (n_x - line_width),
    y_k -= sin_k (n_y - line_width), where n_y = n_x unless ``independent_xy``.
    Vertices are in reference units; pixel = centre + v * scale.  Line l has
    grey (grey_key, l) in 0..255; with ``break_rate`` > 0 each segment is drawn
    in ``background`` with that probability (the "broken contours" ablation).
    """
    n = vx.shape[0]
    px = np.empty(n, dtype=np.int64)
    py = np.empty(n, dtype=np.int64)
    breaking = break_rate > 0.0
    for line in range(lines):
        grey = line_grey(grey_key, line)
        advance_polygon(vx, vy, cos_t, sin_t, bias, line, noise_scale, noise_shift, line_width, independent_xy,
                        centre_x, centre_y, scale, noise_key, gradients, px, py)
        for k in range(n):
            j = k + 1 if k + 1 < n else 0
            value = grey
            if breaking and uniform01(np.uint64(break_key), line * n + k) < break_rate:
                value = background
            draw_thin_segment(canvas, px[k], py[k], px[j], py[j], value)
