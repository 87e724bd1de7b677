"""Maths of 3D iterated function systems (MV-FractalDB, ExFractalDB, PC-FractalDB): systems, weights, clouds.

A system is an (N, 13) float64 array, one row per affine map: the 3x3 matrix
a..i (row-major), the translation j, k, l, and the map's probability p; the
published CSV format.  A cloud is the chaos game of a system, normalised by
one min-max over all coordinates to [-1, 1] and centred (reference §2).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from fdsl.formulas.param_files import read_numeric_csv, write_numeric_csv
from fdsl.core.errors import FdslError
from fdsl.formulas.ifs.maps import check_probabilities, cumulative_probabilities, normalised_weights
from fdsl.kernels.numba import ifs as kernel2d
from fdsl.kernels.numba import ifs3d as kernel
from fdsl.kernels.numba.workspace import chain_arrays, cloud_scratch

COLUMNS = 13
PARAMETERS = 12  # a..i, j, k, l
NO_UNIFORMS = np.empty(0)
# Weight files of the published renderer: weights_ins{1 + 24 k}.csv scale each parameter by 1 +- 0.1, ..., 1 +- 0.1 k.
WEIGHT_ROW_COUNTS = (1, 25, 49, 73, 97, 121, 145)
WEIGHT_STEP = 0.1


def determinant_probabilities(maps: np.ndarray) -> np.ndarray:
    """p_i = |det A_i| / sum (the published rule); equal probabilities if every map is singular."""
    a, b, c, d, e, f, g, h, i = maps[:, :9].T  # the cofactor expansion: cheaper than linalg.det on 2..7 maps
    return normalised_weights(np.abs(a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g)))


def sample_system(rng: np.random.Generator) -> np.ndarray:
    """The published sampler: N in 2..7 maps, the 12 parameters of each ~ U(-1, 1)."""
    n_maps = int(rng.integers(2, 8))
    maps = rng.uniform(-1.0, 1.0, size=(n_maps, PARAMETERS))
    return np.column_stack([maps, determinant_probabilities(maps)])


def weight_rows(count: int) -> np.ndarray:
    """The published weight rows: identity, then each of the 12 parameters alone scaled by 1 - 0.1 k ... 1 + 0.1 k.

    ``count`` = 1 + 24 k rows (145: the factors 0.4 ... 1.6 in steps of 0.1).  The
    published files' row order is not documented: ours is the identity, then
    parameter by parameter, factors ascending.
    """
    if count not in WEIGHT_ROW_COUNTS:
        raise FdslError(f"--weights must be one of {', '.join(map(str, WEIGHT_ROW_COUNTS))} (the published "
                        f"weights_ins*.csv files), got {count}")
    reach = (count - 1) // 24
    factors = [1.0 + WEIGHT_STEP * s for s in range(-reach, reach + 1) if s != 0]
    rows = [np.ones(PARAMETERS)]
    for parameter in range(PARAMETERS):
        for factor in factors:
            row = np.ones(PARAMETERS)
            row[parameter] = factor
            rows.append(row)
    return np.array(rows)


def check_system(system: np.ndarray, where: str) -> np.ndarray:
    if len(system) < 1:
        raise FdslError(f"{where}: no maps; a 3D system needs at least one row a..l,p")
    check_probabilities(system[:, -1], where)
    return system


def read_system(path: Path) -> np.ndarray:
    return check_system(read_numeric_csv(path, columns=COLUMNS), str(path))


def write_system(system: np.ndarray, path: Path) -> None:
    write_numeric_csv(np.asarray(system, dtype=np.float64), path)


def run_chain(maps: np.ndarray, probabilities: np.ndarray, key: int, out: np.ndarray) -> int:
    """The raw chaos game of ``len(out)`` points written into ``out``; returns the points kept.

    A divergent chain keeps the points before the 100 that precede the first
    divergent one (the rest of ``out`` is garbage).
    """
    n_points = out.shape[0]
    _, _, choices = chain_arrays(n_points)
    kernel2d.choose_maps(cumulative_probabilities(probabilities), n_points, np.uint64(key), NO_UNIFORMS, choices)
    return kernel.iterate3d(np.ascontiguousarray(maps), choices, n_points, out)


def point_cloud(maps: np.ndarray, probabilities: np.ndarray, points: int, key: int) -> tuple[np.ndarray, int]:
    """A fixed-size cloud of ``points`` points and how many of them the chain kept.

    When the chain diverged, the kept points are repeated to fill the cloud (so a
    dataset's clouds all have one shape) and the caller warns.
    """
    cloud = np.empty((points, 3))
    kept = run_chain(maps, probabilities, key, cloud)
    if kept > 0:
        kernel.normalise_cloud(cloud, kept)
    if kept < points:
        kernel.repeat_kept(cloud, kept, points)
    return cloud, kept


def axis_variances(system: np.ndarray, points: int, key: int) -> np.ndarray | None:
    """Per-axis variances of the system's normalised cloud, or None when the chain diverged (the search's test)."""
    cloud = cloud_scratch(points)
    if run_chain(system[:, :PARAMETERS], system[:, PARAMETERS], key, cloud) < points:
        return None
    out = np.empty(3)
    kernel.normalised_variances(cloud, points, out)
    return out
