"""The chain that draws its map choices inside the loop gives exactly the points of the two-pass reference."""

import numpy as np
import pytest

from fdsl.kernels.numba import ifs as kernel

NO_UNIFORMS = np.empty(0)


def _two_pass(maps, cumulative, n_points, key):
    """The reference: every choice by choose_maps (the published rule, tested elsewhere), then the chain,
    the divergence cut written plainly."""
    choices = np.empty(n_points, dtype=np.int32)
    kernel.choose_maps(cumulative, n_points - 1, np.uint64(key), NO_UNIFORMS, choices)
    xs, ys = np.zeros(n_points), np.zeros(n_points)
    x = y = 0.0
    with np.errstate(over="ignore", invalid="ignore"):  # a divergent chain overflows, as the kernel's does
        for t in range(1, n_points):
            a, b, c, d, e, f = maps[choices[t - 1]]
            x, y = a * x + b * y + e, c * x + d * y + f
            xs[t], ys[t] = x, y
    bad = np.flatnonzero(~((np.abs(xs) <= kernel.DIVERGENCE_LIMIT) & (np.abs(ys) <= kernel.DIVERGENCE_LIMIT)))
    valid = n_points if len(bad) == 0 else max(0, bad[0] - kernel.POINTS_DROPPED_BEFORE_DIVERGENCE)
    return valid, xs, ys


@pytest.mark.parametrize("n_maps", [1, 2, 4, 7])
@pytest.mark.parametrize("n_points", [2, 3, 5000, 5001])
def test_drawn_choices_equal_the_two_pass_chain(n_maps, n_points):
    rng = np.random.default_rng(n_maps * 10_000 + n_points)
    maps = rng.uniform(-0.9, 0.9, (n_maps, 6)) * np.array([0.6, 0.6, 0.6, 0.6, 1, 1])
    p = rng.uniform(0.1, 1, n_maps)
    cumulative = np.cumsum(p / p.sum())
    xs, ys, scratch = np.empty(n_points), np.empty(n_points), np.empty(n_points, dtype=np.int32)
    valid, *box = kernel.iterate(maps, cumulative, n_points, np.uint64(5), NO_UNIFORMS, xs, ys, scratch)
    expected_valid, ex, ey = _two_pass(maps, cumulative, n_points, 5)
    assert valid == expected_valid == n_points
    assert np.array_equal(xs, ex) and np.array_equal(ys, ey)  # bit for bit: no fused multiply-add, same order
    assert box == [ex.min(), ex.max(), ey.min(), ey.max()]


def test_a_divergent_chain_is_cut_where_the_two_pass_chain_is():
    maps = np.array([[2.5, 0.3, -0.2, 2.4, 0.5, 0.1], [0.8, 0.0, 0.0, 0.8, 0.1, 0.0]])  # expands on average
    cumulative = np.array([0.5, 1.0])
    n_points = 20_001
    xs, ys, scratch = np.empty(n_points), np.empty(n_points), np.empty(n_points, dtype=np.int32)
    valid, *box = kernel.iterate(maps, cumulative, n_points, np.uint64(3), NO_UNIFORMS, xs, ys, scratch)
    expected_valid, ex, ey = _two_pass(maps, cumulative, n_points, 3)
    assert 0 < valid == expected_valid < n_points
    assert np.array_equal(xs[:valid], ex[:valid]) and np.array_equal(ys[:valid], ey[:valid])
    assert box == [ex[:valid].min(), ex[:valid].max(), ey[:valid].min(), ey[:valid].max()]
