"""RCDB, radial contours (Kataoka et al., CVPR 2022): noisy concentric polygons on white.

A category fixes the polygon (vertices), how many contour lines grow from it,
the noise coefficient and line width, and a start radius, oval rates and
centre.  Instance 0 draws the category as searched; every other instance
re-draws radius, oval rates and centre from the published ranges, while the
noise and the grey of each line change from draw to draw.  Unlike the
published script, the dataset depends on the seed only, not on the number of
processes.  ``--break-rate`` draws that fraction of segments in the background
colour: the "broken contours" ablation, which the authors report destroys the
pre-training effect.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from fdsl.core.errors import FdslError
from fdsl.formulas.base import Settings, between, option, register
from fdsl.formulas.contour.base import (COUNT_RANGE, LINE_WIDTH_RANGE, NOISE_RANGE, REFERENCE_SIZE, ContourFormula,
                                        ContourGeometry, ContourRenderSettings, draw_contours)

WHITE = 255
# Published per-instance ranges (also used by the search): radius randint(0, 100),
# oval rates U(1, 2), centre (512 + randint(-400, 400)) / 2 on each axis.
MAX_RADIUS = 100
OVAL_RANGE = (1.0, 2.0)
CENTRE_SPREAD = 400
MEAN_VERTICES_RANGE = between(0, 100_000, open_low=True)
MAX_VERTICES_RANGE = between(3, 100_000, why="a polygon needs 2 < V")


@dataclasses.dataclass(frozen=True)
class RCDBParams(ContourGeometry):
    vertices: int
    lines: int

    RANGES = (("vertices", 3, 100_000), ("lines", 1, 100_000))


@dataclasses.dataclass
class RCDBSearchSettings(Settings):
    mean_vertices: float = option(100.0, "vertices are int(Exponential(mean)), redrawn until 2 < V <= --max-vertices",
                                  within=MEAN_VERTICES_RANGE)
    max_vertices: int = option(200, "largest number of polygon vertices", within=MAX_VERTICES_RANGE)
    max_lines: int = option(200, "contour lines are randint(1, --max-lines)", within=COUNT_RANGE)
    max_noise: float = option(4.0, "noise coefficient ~ U(0, --max-noise)", within=NOISE_RANGE)
    max_line_width: float = option(0.1, "line width (outward step added per line) ~ U(0, --max-line-width)",
                                   within=LINE_WIDTH_RANGE)

    def validate(self) -> None:
        super().validate()
        # P(2 < int(Expo(mean)) <= max): refuse settings whose search would almost never accept.
        acceptance = np.exp(-3.0 / self.mean_vertices) - np.exp(-(self.max_vertices + 1.0) / self.mean_vertices)
        if acceptance < 1e-3:
            raise FdslError(f"--mean-vertices {self.mean_vertices} with --max-vertices {self.max_vertices} accepts "
                            f"{acceptance:.1e} of candidates; use a mean between 1 and --max-vertices")


@dataclasses.dataclass
class RCDBRenderSettings(ContourRenderSettings):
    break_rate: float = option(0.0, "fraction of segments drawn in the background colour (broken contours; "
                                    "0 = the published RCDB)", within=between(0.0, 1.0))


def draw_placement(rng: np.random.Generator) -> tuple[float, float, float, float, float]:
    """Radius, oval rates and centre, from the published ranges."""
    radius = float(rng.integers(0, MAX_RADIUS + 1))
    oval_x, oval_y = (float(v) for v in rng.uniform(*OVAL_RANGE, size=2))
    centre_x, centre_y = ((REFERENCE_SIZE + float(v)) / 2 for v in rng.integers(-CENTRE_SPREAD, CENTRE_SPREAD + 1, size=2))
    return radius, oval_x, oval_y, centre_x, centre_y


def sample_growth(rng: np.random.Generator, settings: RCDBSearchSettings) -> tuple[int, int, float, float] | None:
    """(vertices, lines, noise, line width) as the published samplers draw them, or None to reject."""
    vertices = int(rng.exponential(settings.mean_vertices))
    if not (2 < vertices <= settings.max_vertices):
        return None  # the published sampler re-draws V; rejecting the candidate gives the same distribution
    lines = int(rng.integers(1, settings.max_lines + 1))
    noise = float(rng.uniform(0.0, settings.max_noise))
    line_width = float(rng.uniform(0.0, settings.max_line_width))
    return vertices, lines, noise, line_width


@register
class RCDB(ContourFormula):
    name = "rcdb"
    summary = "RCDB: radial contour categories on white, 512 px (Kataoka et al. 2022)"
    SearchSettings = RCDBSearchSettings
    RenderSettings = RCDBRenderSettings
    Params = RCDBParams
    family = "RCDB"

    def sample_category(self, rng, settings: RCDBSearchSettings, context):
        growth = sample_growth(rng, settings)
        if growth is None:
            return None
        vertices, lines, noise, line_width = growth
        radius, oval_x, oval_y, centre_x, centre_y = draw_placement(rng)
        return RCDBParams(vertices=vertices, lines=lines, noise=noise, line_width=line_width, radius=radius,
                          oval_x=oval_x, oval_y=oval_y, centre_x=centre_x, centre_y=centre_y), 1.0

    def describe_params(self, params: RCDBParams) -> dict:
        return {"vertices": params.vertices, "lines": params.lines}

    def render_draw(self, params: RCDBParams, draw, rng, settings: RCDBRenderSettings, context):
        placement = (params.radius, params.oval_x, params.oval_y, params.centre_x, params.centre_y)
        if draw > 0:
            placement = draw_placement(rng)
        radius, oval_x, oval_y, centre_x, centre_y = placement
        image = draw_contours(
            size=settings.size, vertices=params.vertices, lines=params.lines, radius=radius, oval_x=oval_x,
            oval_y=oval_y, centre_x=centre_x, centre_y=centre_y,
            # n = pnoise1 * 2c - c, drawn independently for x and y.
            noise_scale=2.0 * params.noise, noise_shift=params.noise, line_width=params.line_width,
            independent_xy=True, bias=np.zeros(params.vertices), background=WHITE, rng=rng,
            break_rate=settings.break_rate)
        return image, None
