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
    for grey, polygon in _published_contours(p, p.centre_x, p.centre_y, rnd):
        for k in range(p.vertices):
            draw.line((*polygon[k], *polygon[(k + 1) % p.vertices]), fill=(grey, grey, grey), width=1)
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


def _published_contours(p, centre_x: float, centre_y: float, rnd: random.Random):
    """The RCDB growth of one SegRCDB instance: (grey, closed polygon as [(x, y)...]) per line, first to last."""
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
        yield grey, [(centre_x + x, centre_y + y) for x, y in zip(xs, ys)]


def published_segrcdb(categories: list, mode: str, rnd: random.Random, instances: int = 32):
    """SegRCDB: black RGB image and L mask; per instance a random class and centre, one PIL line per segment
    in the image (random grey) and, for m1, in the mask (class id); m2 fills the last contour on the mask,
    clears the first one's inside and draws the outlines; m3 fills the last contour."""
    image = Image.new("RGB", (SIZE, SIZE), (0, 0, 0))
    mask = Image.new("L", (SIZE, SIZE), 0)
    draw, label_draw = ImageDraw.Draw(image), ImageDraw.Draw(mask)
    for _ in range(instances):
        label = rnd.randint(1, len(categories))
        p = categories[label - 1]
        centre_x, centre_y = rnd.uniform(0, SIZE), rnd.uniform(0, SIZE)
        polygons = []
        for grey, polygon in _published_contours(p, centre_x, centre_y, rnd):
            polygons.append(polygon)
            for k in range(len(polygon)):
                segment = (polygon[k], polygon[(k + 1) % len(polygon)])
                draw.line(segment, fill=(grey, grey, grey), width=1)
                if mode == "m1":
                    label_draw.line(segment, fill=label, width=1)
        if mode == "m2":
            label_draw.polygon(polygons[-1], fill=label)
            label_draw.polygon(polygons[0], fill=0)
            for polygon in polygons:
                label_draw.line(polygon + polygon[:1], fill=label, width=1)
        elif mode == "m3":
            label_draw.polygon(polygons[-1], fill=label, outline=label)
    return image, mask
