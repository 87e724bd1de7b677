"""A scene's layout as published (reference §5, ``generate_scene.py``): boxes on the floor of a square room.

- objects: ``--objects`` (15) + Poisson(``--extra-objects`` = 5);
- size: base U(0.75, 1.25) times the aspects (1, U(0.9, 1.1), U(0.9, 1.1)), i.e. (length, width, height);
- centre: x, y ~ U(-room/2, room/2) in a 15-unit room, z = height / 2 (standing on the floor);
- rejection: a centre is re-drawn (up to 100 times) while it is closer to a placed box's centre than
  (|s1_xy| + |s2_xy|) / 2 + 0.25 (half the two footprint diagonals plus a gap: boxes never overlap at any yaw);
- yaw ~ U(-pi, pi); class: a catalog category, file: one of its ``--instances`` PC-FractalDB instances.

Not in the reference, so ours: the size is kept and only the centre is re-drawn, and an object that
finds no place in 100 draws is left out (the manifest counts them).  Sampling order: object count,
then per object size, centre draws, yaw, category, instance.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from fdsl.core.errors import FdslError
from fdsl.formulas.base import Settings, between, option
from fdsl.formulas.ifs3d.pc_fractal import PCFractalRenderSettings

BASE_SIZE = (0.75, 1.25)
ASPECT = (0.9, 1.1)
GAP = 0.25
PLACEMENT_TRIES = 100
MAX_OBJECTS = 1000


@dataclasses.dataclass
class SceneSettings(Settings):
    objects: int = option(15, "objects per scene before the Poisson extra (published numof_object)",
                          within=between(1, MAX_OBJECTS))
    extra_objects: float = option(5.0, "mean of the Poisson number of extra objects",
                                  within=between(0.0, 100.0, why="a Poisson mean"))
    room: float = option(15.0, "side of the square room (object centres ~ U(-room/2, room/2))",
                         within=between(2.0, 1000.0, unit="units", why="objects are about 1 unit"))
    object_points: int = option(2000, "points kept per object in the assembled scene (0: the whole cloud)")
    layout_only: bool = option(False, "write only the published layouts (scene_NNNNN.json), no points")
    instances: int = option(1000, "PC-FractalDB instances per category an object can be (file_name)")
    iterations: int = option(10_000, "chaos-game iterations per object cloud (as 'fdsl render pc-fractal')")
    mix_points: int = option(2000, "points of another category mixed into each object (as 'fdsl render pc-fractal')")
    compat: str = option("none", "'official': the published global mix list of PC-FractalDB", choices=("none", "official"))

    def validate(self) -> None:
        super().validate()
        if self.layout_only:  # a layout names its objects' files and holds no points: these would change nothing
            defaults = {field.name: field.default for field in dataclasses.fields(self)}
            for name in ("object_points", "iterations", "mix_points"):
                if getattr(self, name) != defaults[name]:
                    raise FdslError(f"--{name.replace('_', '-')} is ignored by --layout-only (it shapes the object "
                                    "clouds, which a layout does not hold); drop it")
        if self.object_points < 0 or self.object_points > self.iterations - 1:
            raise FdslError(f"--object-points must be between 0 (all) and the cloud's {self.iterations - 1} points, "
                            f"got {self.object_points}")
        self.cloud_settings().validate()

    def cloud_settings(self) -> PCFractalRenderSettings:
        """The PC-FractalDB settings of the objects: an object is exactly the instance 'fdsl render' writes."""
        return PCFractalRenderSettings(output="ply", iterations=self.iterations, instances=self.instances,
                                       mix_points=self.mix_points, compat=self.compat)


@dataclasses.dataclass
class SceneObject:
    size: list        # (length, width, height), full sizes
    c_pos: list       # centre (x, y, z), z = height / 2
    theta: float      # yaw about +z, radians
    category: int     # catalog index (the semantic class)
    instance: int     # PC-FractalDB instance of that category

    def record(self, names: list) -> dict:
        """The published JSON object: size, c_pos, theta, class_name, file_name."""
        name = names[self.category]
        return {"size": self.size, "c_pos": self.c_pos, "theta": self.theta, "class_name": name,
                "file_name": f"{name}/{name}_{self.instance:04d}.ply"}


def _fits(xy: np.ndarray, size: np.ndarray, placed: list) -> bool:
    reach = math.hypot(size[0], size[1])
    return all(math.hypot(xy[0] - o.c_pos[0], xy[1] - o.c_pos[1])
               >= (reach + math.hypot(o.size[0], o.size[1])) / 2 + GAP for o in placed)


def sample_layout(rng: np.random.Generator, settings: SceneSettings, categories: int) -> tuple[list, int]:
    """(objects, how many found no place) of one scene."""
    count = settings.objects + int(rng.poisson(settings.extra_objects))
    half = settings.room / 2
    placed, dropped = [], 0
    for _ in range(count):
        size = rng.uniform(*BASE_SIZE) * np.array([1.0, rng.uniform(*ASPECT), rng.uniform(*ASPECT)])
        for _ in range(PLACEMENT_TRIES):
            xy = rng.uniform(-half, half, size=2)
            if _fits(xy, size, placed):
                break
        else:
            dropped += 1
            continue
        theta = float(rng.uniform(-math.pi, math.pi))
        category, instance = int(rng.integers(categories)), int(rng.integers(settings.instances))
        placed.append(SceneObject([float(v) for v in size], [float(xy[0]), float(xy[1]), float(size[2] / 2)],
                                  theta, category, instance))
    return placed, dropped


def layout_record(index: int, objects: list, names: list, dropped: int) -> dict:
    """The scene_%05d.json content: the published object records, plus the scene number and left-out count."""
    return {"scene": index, "objects": [o.record(names) for o in objects], "objects_without_room": dropped}
