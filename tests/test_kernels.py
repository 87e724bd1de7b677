"""Kernel-level facts of fdsl.kernels.numba.ifs: masks, overwrite, divergence, degenerate axes, filling rate."""

import numpy as np
import pytest

from fdsl.kernels.numba import ifs as kernel

GREY = np.full((1, 1), 127, dtype=np.uint8)
NO_UNIFORMS = np.empty(0)


def _buffers(n):
    return np.empty(n), np.empty(n), np.empty(n, dtype=np.int32)


def _plain_pixel(v, vmin, vmax, size, pad):
    return pad if vmax == vmin else int(((v - vmin) / (vmax - vmin)) * (size - 2 * pad) + pad)


def _plain_patches(xs, ys, size, pad, mask_key, channels=1):
    """Overwrite semantics written plainly: each 3x3 mask cell is the colour or black, later points win."""
    canvas = np.zeros((size, size, channels), dtype=np.uint8)
    box = xs.min(), xs.max(), ys.min(), ys.max()
    for t in range(len(xs)):
        col = _plain_pixel(xs[t], box[0], box[1], size, pad) + 1
        row = _plain_pixel(ys[t], box[2], box[3], size, pad) + 1
        mask = int(kernel.patch_mask(np.uint64(mask_key), t))
        for cell in range(9):
            r, c = row + cell // 3, col + cell % 3
            if r < size and c < size:
                canvas[r, c] = 127 * ((mask >> (8 - cell)) & 1)
    return canvas


def test_patch_masks_cover_1_to_511_and_are_never_empty():
    masks = np.array([int(kernel.patch_mask(np.uint64(17), t)) for t in range(20_000)])
    assert masks.min() == 1 and masks.max() == 511
    assert len(np.unique(masks)) == 511
    # Uniform: each value is expected ~39 times in 20k draws.
    assert np.bincount(masks, minlength=512)[1:].min() > 10


def _overlapping_pair_key():
    """A mask key for which point 1's patch clears a cell that point 0's patch lit (so overwrite shows)."""
    for key in range(100):
        m0, m1 = int(kernel.patch_mask(np.uint64(key), 0)), int(kernel.patch_mask(np.uint64(key), 1))
        # Point 1 sits one pixel right and down: its cell (0, 0) is point 0's cell (1, 1), bit 4 of m0.
        if (m0 >> 4) & 1 and not (m1 >> 8) & 1:
            return key
    raise AssertionError("no key found")


@pytest.mark.parametrize("pad, channels", [(6, 1), (2, 1), (6, 3)])
def test_later_patches_overwrite_earlier_ones_with_black(pad, channels):
    # Three points: (0, 0), (0.25, 0.25), (1, 1) on a 16-pixel canvas; with pad 6 the first two
    # patches overlap by a 2x2 block.  The 3-point box is (0, 1) on both axes.
    size = 16 if pad == 6 else 10
    xs = np.array([0.0, 0.25, 1.0])
    ys = xs.copy()
    span = size - 2 * pad
    assert int(0.25 * span + pad) == pad + 1
    key = _overlapping_pair_key()
    canvas = np.zeros((size, size, channels), dtype=np.uint8)
    colours = np.full((1, channels), 127, dtype=np.uint8)
    kernel.splat_patches(xs, ys, 3, 0.0, 1.0, 0.0, 1.0, pad, colours, np.uint64(key), canvas, np.empty(3, np.int32),
                         np.empty(3, np.uint16))
    expected = _plain_patches(xs, ys, size, pad, key, channels)
    assert np.array_equal(canvas, expected)
    # The overwritten cell: lit by point 0, cleared by point 1.
    assert canvas[pad + 2, pad + 2, 0] == 0


def test_patch_render_of_a_real_chain_matches_the_plain_overwrite_loop():
    maps = np.array([[0.5, 0, 0, 0.5, 0, 0], [0.5, 0, 0, 0.5, 0.5, 0], [0.5, 0, 0, 0.5, 0.25, 0.5]])
    cumulative = np.cumsum([1 / 3, 1 / 3, 1 / 3])
    xs, ys, scratch = _buffers(3000)
    valid, *box = kernel.iterate(maps, cumulative, 3000, np.uint64(9), NO_UNIFORMS, xs, ys, scratch)
    assert valid == 3000
    canvas = np.zeros((64, 64, 1), dtype=np.uint8)
    kernel.splat_patches(xs, ys, valid, *box, 6, GREY, np.uint64(4), canvas, scratch,
                         np.empty(3000, np.uint16))
    assert np.array_equal(canvas, _plain_patches(xs, ys, 64, 6, 4))


def test_divergence_keeps_the_points_before_the_100_preceding_the_first_divergent_one():
    maps = np.array([[2.0, 0, 0, 1.5, 1.0, 1.0]])  # x doubles: past 1e150 near step 500
    xs, ys, scratch = _buffers(2000)
    valid, xmin, xmax, ymin, ymax = kernel.iterate(maps, np.array([1.0]), 2000, np.uint64(1), NO_UNIFORMS,
                                                   xs, ys, scratch)
    x, first = 0.0, None
    for t in range(1, 2000):
        x = 2.0 * x + 1.0
        if abs(x) > kernel.DIVERGENCE_LIMIT:
            first = t
            break
    assert valid == first - kernel.POINTS_DROPPED_BEFORE_DIVERGENCE
    assert xmin == 0.0 and xmax == xs[valid - 1]  # the box of the kept points only
    assert ymax == ys[valid - 1]


