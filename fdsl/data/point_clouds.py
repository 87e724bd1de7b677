"""Torch datasets of 3D formula data, on the fly: point clouds for classification, scenes for detection.

``PointCloudDataset`` is ``FormulaDataset`` for families whose views are
clouds (``pc-fractal``, ``fractal3d --output ply``): item j of category c is
the cloud ``fdsl render`` writes as a PLY for the same seed, as an (N, 3)
float32 tensor with its label.  ``SceneDataset`` assembles scene i exactly as
``fdsl scenes`` writes it.  Both depend only on (seed, index): any worker,
rank or epoch gets the same data.  torch is imported here only, so the rest of
fdsl stays torch-free.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torchvision

from fdsl.catalog.params import load_catalog
from fdsl.data.formula import FormulaDataset
from fdsl.core.errors import FdslError
from fdsl.formulas import create_formula
from fdsl.formulas.scenes.assemble import assemble
from fdsl.formulas.scenes.layout import MAX_OBJECTS, SceneSettings
from fdsl.catalog.specs import SceneSpec
from fdsl.formulas.scenes.maker import SceneMaker
from fdsl.core.seeding import rng_for


class PointCloudDataset(FormulaDataset):
    """(float32 tensor (N, 3), category) items: the clouds of a 3D catalog, rendered when asked for.

    ``transform`` (optional) is applied to the tensor, e.g. a random rotation for augmentation (or
    ``target_transform`` / a joint ``transforms(cloud, category)``, as in torchvision's VisionDataset).
    """

    yields_images = False

    def __init__(self, formula_name: str, params_dir: Path, settings=None, seed: int = 0,
                 instances: int | None = None, transform=None, transforms=None, target_transform=None):
        if settings is None:
            settings = create_formula(formula_name).RenderSettings()
            if hasattr(settings, "output"):
                settings = settings.replace(output="ply")
        super().__init__(formula_name, params_dir, settings, seed, instances, transform=transform,
                         transforms=transforms, target_transform=target_transform)

    def __getitem__(self, index: int):
        cloud, target = torch.from_numpy(self.render(index).astype(np.float32)), self.target(index)
        return self.transforms(cloud, target) if self.transforms is not None else (cloud, target)


class SceneDataset(torchvision.datasets.VisionDataset):
    """Scene i as ``fdsl scenes`` writes it, as a dict of tensors, boxes padded to ``max_objects`` rows.

    Keys: ``points`` (P, 3) float32; ``instance``, ``semantic`` (P,) int64; ``boxes`` (max_objects, 8)
    float32 (centre, half sizes, heading, class; zero rows past the scene's objects); ``box_mask``
    (max_objects,) bool; ``votes`` (P, 10) float32.  P varies by scene unless ``points`` is given, in which
    case P points are drawn (with replacement if the scene has fewer) from (seed, index).  ``transform``
    (torchvision's VisionDataset convention, root: the catalog) is applied to that dict, e.g. an augmentation.
    """

    def __init__(self, params_dir: Path, scenes: int, settings: SceneSettings | None = None, seed: int = 0,
                 points: int | None = None, max_objects: int = 64, transform=None):
        super().__init__(str(params_dir), transform=transform)
        settings = settings or SceneSettings()
        if settings.layout_only:
            raise FdslError("a scene dataset needs points: use layout_only=False")
        self.spec = SceneSpec(settings, scenes, seed=seed)
        if points is not None and points < 1:
            raise FdslError(f"points must be at least 1, got {points}")
        if not (1 <= max_objects <= MAX_OBJECTS):
            raise FdslError(f"max_objects must be between 1 and {MAX_OBJECTS}, got {max_objects}")
        catalog = load_catalog(create_formula("pc-fractal"), Path(params_dir))
        self.maker = SceneMaker(self.spec, catalog.categories, catalog.names)
        self.classes, self.points, self.max_objects = catalog.names, points, max_objects

    def __len__(self) -> int:
        return self.spec.scenes

    def __getitem__(self, index: int) -> dict:
        index = int(index)
        objects, _ = self.maker.layout(index)
        if len(objects) > self.max_objects:
            raise FdslError(f"scene {index} has {len(objects)} objects, more than max_objects={self.max_objects}")
        scene = assemble(objects, self.maker.categories, self.spec.settings, self.spec.seed, index,
                         self.maker.context)
        keep = np.arange(len(scene.points))
        if self.points is not None:
            rng = rng_for(self.spec.seed, "scene-sample", index)
            keep = rng.choice(len(scene.points), self.points, replace=len(scene.points) < self.points)
        boxes = np.zeros((self.max_objects, 8), dtype=np.float32)
        boxes[:len(scene.boxes)] = scene.boxes
        mask = np.zeros(self.max_objects, dtype=bool)
        mask[:len(scene.boxes)] = True
        item = {"points": torch.from_numpy(scene.points[keep]), "instance": torch.from_numpy(scene.instance[keep]).long(),
                "semantic": torch.from_numpy(scene.semantic[keep]).long(), "boxes": torch.from_numpy(boxes),
                "box_mask": torch.from_numpy(mask), "votes": torch.from_numpy(scene.votes[keep])}
        return self.transform(item) if self.transform is not None else item
