"""MV-FractalDB and ExFractalDB: 3D IFS categories seen from many cameras (Yamada et al. CVPR 2022, Kataoka et al.).

Categories are 3D systems whose normalised cloud has a variance above
``--variance`` on every axis.  A draw is one weight row of the category (145
rows: each of the 12 parameters alone scaled by 0.4 ... 1.6) as a seeded
cloud; its views are 12 fixed cameras (MV-FractalDB) or random ones
(ExFractalDB), or the cloud itself as a PLY file (``--output ply``).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from fdsl.formulas.base import option, register
from fdsl.formulas.ifs3d.base import CloudFormula, CloudViewSettings, cloud_warning, system_maps
from fdsl.formulas.ifs3d.systems import WEIGHT_ROW_COUNTS, point_cloud, weight_rows


@dataclasses.dataclass
class Fractal3DRenderSettings(CloudViewSettings):
    weights: int = option(145, "weight rows per category: 145 (0.4 ... 1.6), or a smaller published file "
                               f"({', '.join(map(str, WEIGHT_ROW_COUNTS[:-1]))})")

    def validate(self) -> None:
        super().validate()
        weight_rows(self.weights)  # one of the published counts, or a one-line error


@register
class Fractal3D(CloudFormula):
    name = "fractal3d"
    summary = "MV-FractalDB / ExFractalDB: 3D IFS clouds, 145 weight rows x camera views (or PLY clouds), no OpenGL"
    RenderSettings = Fractal3DRenderSettings

    def render_context(self, categories, settings: Fractal3DRenderSettings):
        return {"weights": weight_rows(settings.weights)}

    def draws_per_category(self, settings: Fractal3DRenderSettings) -> int:
        return settings.weights

    def cloud_for_draw(self, params, draw, rng, settings: Fractal3DRenderSettings, context):
        maps, probabilities = system_maps(params)
        # A weight row scales one parameter in every map; the probabilities are not recomputed (as in 2D).
        weighted = maps * context["weights"][draw][None, :]
        points = settings.iterations - 1
        cloud, kept = point_cloud(weighted, probabilities, points, int(rng.integers(0, 2**64, dtype=np.uint64)))
        return cloud, cloud_warning(kept, points)

    def file_name(self, category, draw, view, settings: Fractal3DRenderSettings):
        if settings.output == "ply":
            return f"{category:05d}_{draw:04d}.ply"
        return f"{category:05d}_{draw:05d}_{view:03d}.png"
