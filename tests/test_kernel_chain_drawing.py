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


def test_tiny_probabilities_put_several_thresholds_in_one_bucket_and_still_match():
    """Maps with p ~ 1e-7 share a choice-table bucket with their neighbours: the walk must cross them all."""
    maps = np.random.default_rng(8).uniform(-0.5, 0.5, (7, 6))
    p = np.array([0.3, 1e-7, 2e-7, 1e-7, 0.4, 1e-9, 0.3])
    cumulative = np.cumsum(p / p.sum())
    n_points = 200_001
    xs, ys, scratch = np.empty(n_points), np.empty(n_points), np.empty(n_points, dtype=np.int32)
    kernel.iterate(maps, cumulative, n_points, np.uint64(11), NO_UNIFORMS, xs, ys, scratch)
    _, ex, ey = _two_pass(maps, cumulative, n_points, 11)
    assert np.array_equal(xs, ex) and np.array_equal(ys, ey)


def test_the_choice_table_gives_the_map_of_every_draw_at_bucket_edges():
    thresholds = kernel.integer_thresholds(np.cumsum([0.2, 1e-8, 0.3, 0.0, 0.5 - 1e-8, 0.0, 0.0][:6] + [0.0]))
    table, padded = kernel.choice_table(thresholds)
    edges = np.arange(1 << kernel.CHOICE_BUCKET_BITS, dtype=np.int64) << (31 - kernel.CHOICE_BUCKET_BITS)
    draws = np.unique(np.clip(np.concatenate([edges - 1, edges, edges + 1, thresholds, thresholds + 1]),
                              0, 2**31 - 1))
    for m in draws:
        walked = int(table[m >> (31 - kernel.CHOICE_BUCKET_BITS)])
        while m > padded[walked]:
            walked += 1
        assert walked == int(np.sum(m > thresholds)), m


def test_non_finite_maps_take_the_checked_chain_and_keep_no_point():
    maps = np.array([[np.nan, 0, 0, 0.5, 0, 0], [0.5, 0, 0, 0.5, 0.5, 0.5]])
    xs, ys, scratch = np.empty(1000), np.empty(1000), np.empty(1000, dtype=np.int32)
    valid, *box = kernel.iterate(maps, np.array([0.5, 1.0]), 1000, np.uint64(2), NO_UNIFORMS, xs, ys, scratch)
    _, ex, ey = _two_pass(maps, np.array([0.5, 1.0]), 1000, 2)
    first_bad = np.flatnonzero(np.isnan(ex))[0]
    assert valid == max(0, first_bad - kernel.POINTS_DROPPED_BEFORE_DIVERGENCE)
