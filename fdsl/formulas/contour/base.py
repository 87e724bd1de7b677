"""What RCDB and VisualAtom share: radial contours drawn on a square canvas, one family base.

Both families grow one polygon outward, line after line (RCDB: "lines",
VisualAtom: "orbits"), and draw every state as a closed 1-pixel polyline.
Parameters are in the published 512-pixel units; ``--size`` scales the whole
drawing (radius, noise, centre), so a smaller render is the same picture,
smaller, with lines still 1 pixel wide.  A category is one key,value file
(a frozen dataclass, ``ContourFormula.Params``); instance i is draw i.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import ClassVar

import numpy as np

from fdsl.core.errors import FdslError
from fdsl.formulas.base import Formula, Settings, between, option
from fdsl.formulas.param_files import read_key_values, require_range, write_key_values
from fdsl.kernels.numba import raster
from fdsl.kernels.numba.noise import gradients1, permutation_table

REFERENCE_SIZE = 512
MAX_SIZE = 8192
MAX_INSTANCES = 1_000_000
SIZE_RANGE = between(16, MAX_SIZE, unit="pixels")
# The search ranges RCDB, SegRCDB and VisualAtom share.
NOISE_RANGE = between(0.0, 1000.0)
LINE_WIDTH_RANGE = between(0.0, 1000.0)
COUNT_RANGE = between(1, 100_000)
# The 1D noise table used by every contour: fixed, like the published package's table.
NOISE_TABLE_KEY = 0


@dataclasses.dataclass
class ContourRenderSettings(Settings):
    size: int = option(REFERENCE_SIZE, "image side in pixels (the geometry is scaled from the published 512)",
                       within=SIZE_RANGE)
    instances: int = option(1000, "images per category", within=between(1, MAX_INSTANCES))


def check_positive_range(low_name: str, low, high_name: str, high, minimum) -> None:
    """A search range [low, high] must be non-empty and start at or above ``minimum``."""
    if low < minimum:
        raise FdslError(f"--{low_name.replace('_', '-')} must be at least {minimum}, got {low}")
    if high < low:
        raise FdslError(f"--{high_name.replace('_', '-')} ({high}) is below --{low_name.replace('_', '-')} ({low})")




_tables: dict[int, np.ndarray] = {}


@dataclasses.dataclass(frozen=True)
class ContourGeometry:
    """The fields every contour category has, in the published 512-pixel units.

    A family's params dataclass adds its own fields (vertices, lines or orbits...)
    and their ranges (``RANGES``); its file lists those first, then these
    (``row_order``), as the published files do.
    """

    noise: float
    line_width: float
    radius: float
    oval_x: float
    oval_y: float
    centre_x: float
    centre_y: float

    RANGES: ClassVar[tuple] = ()  # (field, low, high) of the family's own fields

    @classmethod
    def row_order(cls) -> list[str]:
        shared = [f.name for f in dataclasses.fields(ContourGeometry)]
        return [f.name for f in dataclasses.fields(cls) if f.name not in shared] + shared

    def check(self, where: str) -> None:
        for name, low, high in self.RANGES:
            require_range(where, name, getattr(self, name), low, high)
        require_range(where, "noise", self.noise, 0.0, 1000.0)
        require_range(where, "line_width", self.line_width, -1000.0, 1000.0)
        require_range(where, "radius", self.radius, 0.0, 100 * REFERENCE_SIZE)
        require_range(where, "oval_x", self.oval_x, 0.0, 1000.0)
        require_range(where, "oval_y", self.oval_y, 0.0, 1000.0)
        for name in ("centre_x", "centre_y"):
            require_range(where, name, getattr(self, name), -100 * REFERENCE_SIZE, 100 * REFERENCE_SIZE)


def noise_table() -> np.ndarray:
    """Gradients of the fixed 1D noise (see kernels.noise.perlin1)."""
    if NOISE_TABLE_KEY not in _tables:
        _tables[NOISE_TABLE_KEY] = gradients1(permutation_table(np.uint64(NOISE_TABLE_KEY)))
    return _tables[NOISE_TABLE_KEY]


def random_keys(rng: np.random.Generator, count: int) -> list:
    return [np.uint64(k) for k in rng.integers(0, 2**64, size=count, dtype=np.uint64)]


def draw_contours(*, size: int, vertices: int, lines: int, radius: float, oval_x: float, oval_y: float,
                  centre_x: float, centre_y: float, noise_scale: float, noise_shift: float, line_width: float,
                  independent_xy: bool, bias: np.ndarray, background: int, rng: np.random.Generator,
                  break_rate: float = 0.0) -> np.ndarray:
    """One (size, size) uint8 image of ``lines`` radial contours (see kernels.raster.grow_radial_contours)."""
    theta = 2.0 * np.pi * np.arange(vertices) / vertices
    cos_t = np.cos(theta)
    sin_t = np.sin(theta)
    vx = cos_t * radius * oval_x
    vy = sin_t * radius * oval_y
    scale = size / REFERENCE_SIZE
    canvas = np.full((size, size), background, dtype=np.uint8)
    noise_key, grey_key, break_key = random_keys(rng, 3)
    raster.grow_radial_contours(canvas, vx, vy, cos_t, sin_t, np.ascontiguousarray(bias, dtype=np.float64), lines,
                                noise_scale, noise_shift, line_width, independent_xy, centre_x * scale,
                                centre_y * scale, scale, noise_key, grey_key, break_key, break_rate,
                                np.uint8(background), noise_table())
    return canvas


class ContourFormula(Formula):
    """A radial-contour family: parameters in a key,value file, ``--instances`` draws per category."""

    Params: ClassVar[type]  # the frozen dataclass of one category (its field order is the file's row order)
    family: ClassVar[str]   # how error messages name the file format

    def save_params(self, params, path: Path) -> None:
        write_key_values(params, path)

    def load_params(self, path: Path):
        return read_key_values(self.Params, path, self.family)

    def draws_per_category(self, settings: ContourRenderSettings) -> int:
        return settings.instances

    def file_name(self, category, draw, view, settings):
        return f"{category:05d}_{draw:04d}.png"
