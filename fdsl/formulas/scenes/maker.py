"""Scene i of a spec, from (seed, i) only: its layout and, unless layout-only, its assembled points."""

from __future__ import annotations

from fdsl.core.seeding import rng_for
from fdsl.formulas import create_formula
from fdsl.formulas.scenes.assemble import assemble
from fdsl.formulas.scenes.layout import sample_layout


class SceneMaker:
    """Everything one scene needs, built once per process: the catalog, its names and the objects' context."""

    def __init__(self, spec, categories: list, names: list):  # spec: fdsl.catalog.specs.SceneSpec
        self.spec, self.categories, self.names = spec, categories, names
        cloud = create_formula("pc-fractal")
        self.context = None if spec.settings.layout_only else cloud.render_context(categories,
                                                                                   spec.settings.cloud_settings())

    def layout(self, index: int):
        return sample_layout(rng_for(self.spec.seed, "scene", index), self.spec.settings, len(self.categories))

    def scene(self, index: int):
        """Scene ``index``: its objects, how many found no room, and the assembled scene (None: layout only)."""
        objects, dropped = self.layout(index)
        scene = None
        if not self.spec.settings.layout_only:
            scene = assemble(objects, self.categories, self.spec.settings, self.spec.seed, index, self.context)
        return objects, dropped, scene
