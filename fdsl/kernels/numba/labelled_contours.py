"""Compiled radial contours drawn into an image AND a label mask (SegRCDB): arrays in, arrays out.

One call draws one instance: the polygon grows line by line exactly as in
``raster.grow_radial_contours`` (the same step, ``advance_polygon``), each line
goes into ``image`` in its own grey, and the instance's label goes into
``mask`` over one of three regions:

* ``MASK_LINES`` (m1): the same 1-pixel lines;
* ``MASK_BAND`` (m2): the band between the first and the last contour (the last
  one filled, the first one's inside cleared) plus every line;
* ``MASK_FILLED`` (m3): the last contour, filled, with its outline.

Calls in instance order give the overwrite rule for free: a later instance
replaces an earlier one wherever it draws, in the image and in the mask.  The
band is built in ``scratch`` (zeros on entry, zeros on return) over the
instance's bounding box only, so its cost follows the instance's size, not the
canvas's; the filled region goes straight into the mask.  Polygons are filled by the even-odd rule at
pixel centres, with vertices at the pixel the lines use (truncated coordinates).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from fdsl.kernels.numba.raster import advance_polygon, draw_thin_segment, draw_thin_segment_pair, line_grey

MASK_LINES, MASK_BAND, MASK_FILLED = 1, 2, 3
# Scratch markers: a pixel of the instance's lines, and a pixel of its filled region.
_LINE, _AREA = np.uint8(2), np.uint8(1)


@njit(cache=True, nogil=True)
def fill_polygon(canvas, px, py, value, only_where, y_lo, y_hi):
    """Set pixels inside the closed integer polygon (px, py) to ``value`` (rows y_lo..y_hi, clipped).

    ``only_where`` >= 0 changes only pixels currently equal to it (fill around a
    marker, or clear one marker and keep another); -1 changes every inside pixel.
    """
    n = px.shape[0]
    height = canvas.shape[0]
    width = canvas.shape[1]
    crossings = np.empty(n, dtype=np.float64)
    for y in range(max(y_lo, 0), min(y_hi, height - 1) + 1):
        count = 0
        for k in range(n):
            j = k + 1 if k + 1 < n else 0
            y0 = py[k]
            y1 = py[j]
            if (y0 <= y) != (y1 <= y):  # the edge crosses this row (half-open: a vertex counts once)
                crossings[count] = px[k] + (y - y0) * (px[j] - px[k]) / (y1 - y0)
                count += 1
        for i in range(1, count):  # insertion sort: a row crosses few edges
            value_i = crossings[i]
            j = i - 1
            while j >= 0 and crossings[j] > value_i:
                crossings[j + 1] = crossings[j]
                j -= 1
            crossings[j + 1] = value_i
        for pair in range(0, count - 1, 2):
            x0 = max(int(np.ceil(crossings[pair])), 0)
            x1 = min(int(np.floor(crossings[pair + 1])), width - 1)
            for x in range(x0, x1 + 1):
                if only_where < 0 or canvas[y, x] == only_where:
                    canvas[y, x] = value


@njit(inline="always")
def _closed_polyline(canvas, px, py, value):
    n = px.shape[0]
    for k in range(n):
        j = k + 1 if k + 1 < n else 0
        draw_thin_segment(canvas, px[k], py[k], px[j], py[j], value)


@njit(cache=True, nogil=True)
def draw_labelled_contours(image, mask, scratch, vx, vy, cos_t, sin_t, bias, lines, noise_scale, noise_shift,
                           line_width, centre_x, centre_y, scale, noise_key, grey_key, label, mode, gradients):
    """Grow one instance's contours into ``image`` (grey per line) and label ``mask`` with ``label``."""
    n = vx.shape[0]
    px = np.empty(n, dtype=np.int64)
    py = np.empty(n, dtype=np.int64)
    first_x = np.empty(n, dtype=np.int64)
    first_y = np.empty(n, dtype=np.int64)
    x_lo, y_lo, x_hi, y_hi = 1 << 40, 1 << 40, -(1 << 40), -(1 << 40)
    label = np.uint8(label)
    for line in range(lines):
        grey = line_grey(grey_key, line)
        advance_polygon(vx, vy, cos_t, sin_t, bias, line, noise_scale, noise_shift, line_width, True, centre_x,
                        centre_y, scale, noise_key, gradients, px, py)
        if line == 0:
            first_x[:] = px
            first_y[:] = py
        for k in range(n):
            j = k + 1 if k + 1 < n else 0
            if mode == MASK_LINES:
                draw_thin_segment_pair(image, mask, px[k], py[k], px[j], py[j], grey, label)
            elif mode == MASK_BAND:
                draw_thin_segment_pair(image, scratch, px[k], py[k], px[j], py[j], grey, _LINE)
            else:
                draw_thin_segment(image, px[k], py[k], px[j], py[j], grey)
            x_lo = min(x_lo, px[k])
            x_hi = max(x_hi, px[k])
            y_lo = min(y_lo, py[k])
            y_hi = max(y_hi, py[k])
    if mode == MASK_LINES or lines == 0:
        return
    if mode == MASK_FILLED:  # the region is the polygon and its outline: straight into the mask
        fill_polygon(mask, px, py, label, -1, py.min(), py.max())
        _closed_polyline(mask, px, py, label)
        return
    # Each fill scans only its own polygon's rows: the first contour is usually far smaller than the instance.
    fill_polygon(scratch, px, py, _AREA, 0, py.min(), py.max())                    # the last contour
    fill_polygon(scratch, first_x, first_y, 0, 1, first_y.min(), first_y.max())    # the hole, lines kept
    # Copy the region into the mask and leave scratch clean, inside the bounding box only.
    for y in range(max(y_lo, 0), min(y_hi, mask.shape[0] - 1) + 1):
        for x in range(max(x_lo, 0), min(x_hi, mask.shape[1] - 1) + 1):
            if scratch[y, x]:
                mask[y, x] = label
                scratch[y, x] = 0
