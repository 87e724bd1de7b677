"""FractalDB: 2D iterated function systems (Kataoka et al., ACCV 2020 / IJCV).

Categories are IFS whose single-pixel render on a 512x512 canvas (pad 6,
100k points) lights at least ``fill_rate`` of the pixels.  Instances are the
published 25 weight rows x random 3x3 patch draws x 4 flips.
"""

from __future__ import annotations

import colorsys
import dataclasses
from pathlib import Path

import numpy as np

from fdsl.errors import FdslError
from fdsl.formulas.base import Formula, Settings, option, register
from fdsl.formulas.ifs_maps import (
    cumulative_probabilities,
    read_ifs_csv,
    sample_sigma_factor_system,
    sample_uniform_system,
    weight_rows,
    write_ifs_csv,
)
from fdsl.kernels import ifs as kernel

DRAW_MODES = ("point-gray", "point-color", "patch-gray", "patch-color")
SAMPLERS = ("uniform", "sigma")
COMPAT_MODES = ("none", "official")
# The published renderer re-seeds the global NumPy generator with 100 before every system.
OFFICIAL_SEED = 100
GRAY = 127
COLOUR_CYCLE = 128


@dataclasses.dataclass
class FractalSearchSettings(Settings):
    fill_rate: float = option(0.2, "accept a system if its single-pixel render lights at least this fraction of the canvas")
    points: int = option(100_000, "chaos-game points per candidate")
    size: int = option(512, "side of the square canvas the filling rate is measured on")
    pad: int = option(6, "border in pixels left by the rescale")
    sampler: str = option("uniform", "how candidate systems are drawn: 'uniform' (the paper: a..f ~ U(-1,1)) or 'sigma' (Anderson & Farrell's sigma factor: 2..4 maps, alpha ~ U((5+n)/2, (6+n)/2))", choices=SAMPLERS)

    def validate(self) -> None:
        if not (0.0 <= self.fill_rate <= 1.0):
            raise FdslError(f"--fill-rate must be in [0, 1], got {self.fill_rate}")
        check_canvas(self.size, self.pad, self.points)


@dataclasses.dataclass
class IFSCanvasSettings(Settings):
    """How any 2D IFS image is drawn: canvas, points, draw mode, random sequence (shared with OFDB, 1p-frac)."""

    size: int = option(362, "image side in pixels")
    points: int = option(200_000, "chaos-game points per image")
    pad: int = option(6, "border in pixels left by the rescale")
    draw: str = option("patch-gray", "how points are drawn", choices=DRAW_MODES)
    compat: str = option("none", "'official': the published map-choice sequence (NumPy RandomState(100))", choices=COMPAT_MODES)

    def validate(self) -> None:
        check_canvas(self.size, self.pad, self.points)
        if self.draw not in DRAW_MODES:
            raise FdslError(f"unknown draw mode '{self.draw}'; choose one of: {', '.join(DRAW_MODES)}")
        if self.compat not in COMPAT_MODES:
            raise FdslError(f"unknown compat mode '{self.compat}'; choose one of: {', '.join(COMPAT_MODES)}")

    @property
    def patch_mode(self) -> bool:
        return self.draw.startswith("patch")

    @property
    def colour_mode(self) -> bool:
        return self.draw.endswith("color")


@dataclasses.dataclass
class FractalRenderSettings(IFSCanvasSettings):
    weight_delta: float = option(0.4, "weight-row step delta: rows scale one parameter by 1-2d, 1-d, 1+d, 1+2d")
    patches: int = option(10, "random 3x3 patch draws per weight row (patch modes)")
    flips: int = option(4, "flips per render: 1 (none) to 4 (none, top-bottom, left-right, both)")

    def validate(self) -> None:
        super().validate()
        if not (np.isfinite(self.weight_delta) and 0.0 <= self.weight_delta <= 1.0):
            raise FdslError(f"--weight-delta must be in [0, 1], got {self.weight_delta}")
        if not (1 <= self.patches <= 1000):
            raise FdslError(f"--patches must be between 1 and 1000, got {self.patches}")
        if not (1 <= self.flips <= 4):
            raise FdslError(f"--flips must be between 1 and 4, got {self.flips}")


