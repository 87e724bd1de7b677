"""OFDB, one instance per category (Nakamura et al., ICCV 2023): a preset over FractalDB.

The search is FractalDB's, unchanged (the published default is 10,000
categories: ``fdsl search ofdb --categories 10000``).  Each category is
rendered once, flip0 only, 362 px, 200k points, patch_gray.  The published
renderer uses only the first row of ``weights_0.4.csv``, which scales
parameter a of every map by 0.2 (not the identity row): we keep that quirk by
default, so the images match the released dataset, and ``--a-scale 1``
renders the searched systems unchanged.

``IFSImageSettings`` and ``SingleImageIFS`` are shared with 1p-frac: IFS
families whose every class is a few plain images of one system (no weight
rows, no flips).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from fdsl.core.errors import FdslError
from fdsl.formulas.base import between, option, register
from fdsl.formulas.ifs.base import IFSCanvasSettings, IFSFormula
from fdsl.formulas.ifs.fractal import FractalSearchSettings, sample_by_filling_rate

# weights_0.4.csv row 0: parameter a times 1 - 2 * 0.4.
PUBLISHED_A_SCALE = 0.2
MAX_INSTANCES = 100_000


@dataclasses.dataclass
class IFSImageSettings(IFSCanvasSettings):
    instances: int = option(1, "images per category (each a new chain and new random patches)",
                            within=between(1, MAX_INSTANCES))


@dataclasses.dataclass
class OFDBRenderSettings(IFSImageSettings):
    a_scale: float = option(PUBLISHED_A_SCALE, "multiplier of parameter a in every map: 0.2 is the published "
                                               "renderer (weights_0.4.csv row 0), 1 the searched system")

    def validate(self) -> None:
        super().validate()
        if not (np.isfinite(self.a_scale) and 0.0 < abs(self.a_scale) <= 10.0):
            raise FdslError(f"--a-scale must be non-zero and at most 10 in size, got {self.a_scale}")


class SingleImageIFS(IFSFormula):
    """Categories that render as ``--instances`` plain images of their system: no weight rows, no flips."""

    def draws_per_category(self, settings: IFSImageSettings) -> int:
        return settings.instances


@register
class OFDB(SingleImageIFS):
    name = "ofdb"
    summary = "OFDB: FractalDB search, one image per category (Nakamura et al. 2023)"
    SearchSettings = FractalSearchSettings
    RenderSettings = OFDBRenderSettings
    reads_catalogs_of = ("fractal",)  # the published OFDB is FractalDB's search, one image per category

    def sample_category(self, rng, settings: FractalSearchSettings, context):
        return sample_by_filling_rate(rng, settings)

    def maps_for_draw(self, params, draw, settings: OFDBRenderSettings, context):
        maps = np.array(params[:, :6])
        maps[:, 0] *= settings.a_scale
        return maps

    def file_name(self, category, draw, view, settings):
        return f"{category:05d}_00_count_{draw}_flip0.png"
