"""VisualAtom (Takashima et al., CVPR 2023): radial contours modulated by two sine waves, on black.

A category fixes the quantisation (polygon vertices), the number of orbits,
the two frequencies n1 != n2, the noise coefficient, the line width and a
start radius, oval rates and centre.  Orbit k moves every vertex outward by
c + w + 0.5 sin(n1 theta) + 0.5 sin(n2 theta) plus noise, so the contours are
"atoms" whose shape the two sine waves set.  Instance 0 is the category as
searched; other instances re-draw only the centre (anywhere on the canvas), as
published; noise and orbit greys change from draw to draw.  Unlike the
published code, the category parameters are written (one key,value file each).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from fdsl.formulas.base import Settings, between, option, register
from fdsl.formulas.contour.base import (COUNT_RANGE, LINE_WIDTH_RANGE, NOISE_RANGE, REFERENCE_SIZE, ContourFormula,
                                        ContourGeometry, ContourRenderSettings, check_positive_range, draw_contours)

BLACK = 0
SINE_AMPLITUDE = 0.5
# Published placement ranges: radius randint(10, 60), oval U(1, 2), centre (512 + randint(-512, 512)) / 2.
RADIUS_RANGE = (10, 60)
OVAL_RANGE = (1.0, 2.0)
CENTRE_SPREAD = 512


@dataclasses.dataclass(frozen=True)
class VisualAtomParams(ContourGeometry):
    vertices: int
    orbits: int
    frequency_1: int
    frequency_2: int

    RANGES = (("vertices", 3, 100_000), ("orbits", 1, 100_000), ("frequency_1", 0, 100_000),
              ("frequency_2", 0, 100_000))


@dataclasses.dataclass
class VisualAtomSearchSettings(Settings):
    min_vertices: int = option(200, "quantisation (polygon vertices) ~ randint(--min-vertices, --max-vertices)")
    max_vertices: int = option(1000, "largest quantisation", within=between(3, 100_000))
    max_orbits: int = option(200, "orbits (contour lines) ~ randint(1, --max-orbits)", within=COUNT_RANGE)
    max_frequency: int = option(20, "sine frequencies n1, n2 ~ randint(0, --max-frequency), n2 != n1 unless n1 = 0",
                                within=between(1, 100_000, why="two different frequencies"))
    max_noise: float = option(4.0, "noise coefficient ~ U(0, --max-noise)", within=NOISE_RANGE)
    max_line_width: float = option(0.1, "line width (outward step per orbit) ~ U(0, --max-line-width)",
                                   within=LINE_WIDTH_RANGE)

    def validate(self) -> None:
        super().validate()
        check_positive_range("min_vertices", self.min_vertices, "max_vertices", self.max_vertices, 3)


def draw_centre(rng: np.random.Generator) -> tuple[float, float]:
    cx, cy = ((REFERENCE_SIZE + float(v)) / 2 for v in rng.integers(-CENTRE_SPREAD, CENTRE_SPREAD + 1, size=2))
    return cx, cy


def sine_bias(params: VisualAtomParams) -> np.ndarray:
    theta = 2.0 * np.pi * np.arange(params.vertices) / params.vertices
    return SINE_AMPLITUDE * (np.sin(params.frequency_1 * theta) + np.sin(params.frequency_2 * theta))


@register
class VisualAtom(ContourFormula):
    name = "visual-atom"
    summary = "VisualAtom: contours from two sine waves on black, 512 px (Takashima et al. 2023)"
    SearchSettings = VisualAtomSearchSettings
    RenderSettings = ContourRenderSettings
    Params = VisualAtomParams
    family = "VisualAtom"

    def sample_category(self, rng, settings: VisualAtomSearchSettings, context):
        vertices = int(rng.integers(settings.min_vertices, settings.max_vertices + 1))
        orbits = int(rng.integers(1, settings.max_orbits + 1))
        noise = float(rng.uniform(0.0, settings.max_noise))
        line_width = float(rng.uniform(0.0, settings.max_line_width))
        radius = float(rng.integers(RADIUS_RANGE[0], RADIUS_RANGE[1] + 1))
        n1 = int(rng.integers(0, settings.max_frequency + 1))
        n2 = int(rng.integers(0, settings.max_frequency + 1))
        while n1 != 0 and n2 == n1:
            n2 = int(rng.integers(0, settings.max_frequency + 1))
        oval_x, oval_y = (float(v) for v in rng.uniform(*OVAL_RANGE, size=2))
        centre_x, centre_y = draw_centre(rng)
        params = VisualAtomParams(vertices=vertices, orbits=orbits, frequency_1=n1, frequency_2=n2, noise=noise,
                                  line_width=line_width, radius=radius, oval_x=oval_x, oval_y=oval_y,
                                  centre_x=centre_x, centre_y=centre_y)
        return params, 1.0

    def describe_params(self, params: VisualAtomParams) -> dict:
        return {"vertices": params.vertices, "orbits": params.orbits,
                "frequencies": [params.frequency_1, params.frequency_2]}

    def render_draw(self, params: VisualAtomParams, draw, rng, settings: ContourRenderSettings, context):
        centre_x, centre_y = (params.centre_x, params.centre_y) if draw == 0 else draw_centre(rng)
        image = draw_contours(
            size=settings.size, vertices=params.vertices, lines=params.orbits, radius=params.radius,
            oval_x=params.oval_x, oval_y=params.oval_y, centre_x=centre_x, centre_y=centre_y,
            # n = pnoise1 * c - c - 0.5 sin(n1 theta) - 0.5 sin(n2 theta), one value per vertex.
            noise_scale=params.noise, noise_shift=params.noise, line_width=params.line_width,
            independent_xy=False, bias=sine_bias(params), background=BLACK, rng=rng)
        return image, None
