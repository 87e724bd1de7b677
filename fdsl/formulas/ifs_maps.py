"""Maths shared by the 2D IFS formulas (FractalDB, OFDB, 1p-frac): systems, weight rows, files.

A system is an (N, 7) float64 array, one row a, b, c, d, e, f, p per affine map
x' = a x + b y + e, y' = c x + d y + f, chosen with probability p.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from fdsl.catalog import read_numeric_csv, write_numeric_csv
from fdsl.errors import FdslError

PROBABILITY_TOLERANCE = 1e-6


def determinant_probabilities(maps: np.ndarray) -> np.ndarray:
    """p_i = |a d - b c| / sum: the published rule (a map that shrinks area less is visited more)."""
    det = np.abs(maps[:, 0] * maps[:, 3] - maps[:, 1] * maps[:, 2])
    total = det.sum()
    if not total > 0:
        return np.full(len(maps), 1.0 / len(maps))
    return det / total


def sample_uniform_system(rng: np.random.Generator) -> np.ndarray:
    """The paper's sampler: N in 2..7 maps with a..f ~ U(-1, 1)."""
    n_maps = int(rng.integers(2, 8))
    maps = rng.uniform(-1.0, 1.0, size=(n_maps, 6))
    return np.column_stack([maps, determinant_probabilities(maps)])


def cumulative_probabilities(p: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.cumsum(p), dtype=np.float64)


def weight_rows(delta: float) -> np.ndarray:
    """The 25 published weight rows: identity, then 1-2d, 1-d, 1+d, 1+2d for each of a..f.

    A row multiplies one parameter in every map; a factor of 0 becomes 0.01 (as in
    the published weights_0.5.csv) so that no parameter vanishes.
    """
    factors = [1 - 2 * delta, 1 - delta, 1 + delta, 1 + 2 * delta]
    factors = [0.01 if abs(f) < 1e-12 else f for f in factors]
    rows = [np.ones(6)]
    for parameter in range(6):
        for factor in factors:
            row = np.ones(6)
            row[parameter] = factor
            rows.append(row)
    return np.array(rows)


def check_system(system: np.ndarray, where: str) -> np.ndarray:
    if system.ndim != 2 or system.shape[1] != 7:
        raise FdslError(f"{where}: expected 7 columns a,b,c,d,e,f,p per map, got {system.shape[-1]}")
    if len(system) < 1:
        raise FdslError(f"{where}: no maps; a system needs at least one row a,b,c,d,e,f,p")
    p = system[:, 6]
    if np.any(p < 0):
        raise FdslError(f"{where}: negative probability in column p; probabilities must be >= 0 and sum to 1")
    if abs(p.sum() - 1.0) > PROBABILITY_TOLERANCE:
        raise FdslError(f"{where}: probabilities sum to {p.sum():.9g}, not 1; normalise column p (p_i = |det A_i| / sum)")
    return system


def read_ifs_csv(path: Path) -> np.ndarray:
    return check_system(read_numeric_csv(path, columns=7), str(path))


def write_ifs_csv(system: np.ndarray, path: Path) -> None:
    write_numeric_csv(np.asarray(system, dtype=np.float64), path)
