"""PC-FractalDB: 3D fractal point clouds with a second category mixed in (Yamada et al., CVPR 2022).

An instance is the category's cloud (``--iterations - --mix-points`` iterations:
7,999 points) plus a ``--mix-points`` (2,000) cloud of another category, each
normalised and centred on its own, concatenated and re-centred.  The mixed-in
category is drawn per instance from the instance's seed, among the other
categories.  ``--compat official`` keeps the published rule instead: one list
drawn once for the whole run, so instance j of every category mixes the same
category (which can be the category itself).  The instances are written as PLY
files (``--output views`` draws them through the 3D camera instead).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from fdsl.core.errors import FdslError
from fdsl.formulas.base import between, option, register
from fdsl.formulas.ifs3d.base import OUTPUTS, CloudFormula, CloudViewSettings, cloud_warning, system_maps
from fdsl.formulas.ifs3d.systems import point_cloud
from fdsl.kernels.numba import ifs3d as kernel
from fdsl.core.seeding import rng_for

MAX_INSTANCES = 1_000_000
# The published mix list comes from an unseeded random.sample: any fixed list is as faithful; this one is ours.
OFFICIAL_MIX_STREAM = "pc-fractal-official-mix-list"


@dataclasses.dataclass
class PCFractalRenderSettings(CloudViewSettings):
    output: str = option("ply", "'ply': the instances as binary PLY files (PC-FractalDB); 'views': PNG pictures "
                                "from --views cameras", choices=OUTPUTS)
    instances: int = option(1000, "instances per category", within=between(1, MAX_INSTANCES))
    mix_points: int = option(2000, "points of the other category mixed into each instance")

    def validate(self) -> None:
        super().validate()
        if not (1 <= self.mix_points <= self.iterations - 2):
            raise FdslError(f"--mix-points must be between 1 and --iterations - 2 ({self.iterations - 2}) so that "
                            f"the category's own cloud keeps points, got {self.mix_points}")

    @property
    def main_points(self) -> int:
        """Points of the category's own cloud: iterations - mix points, minus the origin (7,999 by default)."""
        return self.iterations - self.mix_points - 1


def official_mix_list(categories: int, instances: int) -> np.ndarray:
    """Instance j mixes category list[j]: permutations of all categories, as many as ``instances`` needs."""
    rng = rng_for(0, OFFICIAL_MIX_STREAM, categories)
    rounds = -(-instances // categories)
    return np.concatenate([rng.permutation(categories) for _ in range(rounds)])[:instances]


@register
class PCFractal(CloudFormula):
    name = "pc-fractal"
    summary = "PC-FractalDB: 3D IFS point clouds with another category mixed in, as PLY files (for 3D pre-training)"
    RenderSettings = PCFractalRenderSettings
    reads_catalogs_of = ("fractal3d",)  # PC-FractalDB's objects and scenes come from the 3D search (docs/3d.md)

    def render_context(self, categories, settings: PCFractalRenderSettings):
        if len(categories) < 2:
            raise FdslError(f"pc-fractal mixes a second category into every instance, but the catalog has "
                            f"{len(categories)}; search at least 2 (fdsl search fractal3d --categories 2 ...)")
        mix = official_mix_list(len(categories), settings.instances) if settings.compat == "official" else None
        # render_draw is given a category's parameters, not its number: it finds the number by content.
        index = {np.ascontiguousarray(p).tobytes(): c for c, p in enumerate(categories)}
        return {"categories": categories, "index": index, "official_mix": mix}

    def draws_per_category(self, settings: PCFractalRenderSettings) -> int:
        return settings.instances

    def mix_category(self, params, draw: int, rng: np.random.Generator, context) -> int:
        if context["official_mix"] is not None:
            return int(context["official_mix"][draw])
        count = len(context["categories"])
        own = context["index"].get(np.ascontiguousarray(params).tobytes())
        if own is None:
            raise FdslError("pc-fractal: the category to render is not in the catalog the context was built from")
        other = int(rng.integers(0, count - 1))
        return other + (other >= own)  # uniform over the other categories

    def cloud_for_draw(self, params, draw, rng, settings: PCFractalRenderSettings, context):
        mix = self.mix_category(params, draw, rng, context)
        main_key, mix_key = (int(k) for k in rng.integers(0, 2**64, size=2, dtype=np.uint64))
        main, kept_main = point_cloud(*system_maps(params), settings.main_points, main_key)
        other, kept_mix = point_cloud(*system_maps(context["categories"][mix]), settings.mix_points, mix_key)
        cloud = np.concatenate([main, other])
        kernel.recentre(cloud)
        warning = cloud_warning(kept_main, settings.main_points) or cloud_warning(kept_mix, settings.mix_points)
        return cloud, warning

    def file_name(self, category, draw, view, settings: PCFractalRenderSettings):
        if settings.output == "ply":
            return f"{category:05d}_{draw:04d}.ply"
        return f"{category:05d}_{draw:04d}_{view:03d}.png"
