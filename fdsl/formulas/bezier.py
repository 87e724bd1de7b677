"""Bezier-N: the Bezier-curve baseline of the FractalDB paper (Table 9: Bezier-144, Bezier-1024).

The paper's supplement, which defines these categories, is not available; this
is our definition, documented in docs/families.md:

- a category is K cubic Bezier curves (K ~ randint(--min-curves, --max-curves)),
  each with 4 control points uniform in the canvas (a 5% margin) and a grey
  level uniform in 128..255, drawn on black;
- a candidate is accepted when every curve's control points span a box whose
  diagonal is at least --min-extent of the canvas side (no curve collapses
  into a dot);
- instance 0 draws the control points as searched; every other instance moves
  each control point by U(-jitter, jitter) of the side on each axis.

N is ``--categories``: Bezier-144 and Bezier-1024 are searches of 144 and 1024.
The parameter file has one row per curve: x0,y0,x1,y1,x2,y2,x3,y3,grey, with
coordinates in canvas units (0..1, y down).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from fdsl.formulas.param_files import read_numeric_csv, write_numeric_csv
from fdsl.core.errors import FdslError
from fdsl.formulas.base import Formula, Settings, between, option, register
from fdsl.kernels.numba import raster

COLUMNS = 9
MARGIN = 0.05
GREY_RANGE = (128, 255)
MAX_CURVES = 1000


@dataclasses.dataclass
class BezierSearchSettings(Settings):
    min_curves: int = option(1, "fewest curves in a category")
    max_curves: int = option(4, "most curves in a category")
    min_extent: float = option(0.25, "accept when every curve's control box has a diagonal of at least this "
                                     "fraction of the side")

    def validate(self) -> None:
        if not (1 <= self.min_curves <= self.max_curves <= MAX_CURVES):
            raise FdslError(f"need 1 <= --min-curves <= --max-curves <= {MAX_CURVES}, got "
                            f"{self.min_curves} and {self.max_curves}")
        # Control points lie in a square of side 1 - 2 * margin: no box can have a longer diagonal.
        longest = np.sqrt(2.0) * (1.0 - 2 * MARGIN)
        if not (0.0 <= self.min_extent < longest):
            raise FdslError(f"--min-extent must be in [0, {longest:.3f}) (the largest possible diagonal), "
                            f"got {self.min_extent}")


@dataclasses.dataclass
class BezierRenderSettings(Settings):
    size: int = option(362, "image side in pixels", within=between(16, 8192, unit="pixels"))
    instances: int = option(1000, "images per category", within=between(1, 1_000_000))
    jitter: float = option(0.05, "instances move each control point by U(-jitter, jitter) of the side",
                           within=between(0.0, 1.0))
    line_width: float = option(0.006, "line width as a fraction of the side (at least 1 pixel)",
                               within=between(0.0, 0.25, open_low=True, why="a fraction of the side"))

    def brush(self) -> int:
        return max(1, int(round(self.line_width * self.size)))


def check_curves(curves: np.ndarray, where: str) -> np.ndarray:
    if len(curves) > MAX_CURVES:
        raise FdslError(f"{where}: {len(curves)} curves; at most {MAX_CURVES}")
    if np.any(np.abs(curves[:, :8] - 0.5) > 2.0):
        raise FdslError(f"{where}: a control point lies far outside the canvas; coordinates are fractions "
                        "of the side (0..1)")
    grey = curves[:, 8]
    if np.any((grey < 1) | (grey > 255) | (grey != np.round(grey))):
        raise FdslError(f"{where}: column 9 (grey) must be an integer in 1..255")
    return curves


def _bernstein(samples: int) -> np.ndarray:
    t = np.linspace(0.0, 1.0, samples)[:, None]
    return np.hstack([(1 - t) ** 3, 3 * t * (1 - t) ** 2, 3 * t ** 2 * (1 - t), t ** 3])


def draw_curves(curves: np.ndarray, size: int, brush: int) -> np.ndarray:
    """Rasterise cubic curves (rows of 4 control points + grey) on a black (size, size) canvas."""
    canvas = np.zeros((size, size), dtype=np.uint8)
    for row in curves:
        control = row[:8].reshape(4, 2) * size
        # Enough samples for segments of about 2 pixels along the control polygon (which bounds the curve length).
        length = np.sum(np.hypot(*np.diff(control, axis=0).T))
        points = _bernstein(int(np.clip(length / 2, 8, 4096))) @ control
        raster.draw_polyline(canvas, np.ascontiguousarray(points[:, 0]), np.ascontiguousarray(points[:, 1]),
                             np.uint8(row[8]), False, brush)
    return canvas


@register
class Bezier(Formula):
    name = "bezier"
    summary = "Bezier-N baseline: categories of random cubic curves, instances jitter them (FractalDB paper, Table 9)"
    SearchSettings = BezierSearchSettings
    RenderSettings = BezierRenderSettings

    def sample_category(self, rng, settings: BezierSearchSettings, context):
        k = int(rng.integers(settings.min_curves, settings.max_curves + 1))
        control = rng.uniform(MARGIN, 1.0 - MARGIN, size=(k, 4, 2))
        grey = rng.integers(GREY_RANGE[0], GREY_RANGE[1] + 1, size=(k, 1))
        extent = np.hypot(*(control.max(axis=1) - control.min(axis=1)).T)
        if extent.min() < settings.min_extent:
            return None
        return np.hstack([control.reshape(k, 8), grey]).astype(np.float64), float(extent.min())

    def save_params(self, params, path: Path) -> None:
        write_numeric_csv(params, path)

    def load_params(self, path: Path):
        return check_curves(read_numeric_csv(path, columns=COLUMNS), str(path))

    def describe_params(self, params) -> dict:
        return {"curves": int(len(params))}

    def draws_per_category(self, settings: BezierRenderSettings) -> int:
        return settings.instances

    def render_draw(self, params, draw, rng, settings: BezierRenderSettings, context):
        curves = np.array(params, dtype=np.float64)
        if draw > 0:
            curves[:, :8] += rng.uniform(-settings.jitter, settings.jitter, size=(len(curves), 8))
        return draw_curves(curves, settings.size, settings.brush()), None

    def file_name(self, category, draw, view, settings):
        return f"{category:05d}_{draw:04d}.png"
