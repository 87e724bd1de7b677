"""FractalDB: 2D iterated function systems (Kataoka et al., ACCV 2020 / IJCV).

Categories are IFS whose single-pixel render on a 512x512 canvas (pad 6,
100k points) lights at least ``fill_rate`` of the pixels.  Instances are the
published 25 weight rows x random 3x3 patch draws x 4 flips.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from fdsl.core.errors import FdslError
from fdsl.formulas.base import Settings, between, option, register
from fdsl.formulas.ifs.base import IFSCanvasSettings, IFSFormula, NO_UNIFORMS, check_canvas
from fdsl.formulas.ifs.maps import (
    cumulative_probabilities,
    sample_sigma_factor_system,
    sample_uniform_system,
    weight_rows,
)
from fdsl.kernels.numba import ifs as kernel
from fdsl.kernels.numba.workspace import chain_arrays, square_scratch

SAMPLERS = ("uniform", "sigma")
# View v of a draw flips (rows, columns): 0 as is, 1 top-bottom, 2 left-right, 3 both.
FLIPS = ((False, False), (True, False), (False, True), (True, True))


@dataclasses.dataclass
class FractalSearchSettings(Settings):
    fill_rate: float = option(0.2, "accept a system if its single-pixel render lights at least this fraction of the canvas",
                              within=between(0.0, 1.0))
    points: int = option(100_000, "chaos-game points per candidate")
    size: int = option(512, "side of the square canvas the filling rate is measured on")
    pad: int = option(6, "border in pixels left by the rescale")
    sampler: str = option("uniform", "how candidate systems are drawn: 'uniform' (the paper: a..f ~ U(-1,1)) or 'sigma' (Anderson & Farrell's sigma factor: 2..4 maps, alpha ~ U((5+n)/2, (6+n)/2))", choices=SAMPLERS)

    def validate(self) -> None:
        super().validate()
        check_canvas(self.size, self.pad, self.points)


FRACTAL_DEFAULT_PATCHES = 10  # the published 10 patch draws per weight row


@dataclasses.dataclass
class FractalRenderSettings(IFSCanvasSettings):
    weight_delta: float = option(0.4, "weight-row step delta: rows scale one parameter by 1-2d, 1-d, 1+d, 1+2d",
                                 within=between(0.0, 1.0))
    patches: int = option(FRACTAL_DEFAULT_PATCHES, "random 3x3 patch draws per weight row (patch modes)", within=between(1, 1000))
    flips: int = option(4, "flips per render: 1 (none) to 4 (none, top-bottom, left-right, both)",
                        within=between(1, 4))

    def validate(self) -> None:
        super().validate()
        # A point draw has one image per weight row: patches would be recorded, and change nothing.
        if not self.patch_mode and self.patches != FRACTAL_DEFAULT_PATCHES:
            raise FdslError(f"--patches {self.patches} is ignored by --draw {self.draw} (it counts the random "
                            "patch draws of the patch modes); drop it or choose a patch draw")


def draws_per_row(settings: FractalRenderSettings) -> int:
    """Draws that share one weight row: the random patch draws (one in point modes)."""
    return settings.patches if settings.patch_mode else 1


def row_and_count(draw: int, settings: FractalRenderSettings) -> tuple[int, int]:
    """Draw number -> (weight row, patch draw within the row): the published file-name pair."""
    return divmod(draw, draws_per_row(settings))


def sample_by_filling_rate(rng: np.random.Generator, settings: FractalSearchSettings):
    """FractalDB's acceptance (also OFDB's): (system, filling rate) if the rate is high enough, else None."""
    system = sample_sigma_factor_system(rng) if settings.sampler == "sigma" else sample_uniform_system(rng)
    rate = filling_rate(system, settings, key=int(rng.integers(0, 2**64, dtype=np.uint64)))
    if rate >= settings.fill_rate:
        return system, rate
    return None


def filling_rate(system: np.ndarray, settings: FractalSearchSettings, key: int,
                 fixed_uniforms: np.ndarray = NO_UNIFORMS) -> float:
    """Fraction of the size x size canvas lit by a single-pixel render (the paper's filling rate)."""
    xs, ys, choices = chain_arrays(settings.points)
    valid, x0, x1, y0, y1 = kernel.iterate(
        np.ascontiguousarray(system[:, :6]), cumulative_probabilities(system[:, 6]),
        settings.points, np.uint64(key), fixed_uniforms, xs, ys, choices)
    needed = int(np.ceil(settings.fill_rate * settings.size * settings.size))
    # The map choices are spent once the chain has run: their buffer holds the pixel indices.
    lit = kernel.count_lit_points(xs, ys, valid, x0, x1, y0, y1, settings.size, settings.pad,
                                  needed, square_scratch(settings.size), choices)
    return lit / (settings.size * settings.size)


@register
class FractalDB(IFSFormula):
    name = "fractal"
    summary = "FractalDB: 2D IFS categories accepted by filling rate (Kataoka et al. 2020)"
    SearchSettings = FractalSearchSettings
    RenderSettings = FractalRenderSettings
    torch_renderer_path = "fdsl.formulas.ifs.torch_renderer:FractalTorchRenderer"

    def sample_category(self, rng, settings: FractalSearchSettings, context):
        return sample_by_filling_rate(rng, settings)

    # ---- instances: 25 weight rows x patch draws x flips -------------------
    def render_context(self, categories, settings: FractalRenderSettings):
        return {**super().render_context(categories, settings), "weights": weight_rows(settings.weight_delta)}

    def draws_per_category(self, settings: FractalRenderSettings) -> int:
        return len(weight_rows(settings.weight_delta)) * draws_per_row(settings)

    def views_per_draw(self, settings: FractalRenderSettings) -> int:
        return settings.flips

    def maps_for_draw(self, params, draw, settings: FractalRenderSettings, context):
        # A weight row multiplies one parameter in every map; the probabilities are not recomputed (as published).
        row, _ = row_and_count(draw, settings)
        return params[:, :6] * context["weights"][row][None, :]

    def view(self, image, view, settings):
        flip_rows, flip_columns = FLIPS[view]
        if flip_rows:
            image = image[::-1]
        if flip_columns:
            image = image[:, ::-1]
        return image

    def file_name(self, category, draw, view, settings):
        row, count = row_and_count(draw, settings)
        return f"{category:05d}_{row:02d}_count_{count}_flip{view}.png"
