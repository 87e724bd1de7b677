"""A scene assembled: each box filled with its PC-FractalDB instance, with per-point labels, boxes and votes.

Object k's cloud is the instance ``fdsl render pc-fractal`` writes for its
(category, instance) with the same seed, optionally subsampled to
``--object-points``; it is stretched per axis so that its bounding box is the
object's box, turned by theta about +z and moved to the box centre.  So every
point of object k lies in box k (tested), and boxes never overlap (the layout's
rejection rule).

Arrays (the layout VoteNet's SUN RGB-D loader reads):
- points (P, 3) float32, z up;
- instance (P,) int32: object k + 1 (0 is reserved for "no object");
- semantic (P,) int32: the object's category (catalog index);
- boxes (K, 8) float32: centre x, y, z, half length, half width, half height, heading theta, class;
  a point p is in box k when |R_z(-theta) (p - centre)| <= half size on every axis;
- votes (P, 10) float32: 1, then the offset centre - p three times (VoteNet's per-point votes).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from fdsl.formulas import create_formula
from fdsl.formulas.scenes.layout import SceneObject, SceneSettings
from fdsl.core.seeding import rng_for

VOTE_COPIES = 3


@dataclasses.dataclass
class Scene:
    points: np.ndarray
    instance: np.ndarray
    semantic: np.ndarray
    boxes: np.ndarray
    votes: np.ndarray


def fit_to_box(cloud: np.ndarray, obj: SceneObject) -> np.ndarray:
    """The cloud stretched onto the box (its bounding box becomes the box), turned by theta, moved to the centre."""
    low, high = cloud.min(axis=0), cloud.max(axis=0)
    extent = np.where(high > low, high - low, 1.0)
    local = (cloud - (low + high) / 2) / extent * np.asarray(obj.size)
    c, s = math.cos(obj.theta), math.sin(obj.theta)
    turned = np.column_stack([c * local[:, 0] - s * local[:, 1], s * local[:, 0] + c * local[:, 1], local[:, 2]])
    return turned + np.asarray(obj.c_pos)


def object_cloud(categories: list, obj: SceneObject, settings: SceneSettings, seed: int, context,
                 keep: np.random.Generator) -> np.ndarray:
    formula = create_formula("pc-fractal")
    draw, _ = formula.render_draw(categories[obj.category], obj.instance,
                                  rng_for(seed, "render", obj.category, obj.instance), settings.cloud_settings(),
                                  context)
    cloud = draw.points
    if 0 < settings.object_points < len(cloud):
        cloud = cloud[np.sort(keep.choice(len(cloud), settings.object_points, replace=False))]
    return cloud


def assemble(objects: list, categories: list, settings: SceneSettings, seed: int, scene: int, context) -> Scene:
    """The points, labels, boxes and votes of one scene's layout."""
    keep = rng_for(seed, "scene-points", scene)
    parts, instance, semantic, votes = [], [], [], []
    for k, obj in enumerate(objects):
        cloud = fit_to_box(object_cloud(categories, obj, settings, seed, context, keep), obj)
        parts.append(cloud)
        instance.append(np.full(len(cloud), k + 1, dtype=np.int32))
        semantic.append(np.full(len(cloud), obj.category, dtype=np.int32))
        offsets = np.asarray(obj.c_pos) - cloud
        votes.append(np.column_stack([np.ones(len(cloud)), *([offsets] * VOTE_COPIES)]))
    boxes = np.array([[*o.c_pos, *(np.asarray(o.size) / 2), o.theta, o.category] for o in objects],
                     dtype=np.float64).reshape(-1, 8)
    if not parts:
        empty = np.zeros((0, 3), dtype=np.float32)
        return Scene(empty, np.zeros(0, np.int32), np.zeros(0, np.int32), boxes.astype(np.float32),
                     np.zeros((0, 1 + 3 * VOTE_COPIES), np.float32))
    return Scene(np.concatenate(parts).astype(np.float32), np.concatenate(instance), np.concatenate(semantic),
                 boxes.astype(np.float32), np.concatenate(votes).astype(np.float32))


def points_in_box(points: np.ndarray, box: np.ndarray, tolerance: float = 1e-4) -> np.ndarray:
    """Which points lie inside the oriented box (centre, half sizes, heading, class)."""
    c, s = math.cos(box[6]), math.sin(box[6])
    d = points - box[:3]
    local = np.column_stack([c * d[:, 0] + s * d[:, 1], -s * d[:, 0] + c * d[:, 1], d[:, 2]])
    return np.all(np.abs(local) <= box[3:6] + tolerance, axis=1)
