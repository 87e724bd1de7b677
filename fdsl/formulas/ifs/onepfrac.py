"""1p-frac, "Scaling Backwards" (Nakamura et al., ECCV 2024): one fractal, classes are its perturbations.

The search seed fixes one base system of 2 maps drawn with the sigma-factor
sampler (alpha ~ U(sigma - 0.1, sigma + 0.1), sigma = 3.5 by default; the
published generate.sh uses 4.0).  Candidate k multiplies each of the 12
parameters a..f of the base by its own U(1 - delta, 1 + delta) (delta = 0.1)
and recomputes p from the determinants; it becomes a class when its 512-px,
100k-point patch render has more than 5% of its pixels above 1, as published.
``fdsl search onepfrac --categories 1000`` makes the published 1000 classes.
Each class renders as one image (flip0), 512 px, 100k points, patches.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from fdsl.core.errors import FdslError
from fdsl.formulas.base import Settings, between, option, register
from fdsl.formulas.ifs.base import check_canvas, render_system
from fdsl.formulas.ifs.maps import determinant_probabilities, sample_sigma_system
from fdsl.formulas.ifs.ofdb import IFSImageSettings, SingleImageIFS
from fdsl.core.seeding import rng_for

# The published sampler draws alpha within +-0.1 of sigma.
SIGMA_SPREAD = 0.1


@dataclasses.dataclass
class OnePFracSearchSettings(Settings):
    sigma: float = option(3.5, "sigma factor of the base system (published default 3.5; generate.sh uses 4.0)")
    maps: int = option(2, "maps in the base system", within=between(1, 16))
    delta: float = option(0.1, "each class multiplies every parameter by U(1 - delta, 1 + delta)",
                          within=between(0.0, 1.0, open_high=True))
    min_fill: float = option(0.05, "accept a class when more than this fraction of its pixels is above 1",
                             within=between(0.0, 1.0, open_high=True))
    size: int = option(512, "side of the acceptance render")
    points: int = option(100_000, "chaos-game points of the acceptance render")
    pad: int = option(6, "border in pixels left by the rescale")

    def validate(self) -> None:
        super().validate()
        low, high = self.sigma - SIGMA_SPREAD, self.sigma + SIGMA_SPREAD
        if not (low >= 0 and high <= 3 * self.maps):
            raise FdslError(f"--sigma {self.sigma} is impossible for {self.maps} maps: each map contributes "
                            f"s1 + 2 s2 <= 3, so sigma must be in [{SIGMA_SPREAD}, {3 * self.maps - SIGMA_SPREAD}]")
        check_canvas(self.size, self.pad, self.points)


@dataclasses.dataclass
class OnePFracRenderSettings(IFSImageSettings):
    size: int = option(512, "image side in pixels")
    points: int = option(100_000, "chaos-game points per image")


def base_system(seed: int, settings: OnePFracSearchSettings) -> np.ndarray:
    """The one fractal every class of a search perturbs: a function of the seed and settings only."""
    rng = rng_for(seed, "onepfrac-base")
    alpha = float(rng.uniform(settings.sigma - SIGMA_SPREAD, settings.sigma + SIGMA_SPREAD))
    return sample_sigma_system(rng, settings.maps, alpha)


@register
class OnePFrac(SingleImageIFS):
    name = "onepfrac"
    summary = "1p-frac: one sigma-factor fractal, classes are perturbations of its 12 parameters (Nakamura et al. 2024)"
    SearchSettings = OnePFracSearchSettings
    RenderSettings = OnePFracRenderSettings

    def search_context(self, seed, settings: OnePFracSearchSettings):
        return base_system(seed, settings)

    def sample_category(self, rng, settings: OnePFracSearchSettings, context):
        base = context
        maps = base[:, :6] * rng.uniform(1.0 - settings.delta, 1.0 + settings.delta, size=base[:, :6].shape)
        system = np.column_stack([maps, determinant_probabilities(maps)])
        image_settings = IFSImageSettings(size=settings.size, points=settings.points, pad=settings.pad)
        chain_key, mask_key = (np.uint64(k) for k in rng.integers(0, 2**64, size=2, dtype=np.uint64))
        image, _ = render_system(np.ascontiguousarray(maps), system[:, 6], image_settings, chain_key, mask_key)
        fill = float(np.count_nonzero(image > 1)) / image.size
        if fill > settings.min_fill:
            return system, fill
        return None

    def file_name(self, category, draw, view, settings):
        return f"{category:05d}_count_{draw}_flip0.png"