def test_degenerate_axis_is_drawn_on_the_pad_line():
    maps = np.array([[0.5, 0, 0, 0, 0.5, 0], [0.5, 0, 0, 0, -0.3, 0]])  # y stays 0
    xs, ys, scratch = _buffers(500)
    valid, *box = kernel.iterate(maps, np.array([0.5, 1.0]), 500, np.uint64(3), NO_UNIFORMS, xs, ys, scratch)
    assert box[2] == box[3] == 0.0
    canvas = np.zeros((32, 32, 1), dtype=np.uint8)
    kernel.splat_points(xs, ys, valid, *box, 5, GREY, canvas, scratch)
    rows = np.nonzero(canvas[:, :, 0].any(axis=1))[0]
    assert list(rows) == [5]
    assert canvas[5, :, 0].sum() > 127 * 5


def test_pad_zero_clips_the_farthest_point_instead_of_writing_past_the_canvas():
    xs = np.array([0.0, 0.5, 1.0])
    ys = np.array([0.0, 0.5, 1.0])
    canvas = np.zeros((9, 8, 1), dtype=np.uint8)  # one spare row catches a wrapped write
    view = canvas[:8]
    kernel.splat_points(xs, ys, 3, 0.0, 1.0, 0.0, 1.0, 0, GREY, view, np.empty(3, np.int32))
    assert view[0, 0, 0] == 127 and view[4, 4, 0] == 127
    assert canvas.sum() == 2 * 127


def _plain_filling_rate(xs, ys, valid, size, pad):
    box = xs[:valid].min(), xs[:valid].max(), ys[:valid].min(), ys[:valid].max()
    cols = [_plain_pixel(v, box[0], box[1], size, pad) for v in xs[:valid]]
    rows = [_plain_pixel(v, box[2], box[3], size, pad) for v in ys[:valid]]
    return len(set(zip(rows, cols)))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_count_lit_points_equals_a_plain_count_and_exits_early(seed):
    rng = np.random.default_rng(seed)
    maps = rng.uniform(-1, 1, size=(4, 6))
    p = np.abs(maps[:, 0] * maps[:, 3] - maps[:, 1] * maps[:, 2])
    xs, ys, scratch = _buffers(20_000)
    valid, *box = kernel.iterate(maps, np.cumsum(p / p.sum()), 20_000, np.uint64(seed), NO_UNIFORMS, xs, ys, scratch)
    plain = _plain_filling_rate(xs, ys, valid, 128, 6)
    field = np.empty((128, 128), dtype=np.uint8)
    assert kernel.count_lit_points(xs, ys, valid, *box, 128, 6, 0, field, scratch) == plain
    assert kernel.count_lit_points(xs, ys, valid, *box, 128, 6, plain, field, scratch) == plain
    assert kernel.count_lit_points(xs, ys, valid, *box, 128, 6, plain + 1, field, scratch) <= plain


def test_integer_map_choice_equals_the_float_rule():
    cumulative = np.cumsum([0.1, 0.25, 0.05, 0.3, 0.2, 0.1])
    choices = np.empty(4001, dtype=np.int32)
    kernel.choose_maps(cumulative, 4001, np.uint64(123), NO_UNIFORMS, choices)
    uniforms = np.array([int(kernel.choice_draw(np.uint64(123), t)) / 2**31 for t in range(4001)])
    expected = [min(int(np.searchsorted(cumulative, u, side="left")), 5) for u in uniforms]
    assert list(choices) == expected
    assert set(choices) == set(range(6))


def test_fixed_uniforms_pick_the_first_map_whose_cumulative_is_at_least_u():
    cumulative = np.array([0.25, 0.5, 1.0])
    uniforms = np.array([0.0, 0.25, 0.2500001, 0.5, 0.75, 1.0, 1.0 + 1e-12])
    choices = np.empty(len(uniforms), dtype=np.int32)
    kernel.choose_maps(cumulative, len(uniforms), np.uint64(0), uniforms, choices)
    assert list(choices) == [0, 0, 1, 1, 2, 2, 2]


def test_many_maps_use_the_general_choice_path():
    cumulative = np.cumsum(np.full(9, 1 / 9))
    choices = np.empty(999, dtype=np.int32)
    kernel.choose_maps(cumulative, 999, np.uint64(5), NO_UNIFORMS, choices)
    uniforms = np.array([int(kernel.choice_draw(np.uint64(5), t)) / 2**31 for t in range(999)])
    assert list(choices) == [min(int(np.searchsorted(cumulative, u)), 8) for u in uniforms]


@pytest.mark.parametrize("n", [0, 1, 2, 7, 1000])
def test_the_mask_pass_gives_patch_mask_of_every_point(n):
    masks = np.zeros(n + 1, dtype=np.uint16)
    kernel.patch_masks(np.uint64(23), n, masks)
    assert [int(m) for m in masks[:n]] == [int(kernel.patch_mask(np.uint64(23), t)) for t in range(n)]
    assert masks[n] == 0  # nothing past n is written
