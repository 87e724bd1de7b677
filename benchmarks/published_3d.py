"""Deliberately faithful, slow baselines for the 3D benchmarks, written from docs/reference-algorithms.md §2 and §5.

No code comes from the published repositories; these follow their described behaviour:

* ``published_search_candidate``: the published 3D category search, one candidate: N = randint(2, 8),
  12 parameters per map ~ U(-1, 1) from the global NumPy RNG, p = |det| / sum, a 10,000-iteration
  Python loop (one uniform per step, first map with u <= cumsum(p), a 3x3 matrix-vector product in
  NumPy), 9,999 points kept (not the origin), one global min-max to [-1, 1], centred, NaN check on y,
  per-axis variance > threshold.
* ``published_cloud`` / ``published_pc_instance``: the instance scripts' clouds (the same loop) and
  PC-FractalDB's mix (7,999 + 2,000 points, each normalised and centred, concatenated, re-centred),
  written as a PLY of doubles as open3d does (open3d is not installed here: plyfile writes the same
  properties).
* ``published_view``: the published renderer draws with OpenGL through EGL (a GPU or Mesa), which is
  not available on this machine.  The baseline is the same pipeline on the CPU in plain NumPy: float32
  vertices times the float32 model-view-projection matrix (as the vertex shader does), clipping,
  perspective divide, viewport, one pixel per point, then a PNG of the frame.
"""

from __future__ import annotations

import io
import math

import numpy as np
from PIL import Image

ITERATIONS = 10_000


def published_chain(maps: np.ndarray, probabilities: np.ndarray, iterations: int) -> np.ndarray:
    """The Python chaos game: iterations - 1 points, the origin not kept."""
    cumulative = np.cumsum(probabilities)
    matrices = [m[:9].reshape(3, 3) for m in maps]
    shifts = [m[9:12] for m in maps]
    point = np.zeros(3)
    points = []
    for _ in range(1, iterations):
        u = np.random.random()
        j = 0
        while j < len(cumulative) - 1 and u > cumulative[j]:
            j += 1
        point = matrices[j] @ point + shifts[j]
        points.append(point)
    return np.array(points)


def published_normalise(points: np.ndarray) -> np.ndarray:
    low, high = points.min(), points.max()
    points = (points - low) / (high - low) * 2.0 - 1.0
    return points - points.mean(axis=0)


def published_search_candidate(variance: float = 0.05) -> bool:
    with np.errstate(all="ignore"):  # divergent candidates overflow, as in the original
        n_maps = np.random.randint(2, 8)
        maps = np.random.uniform(-1.0, 1.0, size=(n_maps, 12))
        det = np.abs(np.linalg.det(maps[:, :9].reshape(-1, 3, 3)))
        cloud = published_normalise(published_chain(maps, det / det.sum(), ITERATIONS))
        if np.isnan(cloud[:, 1]).any():
            return False
        return bool(np.all(cloud.var(axis=0) > variance))


def ply_of_doubles(points: np.ndarray, path) -> None:
    from plyfile import PlyData, PlyElement

    vertices = np.empty(len(points), dtype=[("x", "<f8"), ("y", "<f8"), ("z", "<f8")])
    vertices["x"], vertices["y"], vertices["z"] = points.T
    PlyData([PlyElement.describe(vertices, "vertex")], text=False).write(str(path))


def published_pc_instance(system: np.ndarray, other: np.ndarray, path) -> None:
    main = published_normalise(published_chain(system[:, :12], system[:, 12], int(ITERATIONS * 0.8)))
    mix = published_normalise(published_chain(other[:, :12], other[:, 12], 2001))
    cloud = np.concatenate([main, mix])
    ply_of_doubles(cloud - cloud.mean(axis=0), path)


def _look_at_and_perspective(yaw: float) -> np.ndarray:
    f = 1.0 / math.tan(math.radians(45.0) / 2)
    projection = np.array([[f, 0, 0, 0], [0, f, 0, 0], [0, 0, -101 / 99, -200 / 99], [0, 0, -1, 0]])
    view = np.eye(4)
    view[2, 3] = -4.0
    model = np.eye(4)
    model[[0, 0, 2, 2], [0, 2, 0, 2]] = [math.cos(yaw), math.sin(yaw), -math.sin(yaw), math.cos(yaw)]
    return (projection @ view @ model).astype(np.float32)


def published_view(points: np.ndarray, yaw: float, size: int = 224, encode: bool = True):
    """One frame: float32 MVP per vertex, clip, divide, viewport, 1-px white points on black; PNG bytes."""
    homogeneous = np.concatenate([points.astype(np.float32), np.ones((len(points), 1), np.float32)], axis=1)
    clip = homogeneous @ _look_at_and_perspective(yaw).T
    w = clip[:, 3]
    keep = (w > 0) & (np.abs(clip[:, :3]) <= w[:, None]).all(axis=1)
    ndc = clip[keep, :2] / w[keep, None]
    columns = ((ndc[:, 0] + 1) * size / 2).astype(np.int64)
    rows = size - 1 - ((ndc[:, 1] + 1) * size / 2).astype(np.int64)
    inside = (columns >= 0) & (columns < size) & (rows >= 0) & (rows < size)
    frame = np.zeros((size, size, 3), dtype=np.uint8)
    frame[rows[inside], columns[inside]] = 255
    if not encode:
        return frame
    buffer = io.BytesIO()
    Image.fromarray(frame).save(buffer, format="PNG")
    return buffer.getvalue()
