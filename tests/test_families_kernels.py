"""The families' hot loops and samplers: rasteriser vs PIL, noise statistics, broken contours, sigma factor."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from fdsl.formulas import create_formula
from fdsl.formulas.contour.base import noise_table
from fdsl.formulas.ifs.maps import sample_sigma_factor_system, sample_singular_values
from fdsl.kernels.numba import noise, raster
from fdsl.core.seeding import rng_for


def test_polylines_match_pil_pixel_for_pixel():
    """Our 1-px lines are PIL's ImageDraw.line (width 1), clipping and off-canvas points included."""
    rng = np.random.default_rng(0)
    for _ in range(200):
        points = rng.uniform(-20, 84, size=(int(rng.integers(2, 6)), 2))
        expected = Image.new("L", (64, 48), 0)
        ImageDraw.Draw(expected).line([tuple(p) for p in points], fill=200, width=1)
        canvas = np.zeros((48, 64), np.uint8)
        raster.draw_polyline(canvas, points[:, 0].copy(), points[:, 1].copy(), np.uint8(200), False, 1)
        assert np.array_equal(canvas, np.asarray(expected))


def test_closed_polyline_and_brush():
    canvas = np.zeros((20, 20), np.uint8)
    xs, ys = np.array([2.0, 15.0, 15.0]), np.array([2.0, 2.0, 15.0])
    raster.draw_polyline(canvas, xs, ys, np.uint8(9), True, 1)
    assert canvas[2, 2:16].all() and canvas[2:16, 15].all() and canvas[8, 8] == 9  # the closing diagonal
    thick = np.zeros((20, 20), np.uint8)
    raster.draw_polyline(thick, xs, ys, np.uint8(9), False, 3)
    assert thick[1:4, 5].all() and not thick[0, 5] and not thick[4, 5]


def test_perlin1_behaves_like_the_published_noise():
    """pnoise1 at random positions: mean 0, sd 0.33, within +-0.95 (reference, section 3); ours reaches +-1.09."""
    gradients = noise_table()
    values = np.array([noise.perlin1(x, gradients) for x in np.random.default_rng(1).uniform(0, 1e4, 20_000)])
    assert abs(values.mean()) < 0.01 and 0.31 < values.std() < 0.345 and np.abs(values).max() <= 1.1
    # It is real gradient noise: zero on the lattice, continuous between.
    assert noise.perlin1(17.0, gradients) == 0.0
    assert abs(noise.perlin1(17.5, gradients) - noise.perlin1(17.5001, gradients)) < 1e-3


def test_permutation_table_is_a_seeded_permutation():
    a, b = noise.permutation_table(np.uint64(3)), noise.permutation_table(np.uint64(4))
    assert sorted(a[:256]) == list(range(256)) and np.array_equal(a[:256], a[256:512])
    assert np.array_equal(a, noise.permutation_table(np.uint64(3))) and not np.array_equal(a, b)


def test_broken_contours_erase_lines():
    from fdsl.formulas.contour.rcdb import RCDBParams

    formula = create_formula("rcdb")
    params = RCDBParams(vertices=60, lines=80, noise=1.0, line_width=0.05, radius=20.0, oval_x=1.2, oval_y=1.3,
                        centre_x=256.0, centre_y=256.0)

    def image(rate):
        settings = formula.RenderSettings(size=128, break_rate=rate)
        return formula.render_draw(params, 0, rng_for(3, "render", 0, 0), settings, None)[0]

    intact, broken, erased = image(0.0), image(0.5), image(1.0)
    drawn = lambda im: np.count_nonzero(im != 255)  # noqa: E731
    assert drawn(intact) > drawn(broken) > 0 and drawn(erased) == 0


@pytest.mark.parametrize("n_maps", [1, 2, 3, 5])
def test_sigma_factor_singular_values_obey_the_constraints(n_maps):
    rng = np.random.default_rng(n_maps)
    for _ in range(300):
        alpha = rng.uniform(0, 3 * n_maps)
        s = sample_singular_values(rng, n_maps, alpha)
        assert np.sum(s[:, 0] + 2 * s[:, 1]) == pytest.approx(alpha)
        assert np.all(s[:, 1] >= -1e-12) and np.all(s[:, 1] <= s[:, 0] + 1e-12) and np.all(s[:, 0] <= 1 + 1e-12)


def test_sigma_sampler_systems_have_the_published_alpha_range():
    rng = np.random.default_rng(0)
    for _ in range(100):
        system = sample_sigma_factor_system(rng)
        n = len(system)
        singular = np.linalg.svd(system[:, :4].reshape(n, 2, 2), compute_uv=False)
        low, high = (5 + n) / 2, (6 + n) / 2  # Anderson & Farrell's default alpha range for n maps
        assert 2 <= n <= 4 and low - 1e-9 <= np.sum(singular[:, 0] + 2 * singular[:, 1]) <= high + 1e-9
        assert system[:, 6].sum() == pytest.approx(1.0) and np.all(np.abs(system[:, 4:6]) <= 1)


def test_fractaldb_search_with_the_sigma_sampler():
    from fdsl.catalog.search import search_categories

    formula = create_formula("fractal")
    settings = formula.SearchSettings(sampler="sigma", points=20_000, size=128, fill_rate=0.1)
    result = search_categories("fractal", settings, seed=2, categories=3, progress=False)
    assert all(2 <= len(system) <= 4 and score >= 0.1 for _, system, score in result.categories)