def check_canvas(size: int, pad: int, points: int) -> None:
    if pad < 1:
        # With no pad the largest coordinate maps to pixel `size`, one past the canvas edge.
        raise FdslError(f"--pad must be >= 1 (the published pad is 6), got {pad}")
    if size <= 2 * pad + 3:
        raise FdslError(f"--size {size} leaves no room inside a pad of {pad}: use a size > {2 * pad + 3}")
    if size > 8192:
        raise FdslError(f"--size {size} is larger than the 8192-pixel limit")
    if points < 1:
        raise FdslError(f"--points must be at least 1, got {points}")
    if points > 100_000_000:
        raise FdslError(f"--points {points} is above the 100,000,000 limit")


def map_choice_uniforms(settings: IFSCanvasSettings) -> np.ndarray:
    """The fixed map-choice sequence of the compat mode (empty: every draw uses its own seeded stream)."""
    if settings.compat == "official":
        return np.random.RandomState(OFFICIAL_SEED).random_sample(settings.points)
    return _NO_UNIFORMS


def point_colours(colour_mode: bool) -> np.ndarray:
    """Colour of point t is row t % K: one grey, or the published 128-step hue cycle.

    The published colour rule is HSV with hue 2*pi*(t mod 128)/128 and S = V = 0.75,
    computed in B, G, R order and then used as R, G, B: we keep that channel swap.
    """
    if not colour_mode:
        return np.full((1, 1), GRAY, dtype=np.uint8)
    table = np.empty((COLOUR_CYCLE, 3), dtype=np.uint8)
    for t in range(COLOUR_CYCLE):
        r, g, b = colorsys.hsv_to_rgb(t / COLOUR_CYCLE, 0.75, 0.75)
        table[t] = (int(b * 255), int(g * 255), int(r * 255))
    return table


class _Buffers:
    """Per-process scratch arrays, reused so that each render allocates nothing large."""

    def __init__(self):
        self._points = (np.empty(0), np.empty(0), np.empty(0, dtype=np.int32))
        self._scratch: dict[int, np.ndarray] = {}

    def points(self, n: int):
        """x, y and map-choice arrays for an n-point chain."""
        if self._points[0].shape[0] < n:
            self._points = (np.empty(n), np.empty(n), np.empty(n, dtype=np.int32))
        return self._points

    def scratch(self, size: int) -> np.ndarray:
        if size not in self._scratch:
            self._scratch[size] = np.empty((size, size), dtype=np.uint8)
        return self._scratch[size]


_NO_UNIFORMS = np.empty(0)


