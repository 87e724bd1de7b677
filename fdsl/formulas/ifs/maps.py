"""Maths shared by the 2D IFS formulas (FractalDB, OFDB, 1p-frac): systems, weight rows, files.

A system is an (N, 7) float64 array, one row a, b, c, d, e, f, p per affine map
x' = a x + b y + e, y' = c x + d y + f, chosen with probability p.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from fdsl.formulas.param_files import read_numeric_csv, write_numeric_csv
from fdsl.core.errors import FdslError

PROBABILITY_TOLERANCE = 1e-6


def determinant_probabilities(maps: np.ndarray) -> np.ndarray:
    """p_i = |a d - b c| / sum: the published rule (a map that shrinks area less is visited more)."""
    return normalised_weights(np.abs(maps[:, 0] * maps[:, 3] - maps[:, 1] * maps[:, 2]))


def normalised_weights(weights: np.ndarray) -> np.ndarray:
    """weights / sum, or equal weights when they sum to nothing (every map singular): 2D and 3D alike."""
    total = weights.sum()
    if not total > 0:
        return np.full(len(weights), 1.0 / len(weights))
    return weights / total


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
    check_probabilities(system[:, -1], where)
    return system


def check_probabilities(p: np.ndarray, where: str) -> None:
    """The last column of any IFS file (2D or 3D): non-negative map probabilities that sum to 1."""
    if np.any(p < 0):
        raise FdslError(f"{where}: negative probability in column p; probabilities must be >= 0 and sum to 1")
    if abs(p.sum() - 1.0) > PROBABILITY_TOLERANCE:
        raise FdslError(f"{where}: probabilities sum to {p.sum():.9g}, not 1; normalise column p (p_i = |det A_i| / sum)")


def read_ifs_csv(path: Path) -> np.ndarray:
    return check_system(read_numeric_csv(path, columns=7), str(path))


def write_ifs_csv(system: np.ndarray, path: Path) -> None:
    write_numeric_csv(np.asarray(system, dtype=np.float64), path)


# ---- Anderson & Farrell's sigma-factor sampler (WACV 2022), also the base of 1p-frac ----------

def sigma_factor_range(n_maps: int) -> tuple[float, float]:
    """The published default range of alpha = sum(s1 + 2 s2) for n maps: U((5 + n) / 2, (6 + n) / 2)."""
    return (5 + n_maps) / 2, (6 + n_maps) / 2


def sample_singular_values(rng: np.random.Generator, n_maps: int, alpha: float) -> np.ndarray:
    """(n, 2) singular values with 0 <= s2 <= s1 <= 1 and sum(s1 + 2 s2) = alpha, by sequential conditional uniforms.

    Map i takes a share t_i of what is left, uniform over the values that still
    let the remaining maps (each able to take 0..3) finish the sum; then
    s1 ~ U(max(t/3, t - 2), min(1, t)) and s2 = (t - s1) / 2, which keeps s2 <= s1 <= 1.
    """
    if not (0.0 <= alpha <= 3.0 * n_maps):
        raise FdslError(f"sigma factor {alpha} is impossible for {n_maps} maps: it must be in [0, {3 * n_maps}]")
    values = np.empty((n_maps, 2))
    left = alpha
    for i in range(n_maps):
        after = n_maps - 1 - i
        share = left if after == 0 else rng.uniform(max(0.0, left - 3.0 * after), min(3.0, left))
        s1 = rng.uniform(max(share / 3.0, share - 2.0), min(1.0, share))
        values[i] = s1, (share - s1) / 2.0
        left -= share
    return values


def _rotation_with_flips(rng: np.random.Generator) -> np.ndarray:
    angle = rng.uniform(0.0, 2.0 * np.pi)
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    return rotation @ np.diag(rng.choice([-1.0, 1.0], size=2))


def sample_sigma_system(rng: np.random.Generator, n_maps: int, alpha: float) -> np.ndarray:
    """A system of maps A = U diag(s1, s2) V (U, V random rotations with sign flips), translations U(-1, 1)."""
    singular = sample_singular_values(rng, n_maps, alpha)
    maps = np.empty((n_maps, 6))
    for i, (s1, s2) in enumerate(singular):
        a = _rotation_with_flips(rng) @ np.diag([s1, s2]) @ _rotation_with_flips(rng)
        maps[i, :4] = a[0, 0], a[0, 1], a[1, 0], a[1, 1]
        maps[i, 4:] = rng.uniform(-1.0, 1.0, size=2)
    return np.column_stack([maps, determinant_probabilities(maps)])


# Anderson & Farrell's command line draws 2 to 4 maps.
SIGMA_MAPS = (2, 4)


def sample_sigma_factor_system(rng: np.random.Generator) -> np.ndarray:
    """The sigma-factor sampler with its published defaults: 2..4 maps, alpha ~ U((5 + n) / 2, (6 + n) / 2)."""
    n_maps = int(rng.integers(SIGMA_MAPS[0], SIGMA_MAPS[1] + 1))
    return sample_sigma_system(rng, n_maps, float(rng.uniform(*sigma_factor_range(n_maps))))
