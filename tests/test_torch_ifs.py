"""The batched torch IFS renderer: randomness, determinism, FractalDB semantics, agreement with numba."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fdsl.core.errors import FdslError
from fdsl.formulas import create_formula
from fdsl.formulas.ifs.fractal import FractalRenderSettings
from fdsl.kernels.torch import ifs as torch_ifs
from fdsl.core.checks import resolve_torch_device as resolve_device
from fdsl.write.engine import render_units
from helpers import OFFICIAL_SAMPLE

DATA = OFFICIAL_SAMPLE
# A contractive 3-map system (a Sierpinski-like triangle) and a 2-map one with a different shape.
TRIANGLE = np.array([[0.5, 0, 0, 0.5, 0, 0, 1 / 3], [0.5, 0, 0, 0.5, 0.5, 0, 1 / 3],
                     [0.5, 0, 0, 0.5, 0.25, 0.5, 1 / 3]])
SPIRAL = np.array([[0.6, -0.5, 0.5, 0.6, 0.1, 0.0, 0.8], [0.3, 0.0, 0.0, 0.3, 0.7, 0.2, 0.2]])
SMALL = dict(size=40, points=3000, pad=2)


def renderer(categories=(TRIANGLE, SPIRAL), seed=0, **settings):
    return create_formula("fractal").create_torch_renderer(list(categories), FractalRenderSettings(**{**SMALL, **settings}), seed,
                                 "cpu")


def draw(r, categories, draws):
    images, warnings = r.render_draws(torch.tensor(categories), torch.tensor(draws))
    return images.numpy(), warnings


def test_mix32_is_lowbias32_on_unsigned_words():
    x = torch.randint(-2**31, 2**31 - 1, (4096,), dtype=torch.int32)
    v = x.numpy().view(np.uint32).copy()
    with np.errstate(over="ignore"):
        v ^= v >> np.uint32(16)
        v *= np.uint32(0x7FEB352D)
        v ^= v >> np.uint32(15)
        v *= np.uint32(0x846CA68B)
        v ^= v >> np.uint32(16)
    assert np.array_equal(torch_ifs.mix32(x).numpy().view(np.uint32), v)


def test_uniforms_and_masks_are_in_range_and_balanced():
    words = torch_ifs.mix32(torch.arange(20000, dtype=torch.int32))
    u = torch_ifs.uniform_from_word(words)
    masks = torch_ifs.patch_mask_from_word(words)
    assert 0.0 <= float(u.min()) and float(u.max()) < 1.0 and abs(float(u.mean()) - 0.5) < 0.01
    assert int(masks.min()) >= 1 and int(masks.max()) <= 511


def test_image_is_independent_of_batch_composition_size_and_chunking():
    r = renderer(draw="patch-gray")
    batch, _ = draw(r, [0, 1, 0, 1, 0], [3, 7, 12, 0, 3])
    alone = [draw(r, [c], [d])[0][0] for c, d in [(0, 3), (1, 7), (0, 12)]]
    for k in range(3):
        assert np.array_equal(batch[k], alone[k])
    assert np.array_equal(batch[0], batch[4])  # the same (category, draw) twice in one batch
    # Tiny chunks (one image per chunk) give the same pixels as one big chunk.
    s = r.settings
    cats, draws = torch.tensor([0, 1, 0]), torch.tensor([3, 7, 12])
    maps = r.maps[cats] * r.weights[draws // r.draws_per_row][:, None, :]
    args = (maps, r.cumulative[cats], r.map_counts[cats], torch_ifs.stream_keys(r.base_key, cats, draws))
    kwargs = dict(size=s.size, pad=s.pad, points=s.points, patch=True, colours=r.colours)
    chunked = torch_ifs.render_batch(*args, **kwargs, max_slots=1).canvas
    whole = torch_ifs.render_batch(*args, **kwargs).canvas
    assert torch.equal(chunked, whole)


def test_same_seed_same_images_other_seed_other_images():
    a, _ = draw(renderer(seed=5), [0, 1], [2, 9])
    b, _ = draw(renderer(seed=5), [0, 1], [2, 9])
    c, _ = draw(renderer(seed=6), [0, 1], [2, 9])
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)
    # Same category, different draws (other patch masks, other chains) differ too.
    assert not np.array_equal(draw(renderer(seed=5), [0], [3])[0], draw(renderer(seed=5), [0], [4])[0])


def test_weight_rows_multiply_one_parameter_in_every_map():
    # delta 0.5: row 2 multiplies a by 0.5 (exact in binary), so pre-scaled maps must give the same pixels.
    scaled = TRIANGLE.copy()
    scaled[:, 0] *= 0.5
    r = renderer([TRIANGLE], weight_delta=0.5, patches=1)
    r_identity = renderer([scaled], weight_delta=0.0, patches=1)  # delta 0: every row is the identity
    assert np.array_equal(draw(r, [0], [2])[0], draw(r_identity, [0], [2])[0])
    assert not np.array_equal(draw(r, [0], [2])[0], draw(r, [0], [0])[0])


def test_flips_match_the_cpu_formula_views():
    r = renderer(flips=4)
    formula = create_formula("fractal")
    images, _ = r.render_draws(torch.tensor([1]), torch.tensor([5]))
    for v in range(4):
        ours = r.view(images, torch.tensor([v]))[0].numpy()
        assert np.array_equal(ours, formula.view(images[0].numpy(), v, r.settings))


def test_render_units_gives_writer_units_with_the_formula_file_names():
    r = renderer(flips=2)
    formula = create_formula("fractal")
    results = render_units(r, [(1, 4), (0, 0)], batch_size=1)
    names = [name for name, _ in results[0][0]]
    assert names == [formula.file_name(1, 4, v, r.settings) for v in range(2)]
    first, flipped = results[0][0][0][1], results[0][0][1][1]
    assert np.array_equal(flipped, first[::-1]) and first.dtype == np.uint8 and first.shape == (40, 40)
    assert np.array_equal(first, draw(r, [1], [4])[0][0])


def test_patch_rule_last_point_wins_and_bits_are_row_major_msb_first():
    # Points of order 0 and 1 on one pixel (masks 0b111111111 then 0b100000001), a third at the far corner.
    xs = torch.tensor([0.0, 0.0, 1.0]).reshape(1, 3, 1)
    ys = torch.tensor([0.0, 0.0, 1.0]).reshape(1, 3, 1)
    masks = torch.tensor([511, 0b100000001, 1], dtype=torch.int16).reshape(1, 3, 1)
    order = torch.arange(3).reshape(1, 3, 1)
    valid = torch.ones(1, 3, 1, dtype=torch.bool)
    colours = torch.tensor([[127]], dtype=torch.uint8)
    out = torch_ifs.splat(xs, ys, masks, order, valid, size=12, pad=2, patch=True, colours=colours)
    canvas = out.canvas[0, :, :, 0].numpy()
    # Point (0, 0) -> pixel (pad, pad) -> patch top-left at (3, 3); the later mask keeps only two corners.
    assert canvas[3:6, 3:6].tolist() == [[127, 0, 0], [0, 0, 0], [0, 0, 127]]
    # Point (1, 1) -> pixel (size - pad) = 10 -> patch at 11: only its top-left cell (bit 8, clear) fits.
    assert canvas[11, 11] == 0 and int(out.valid_points[0]) == 3


def test_point_mode_lights_single_pixels_and_colour_mode_uses_the_palette():
    gray, _ = draw(renderer(draw="point-gray"), [0], [0])
    assert set(np.unique(gray)) == {0, 127}
    colour, _ = draw(renderer(draw="point-color"), [0], [0])
    assert colour.shape == (1, 40, 40, 3)
    from fdsl.formulas.ifs.base import point_colours
    palette = {tuple(c) for c in point_colours(True)} | {(0, 0, 0)}
    assert {tuple(p) for p in colour.reshape(-1, 3)} <= palette and len(np.unique(colour.reshape(-1, 3), axis=0)) > 10


def test_divergent_and_degenerate_systems_warn_instead_of_failing():
    expanding = np.array([[3.0, 0, 0, 3.0, 1, 1, 1.0]])  # overflows float32 within a chain
    line = np.array([[0.5, 0, 0, 0.0, 0.5, 0.0, 0.5], [0.5, 0, 0, 0.0, 0.0, 0.0, 0.5]])  # y is always 0
    images, warnings = draw(renderer([expanding, line]), [0, 1], [0, 0])
    assert warnings[0].startswith("diverged") and warnings[1].startswith("degenerate")
    assert images[1].any()


def test_bad_requests_raise_one_line_errors():
    with pytest.raises(FdslError, match="compat"):
        renderer(compat="official")
    with pytest.raises(FdslError, match="no torch"):
        create_formula("rcdb").create_torch_renderer([TRIANGLE], create_formula("rcdb").RenderSettings(), 0, "cpu")
    with pytest.raises(FdslError, match="out of range"):
        renderer().render_draws(torch.tensor([2]), torch.tensor([0]))
    with pytest.raises(FdslError, match="NaN"):
        renderer([np.full((2, 7), np.nan)])
    with pytest.raises(FdslError, match="unknown device"):
        resolve_device("tpu-ish")
    if not torch.cuda.is_available():
        with pytest.raises(FdslError, match="no CUDA"):
            resolve_device("cuda")


@pytest.mark.parametrize("mode", ["patch-gray", "point-gray"])
def test_agrees_with_the_numba_renderer_on_published_categories(mode):
    """Tolerances (docs/gpu.md): mean filling rate within 6% of numba's; mean occupied-pixel IoU
    at least 0.95 x the numba-vs-numba noise floor.  Small sizes here, so the bounds are loose."""
    from fdsl.formulas.ifs.agreement import measure, summary

    formula = create_formula("fractal")
    categories = [formula.load_params(p) for p in sorted(DATA.glob("*.csv"))[:12]]
    settings = FractalRenderSettings(size=96, points=20_000, draw=mode)
    s = summary(measure(categories, settings, draws_per_category=2, device="cpu"))
    assert abs(s["fill_ratio"] - 1.0) < 0.06, s
    assert s["mean_iou_torch_numba"] > 0.95 * s["mean_iou_noise_floor"], s


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (none visible to torch)")
def test_cuda_gives_the_cpu_pixels():
    """Eager ops are IEEE float32 and exact integer ops on both devices: expected bit-identical."""
    settings = FractalRenderSettings(**SMALL, draw="patch-color")
    cats, draws = torch.tensor([0, 1, 1]), torch.tensor([0, 3, 11])
    cpu, _ = create_formula("fractal").create_torch_renderer([TRIANGLE, SPIRAL], settings, 3, "cpu").render_draws(cats, draws)
    gpu, _ = create_formula("fractal").create_torch_renderer([TRIANGLE, SPIRAL], settings, 3, "cuda").render_draws(cats, draws)
    mismatch = (cpu != gpu.cpu()).float().mean().item()
    assert mismatch == 0.0, f"{mismatch:.2%} of pixels differ between CPU and CUDA"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (none visible to torch)")
def test_cuda_compiled_step_is_deterministic_and_batch_independent():
    r = create_formula("fractal").create_torch_renderer([TRIANGLE, SPIRAL], FractalRenderSettings(**SMALL), 3, "cuda")
    r.compiled = True
    batch, _ = r.render_draws(torch.tensor([0, 1, 1]), torch.tensor([0, 3, 11]))
    alone, _ = r.render_draws(torch.tensor([1]), torch.tensor([3]))
    assert torch.equal(batch[1], alone[0])