@register
class FractalDB(Formula):
    name = "fractal"
    summary = "FractalDB: 2D IFS categories accepted by filling rate (Kataoka et al. 2020)"
    SearchSettings = FractalSearchSettings
    RenderSettings = FractalRenderSettings

    def __init__(self):
        self._buffers = _Buffers()

    # ---- categories -------------------------------------------------------
    def draw_system(self, rng: np.random.Generator, settings: FractalSearchSettings) -> np.ndarray:
        if settings.sampler == "sigma":
            return sample_sigma_factor_system(rng)
        return sample_uniform_system(rng)

    def sample_category(self, rng, settings: FractalSearchSettings, context):
        system = self.draw_system(rng, settings)
        rate = self.filling_rate(system, settings, key=int(rng.integers(0, 2**64, dtype=np.uint64)))
        if rate >= settings.fill_rate:
            return system, rate
        return None

    def filling_rate(self, system: np.ndarray, settings: FractalSearchSettings, key: int,
                     fixed_uniforms: np.ndarray = _NO_UNIFORMS) -> float:
        """Fraction of the size x size canvas lit by a single-pixel render (the paper's filling rate)."""
        xs, ys, choices = self._buffers.points(settings.points)
        valid, x0, x1, y0, y1 = kernel.iterate(
            np.ascontiguousarray(system[:, :6]), cumulative_probabilities(system[:, 6]),
            settings.points, np.uint64(key), fixed_uniforms, xs, ys, choices)
        needed = int(np.ceil(settings.fill_rate * settings.size * settings.size))
        # The map choices are spent once the chain has run: their buffer holds the pixel indices.
        lit = kernel.count_lit_points(xs, ys, valid, x0, x1, y0, y1, settings.size, settings.pad,
                                      needed, self._buffers.scratch(settings.size), choices)
        return lit / (settings.size * settings.size)

    def save_params(self, params, path: Path) -> None:
        write_ifs_csv(params, path)

    def load_params(self, path: Path):
        return read_ifs_csv(path)

    def describe_params(self, params) -> dict:
        return {"maps": int(params.shape[0])}

    # ---- instances --------------------------------------------------------
    def render_context(self, categories, settings: FractalRenderSettings):
        return {
            "uniforms": map_choice_uniforms(settings),
            "weights": weight_rows(settings.weight_delta),
            "colours": point_colours(settings.colour_mode),
        }

    def draws_per_category(self, settings: FractalRenderSettings) -> int:
        return len(weight_rows(settings.weight_delta)) * (settings.patches if settings.patch_mode else 1)

    def views_per_draw(self, settings: FractalRenderSettings) -> int:
        return settings.flips

    def _row_and_count(self, draw: int, settings: FractalRenderSettings) -> tuple[int, int]:
        per_row = settings.patches if settings.patch_mode else 1
        return draw // per_row, draw % per_row

    def render_draw(self, params, draw, rng, settings: FractalRenderSettings, context):
        if context is None:
            context = self.render_context([params], settings)
        row, _ = self._row_and_count(draw, settings)
        maps = np.ascontiguousarray(params[:, :6] * context["weights"][row][None, :])
        chain_key, mask_key = (np.uint64(k) for k in rng.integers(0, 2**64, size=2, dtype=np.uint64))
        return self.render_system(maps, params[:, 6], settings, chain_key, mask_key,
                                  context["uniforms"], context["colours"])

    def render_system(self, maps, probabilities, settings: FractalRenderSettings, chain_key, mask_key,
                      uniforms=_NO_UNIFORMS, colours=None):
        """One image of the system ``maps`` (N x 6): returns (uint8 image, warning or None)."""
        if colours is None:
            colours = point_colours(settings.colour_mode)
        xs, ys, choices = self._buffers.points(settings.points)
        valid, x0, x1, y0, y1 = kernel.iterate(maps, cumulative_probabilities(probabilities), settings.points,
                                               np.uint64(chain_key), uniforms, xs, ys, choices)
        canvas = np.zeros((settings.size, settings.size, colours.shape[1]), dtype=np.uint8)
        if settings.patch_mode:
            kernel.splat_patches(xs, ys, valid, x0, x1, y0, y1, settings.pad, colours, np.uint64(mask_key), canvas,
                                 choices)
        else:
            kernel.splat_points(xs, ys, valid, x0, x1, y0, y1, settings.pad, colours, canvas, choices)
        # The published renderer draws with y growing downwards, then flips the canvas (y up).
        image = canvas[::-1, :, 0] if colours.shape[1] == 1 else canvas[::-1]
        warning = None
        if valid < settings.points:
            warning = (f"diverged: kept {valid} of {settings.points} points "
                       f"(dropped the first divergent point and the {kernel.POINTS_DROPPED_BEFORE_DIVERGENCE} before it)")
        elif x1 == x0 or y1 == y0:
            warning = "degenerate: the attractor is a line; that axis was drawn on the pad"
        return np.ascontiguousarray(image), warning

    def view(self, image, view, settings):
        if view == 1:
            return image[::-1]
        if view == 2:
            return image[:, ::-1]
        if view == 3:
            return image[::-1, ::-1]
        return image

    def file_name(self, category, draw, view, settings):
        row, count = self._row_and_count(draw, settings)
        return f"{category:05d}_{row:02d}_count_{count}_flip{view}.png"
