"""Deliberately faithful slow versions of the published RCDB and VisualAtom renderers, for timing only.

Written from the descriptions in ../shared/docs/reference-algorithms.md (sections 3 and 4),
not from the published code: a Python loop over lines and vertices, one ``noise.pnoise1`` call
per random number, and one ``PIL.ImageDraw.line`` call per segment on a 512x512 RGB canvas.
If the ``noise`` package is importable it is used (as published); otherwise a compiled 1D Perlin
noise called once per value from Python stands in (about the same cost per call).
"""

from __future__ import annotations

import io
import math
import random

import numpy as np
from PIL import Image, ImageDraw

try:
    from noise import pnoise1 as _pnoise1

    PNOISE1_SOURCE = "noise.pnoise1 (the published package)"
except ImportError:  # the package needs a C compiler to install: fall back to our kernel, one call per value
    from numba import njit

    from fdsl.formulas.contour.base import noise_table
    from fdsl.kernels.numba.noise import perlin1

    _GRADIENTS = noise_table()

    @njit(cache=True)
    def _perlin1_scalar(x, gradients):
        return perlin1(x, gradients)

    def _pnoise1(x):
        return _perlin1_scalar(x, _GRADIENTS)

    PNOISE1_SOURCE = "fdsl perlin1 called from Python (the 'noise' package is not installed)"

SIZE = 512


def published_rcdb(p, rnd: random.Random) -> Image.Image:
    """RCDB: white canvas, each line moves every vertex by independent x and y noise, then V PIL lines."""
    image = Image.new("RGB", (SIZE, SIZE), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    angles = [2 * math.pi * k / p.vertices for k in range(p.vertices)]
    xs = [math.cos(a) * p.radius * p.oval_x for a in angles]
    ys = [math.sin(a) * p.radius * p.oval_y for a in angles]
    for _ in range(p.lines):
        grey = rnd.randint(0, 255)
        for k, a in enumerate(angles):
            nx = _pnoise1(rnd.uniform(0, 10000)) * 2 * p.noise - p.noise
            ny = _pnoise1(rnd.uniform(0, 10000)) * 2 * p.noise - p.noise
            xs[k] -= math.cos(a) * (nx - p.line_width)
            ys[k] -= math.sin(a) * (ny - p.line_width)
        for k in range(p.vertices):
            j = (k + 1) % p.vertices
            draw.line((p.centre_x + xs[k], p.centre_y + ys[k], p.centre_x + xs[j], p.centre_y + ys[j]),
                      fill=(grey, grey, grey), width=1)
    return image


def published_visual_atom(p, rnd: random.Random) -> Image.Image:
    """VisualAtom: black canvas, one noise value per vertex plus two sine terms, then V PIL lines per orbit."""
    image = Image.new("RGB", (SIZE, SIZE), (0, 0, 0))
    draw = ImageDraw.Draw(image)
    angles = [2 * math.pi * k / p.vertices for k in range(p.vertices)]
    xs = [math.cos(a) * p.radius * p.oval_x for a in angles]
    ys = [math.sin(a) * p.radius * p.oval_y for a in angles]
    for _ in range(p.orbits):
        grey = rnd.randint(0, 255)
        for k, a in enumerate(angles):
            n = (_pnoise1(rnd.uniform(0, 10000)) * p.noise - p.noise
                 - 0.5 * math.sin(p.frequency_1 * a) - 0.5 * math.sin(p.frequency_2 * a))
            xs[k] -= math.cos(a) * (n - p.line_width)
            ys[k] -= math.sin(a) * (n - p.line_width)
        for k in range(p.vertices):
            j = (k + 1) % p.vertices
            draw.line((p.centre_x + xs[k], p.centre_y + ys[k], p.centre_x + xs[j], p.centre_y + ys[j]),
                      fill=(grey, grey, grey), width=1)
    return image


def published_png(image: Image.Image) -> bytes:
    """``Image.save(path)`` with PIL's PNG defaults, as the published scripts do."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def as_array(image: Image.Image) -> np.ndarray:
    return np.asarray(image)[:, :, 0]
