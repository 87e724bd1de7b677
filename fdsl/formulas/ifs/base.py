"""What every 2D IFS family shares: the canvas settings, the one renderer and the hook that picks the maps.

FractalDB, OFDB and 1p-frac all draw an image the same way: a chaos-game chain
of a system of affine maps, rescaled per axis to the canvas, splatted as
points or random 3x3 patches, grey or coloured, optionally on the published
map-choice sequence (``--compat official``).  They differ only in which maps a
draw uses (FractalDB: a weight row times the category; OFDB: the category with
parameter a scaled; 1p-frac: the category) and in how draws and views are
numbered.  ``IFSFormula.maps_for_draw`` is that hook; ``render_draw`` is
written once, here.

Formula objects hold no state: the chain's scratch arrays belong to
``fdsl.kernels.numba.workspace``.
"""

from __future__ import annotations

import colorsys
import dataclasses
from pathlib import Path

import numpy as np

from fdsl.core.errors import FdslError
from fdsl.formulas.base import Formula, Settings, option
from fdsl.formulas.ifs.maps import cumulative_probabilities, read_ifs_csv, write_ifs_csv
from fdsl.kernels.numba import ifs as kernel
from fdsl.kernels.numba.workspace import chain_arrays, mask_scratch

DRAW_MODES = ("point-gray", "point-color", "patch-gray", "patch-color")
COMPAT_MODES = ("none", "official")
# The published renderer re-seeds the global NumPy generator with 100 before every system.
OFFICIAL_SEED = 100
GRAY = 127
COLOUR_CYCLE = 128
DEGENERATE_WARNING = "degenerate: the attractor is a line; that axis was drawn on the pad"
NO_UNIFORMS = np.empty(0)


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


@dataclasses.dataclass
class IFSCanvasSettings(Settings):
    """How any 2D IFS image is drawn: canvas, points, draw mode, random sequence."""

    size: int = option(362, "image side in pixels")
    points: int = option(200_000, "chaos-game points per image")
    pad: int = option(6, "border in pixels left by the rescale")
    draw: str = option("patch-gray", "how points are drawn", choices=DRAW_MODES)
    compat: str = option("none", "'official': the published map-choice sequence (NumPy RandomState(100))", choices=COMPAT_MODES)

    def validate(self) -> None:
        super().validate()
        check_canvas(self.size, self.pad, self.points)

    @property
    def patch_mode(self) -> bool:
        return self.draw.startswith("patch")

    @property
    def colour_mode(self) -> bool:
        return self.draw.endswith("color")


def map_choice_uniforms(settings: IFSCanvasSettings) -> np.ndarray:
    """The fixed map-choice sequence of the compat mode (empty: every draw uses its own seeded stream)."""
    if settings.compat == "official":
        return np.random.RandomState(OFFICIAL_SEED).random_sample(settings.points)
    return NO_UNIFORMS


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


def draw_warning(kept: int, points: int, degenerate: bool, dropped: str) -> str | None:
    """The manifest's note about one draw (both renderers): divergence first, then a flat attractor."""
    if kept < points:
        return f"diverged: kept {kept} of {points} points ({dropped})"
    if degenerate:
        return DEGENERATE_WARNING
    return None


def render_system(maps, probabilities, settings: IFSCanvasSettings, chain_key, mask_key,
                  uniforms=NO_UNIFORMS, colours=None):
    """One image of the system ``maps`` (N x 6): returns (uint8 image, warning or None)."""
    if colours is None:
        colours = point_colours(settings.colour_mode)
    xs, ys, choices = chain_arrays(settings.points)
    valid, x0, x1, y0, y1 = kernel.iterate(maps, cumulative_probabilities(probabilities), settings.points,
                                           np.uint64(chain_key), uniforms, xs, ys, choices)
    canvas = np.zeros((settings.size, settings.size, colours.shape[1]), dtype=np.uint8)
    if settings.patch_mode:
        kernel.splat_patches(xs, ys, valid, x0, x1, y0, y1, settings.pad, colours, np.uint64(mask_key), canvas,
                             choices, mask_scratch(valid))
    else:
        kernel.splat_points(xs, ys, valid, x0, x1, y0, y1, settings.pad, colours, canvas, choices)
    # The published renderer draws with y growing downwards, then flips the canvas (y up).
    image = canvas[::-1, :, 0] if colours.shape[1] == 1 else canvas[::-1]
    warning = draw_warning(valid, settings.points, x1 == x0 or y1 == y0,
                           f"dropped the first divergent point and the {kernel.POINTS_DROPPED_BEFORE_DIVERGENCE} "
                           "before it")
    return np.ascontiguousarray(image), warning


class IFSFormula(Formula):
    """A 2D IFS family: categories are (N, 7) systems in the published CSV format; one renderer, one hook."""

    RenderSettings: type[IFSCanvasSettings]

    def save_params(self, params, path: Path) -> None:
        write_ifs_csv(params, path)

    def load_params(self, path: Path):
        return read_ifs_csv(path)

    def describe_params(self, params) -> dict:
        return {"maps": int(params.shape[0])}

    def render_context(self, categories, settings: IFSCanvasSettings) -> dict:
        return {"uniforms": map_choice_uniforms(settings), "colours": point_colours(settings.colour_mode)}

    def maps_for_draw(self, params: np.ndarray, draw: int, settings, context: dict) -> np.ndarray:
        """The hook: the (N, 6) maps that draw ``draw`` of category ``params`` renders."""
        return params[:, :6]

    def render_draw(self, params, draw, rng, settings: IFSCanvasSettings, context):
        if context is None:
            context = self.render_context([params], settings)
        maps = np.ascontiguousarray(self.maps_for_draw(params, draw, settings, context))
        chain_key, mask_key = (np.uint64(k) for k in rng.integers(0, 2**64, size=2, dtype=np.uint64))
        return render_system(maps, params[:, 6], settings, chain_key, mask_key, context["uniforms"],
                             context["colours"])
