"""Every 2D family behind the one interface: determinism at 1 vs 2 workers, parameter files, acceptance, preview."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fdsl.formulas import create_formula
from fdsl.catalog.search import search_categories, write_catalog
from fdsl.write.engine import render_dataset

# Tiny but real settings per family: (search overrides, render overrides).
FAMILIES = {
    "rcdb": ({}, {"size": 64, "instances": 3}),
    "visual-atom": ({"max_orbits": 30}, {"size": 64, "instances": 3}),
    "bezier": ({}, {"size": 48, "instances": 3}),
    "perlin": ({"max_octaves": 3}, {"size": 32, "instances": 3}),
    "ofdb": ({"points": 20_000, "size": 128, "fill_rate": 0.15}, {"size": 48, "points": 4_000, "instances": 2}),
    "onepfrac": ({"points": 20_000, "size": 128}, {"size": 48, "points": 4_000, "instances": 2}),
}
CATEGORIES = 3


def _digests(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and p.suffix in {".png", ".csv"}}


def search_settings(name, **changes):
    formula = create_formula(name)
    return formula.SearchSettings(**{**FAMILIES[name][0], **changes})


def render_settings(name, **changes):
    formula = create_formula(name)
    return formula.RenderSettings(**{**FAMILIES[name][1], **changes})


def make_catalog(name, out: Path, seed=5, categories=CATEGORIES, workers=1, **changes) -> Path:
    settings = search_settings(name, **changes)
    result = search_categories(name, settings, seed=seed, categories=categories, workers=workers, progress=False)
    write_catalog(name, settings, seed, result, out)
    return out


@pytest.fixture(scope="module")
def catalogs(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("catalogs")
    return {name: make_catalog(name, root / name) for name in FAMILIES}


@pytest.mark.parametrize("name", FAMILIES)
def test_same_dataset_at_one_and_two_workers(name, catalogs, tmp_path):
    two = make_catalog(name, tmp_path / "cat2", workers=2)
    assert _digests(two) == _digests(catalogs[name])
    settings = render_settings(name)
    render_dataset(name, catalogs[name], tmp_path / "w1", settings, seed=7, workers=1, progress=False)
    report = render_dataset(name, two, tmp_path / "w2", settings, seed=7, workers=2, progress=False)
    # Every family here has --instances images per category (no views): the count is the settings'.
    assert report.written == CATEGORIES * settings.instances
    assert len(list((tmp_path / "w1").rglob("*.png"))) == CATEGORIES * settings.instances
    assert _digests(tmp_path / "w1") == _digests(tmp_path / "w2")
    # A different seed gives different images: the seed reaches every draw.
    render_dataset(name, catalogs[name], tmp_path / "s8", settings, seed=8, progress=False)
    assert _digests(tmp_path / "s8") != _digests(tmp_path / "w1")


def _same(a, b) -> bool:
    if isinstance(a, np.ndarray):
        return a.dtype == b.dtype and np.array_equal(a, b)
    return a == b


@pytest.mark.parametrize("name", FAMILIES)
def test_parameters_round_trip_through_their_files(name, catalogs, tmp_path):
    formula = create_formula(name)
    files = sorted(catalogs[name].glob(f"*{formula.params_suffix}"))
    assert len(files) == CATEGORIES
    settings = search_settings(name)
    result = search_categories(name, settings, seed=5, categories=CATEGORIES, progress=False)
    for path, (_, params, _) in zip(files, result.categories):
        loaded = formula.load_params(path)
        assert _same(loaded, params)
        formula.save_params(loaded, tmp_path / path.name)
        assert (tmp_path / path.name).read_bytes() == path.read_bytes()


@pytest.mark.parametrize("name", FAMILIES)
def test_preview_renders(name, catalogs, tmp_path):
    from fdsl.preview.images import preview

    out = preview(catalogs[name], tmp_path / "sheet.png", rows=2, columns=3, tile=24)
    sheet = np.asarray(Image.open(out).convert("L"))
    tiles = sheet[:24, 48:48 + 3 * 26]
    assert sheet.shape[0] == 2 * 26 and tiles.std() > 5  # drawn tiles, not a blank sheet


@pytest.mark.parametrize("name", ["rcdb", "visual-atom", "bezier", "perlin"])
def test_draws_of_a_category_differ_and_are_reproducible(name, catalogs):
    from fdsl.core.seeding import rng_for

    formula = create_formula(name)
    settings = render_settings(name)
    params = formula.load_params(sorted(catalogs[name].glob("*.csv"))[0])
    draws = [formula.render_draw(params, d, rng_for(1, "render", 0, d), settings, None)[0] for d in range(3)]
    assert all(image.shape == (settings.size, settings.size) and image.dtype == np.uint8 for image in draws)
    assert not np.array_equal(draws[1], draws[2])
    again = formula.render_draw(params, 1, rng_for(1, "render", 0, 1), settings, None)[0]
    assert np.array_equal(again, draws[1])


def _draw(formula, params, draw, settings, seed=1):
    from fdsl.core.seeding import rng_for

    return formula.render_draw(params, draw, rng_for(seed, "render", 0, draw), settings, None)[0]


@pytest.mark.parametrize("name", ["bezier", "perlin"])
def test_draw_zero_is_the_category_itself(name, catalogs):
    """Bezier and Perlin draw 0 uses no randomness: the searched curves / the field at offset (0, 0)."""
    formula = create_formula(name)
    settings = render_settings(name)
    params = formula.load_params(sorted(catalogs[name].glob("*.csv"))[0])
    assert np.array_equal(_draw(formula, params, 0, settings, seed=1), _draw(formula, params, 0, settings, seed=2))
    assert not np.array_equal(_draw(formula, params, 1, settings, seed=1), _draw(formula, params, 1, settings, seed=2))


def test_bezier_draw_zero_draws_the_searched_control_points(catalogs):
    """A curve whose control points lie on the row through pixel centres y = 24.5 is that row, from x 4.5 to 43.5."""
    formula = create_formula("bezier")
    settings = render_settings("bezier", line_width=0.0)  # 48 px, 1-pixel brush
    y = 24.5 / 48
    line = np.array([[4.5 / 48, y, 15 / 48, y, 30 / 48, y, 43.5 / 48, y, 200.0]])
    image = _draw(formula, line, 0, settings)
    rows, cols = np.nonzero(image)
    assert set(image[rows, cols].tolist()) == {200} and set(rows.tolist()) == {24}
    assert cols.min() in (4, 5) and cols.max() in (43, 44) and len(cols) >= 38


@pytest.mark.parametrize("name", ["rcdb", "visual-atom"])
def test_draw_zero_is_placed_where_the_category_says(name, catalogs):
    """Draw 0 uses the category's own centre; later draws re-draw the centre (so ignore the category's)."""
    formula = create_formula(name)
    settings = render_settings(name)
    searched = formula.load_params(sorted(catalogs[name].glob("*.csv"))[0])
    # A few small contours well inside the canvas, so that their centroid is their centre.
    count = {"rcdb": "lines", "visual-atom": "orbits"}[name]
    params = dataclasses.replace(searched, **{count: 5}, radius=30.0, noise=0.5, centre_x=200.0, centre_y=256.0)
    moved = dataclasses.replace(params, centre_x=264.0, centre_y=224.0)
    first, first_moved = _draw(formula, params, 0, settings), _draw(formula, moved, 0, settings)
    assert not np.array_equal(first, first_moved)
    assert np.array_equal(_draw(formula, params, 1, settings), _draw(formula, moved, 1, settings))
    # The drawn pixels follow the category's centre: +64 and -32 reference pixels are +8 and -4 at 64 px.
    background = 255 if name == "rcdb" else 0  # RCDB draws on white, VisualAtom on black
    centroid = lambda image: np.argwhere(image != background).mean(axis=0)  # noqa: E731  (row, column)
    shift = centroid(first_moved) - centroid(first)
    assert abs(shift[1] - 8.0) < 3.0 and abs(shift[0] + 4.0) < 3.0, shift


# ---- acceptance rules ---------------------------------------------------------------------------

def _search(name, categories=12, **changes):
    settings = search_settings(name, **changes)
    return settings, search_categories(name, settings, seed=11, categories=categories, progress=False)


def test_rcdb_acceptance_and_published_ranges():
    settings, result = _search("rcdb", max_vertices=40)
    assert result.candidates > len(result.categories)  # int(Expo(100)) > 40 is common: those are rejected
    for _, p, _ in result.categories:
        assert 2 < p.vertices <= 40 and 1 <= p.lines <= 200
        assert 0 <= p.noise < 4 and 0 <= p.line_width < 0.1 and 0 <= p.radius <= 100
        assert 1 <= p.oval_x < 2 and 1 <= p.oval_y < 2
        assert 56 <= p.centre_x <= 456 and 56 <= p.centre_y <= 456


def test_visual_atom_frequencies_differ_and_ranges_hold():
    _, result = _search("visual-atom", categories=40, max_frequency=2)
    for _, p, _ in result.categories:
        assert p.frequency_1 == 0 or p.frequency_1 != p.frequency_2
        assert 200 <= p.vertices <= 1000 and 1 <= p.orbits <= 30 and 10 <= p.radius <= 60
        assert 0 <= p.centre_x <= 512 and 0 <= p.centre_y <= 512


def test_bezier_curves_span_the_minimum_extent():
    _, result = _search("bezier", min_extent=0.8)
    assert result.candidates > len(result.categories)
    for _, curves, score in result.categories:
        control = curves[:, :8].reshape(-1, 4, 2)
        extent = np.hypot(*(control.max(axis=1) - control.min(axis=1)).T)
        assert extent.min() >= 0.8 and score == pytest.approx(extent.min())
        assert 1 <= len(curves) <= 4 and set(curves[:, 8]) <= set(range(128, 256))


def test_perlin_finest_octave_is_below_the_limit():
    _, result = _search("perlin", max_cycles=12.0)
    assert result.candidates > len(result.categories)
    for _, p, score in result.categories:
        # The finest octave: base frequency x lacunarity^(octaves - 1), along the stretched axis (docs/families.md).
        finest = p.frequency * max(p.aspect, 1 / p.aspect) ** 0.5 * p.lacunarity ** (p.octaves - 1)
        assert finest <= 12.0 and score == pytest.approx(finest)
        assert 1 <= p.octaves <= 3 and 1.0 <= p.frequency <= 12.0


def test_ofdb_categories_pass_the_fractaldb_filling_rate():
    _, result = _search("ofdb", categories=3)
    assert result.candidates > len(result.categories)
    for _, system, score in result.categories:
        assert score >= 0.15 and 2 <= len(system) <= 7


def test_onepfrac_classes_perturb_one_base_and_fill_the_canvas():
    from fdsl.formulas.ifs.onepfrac import base_system

    settings, result = _search("onepfrac", categories=4)
    base = base_system(11, settings)
    assert base.shape == (2, 7)
    singular = np.linalg.svd(base[:, :4].reshape(2, 2, 2), compute_uv=False)
    assert settings.sigma - 0.1 <= np.sum(singular[:, 0] + 2 * singular[:, 1]) <= settings.sigma + 0.1
    for _, system, score in result.categories:
        ratio = system[:, :6] / base[:, :6]
        assert np.all((ratio >= 0.9 - 1e-12) & (ratio <= 1.1 + 1e-12)) and score > 0.05
        assert system[:, 6].sum() == pytest.approx(1.0)


def test_ofdb_keeps_the_published_a_scale_quirk():
    formula = create_formula("ofdb")
    system = np.array([[0.5, 0.1, 0.2, 0.4, 0.1, 0.2, 0.5], [0.3, -0.2, 0.1, 0.6, -0.3, 0.1, 0.5]])
    published = formula.maps_for_draw(system, 0, formula.RenderSettings(), None)
    # weights_0.4.csv row 0 scales a by 1 - 2 * 0.4 = 0.2 and leaves b..f alone.
    assert np.allclose(published[:, 0], [0.1, 0.06]) and np.array_equal(published[:, 1:], system[:, 1:6])
    identity = formula.maps_for_draw(system, 0, formula.RenderSettings(a_scale=1.0), None)
    assert np.array_equal(identity, system[:, :6])


def test_settings_are_plain_dataclasses_with_cli_defaults():
    for name in FAMILIES:
        formula = create_formula(name)
        for cls in (formula.SearchSettings, formula.RenderSettings):
            defaults = cls()
            defaults.validate()
            assert cls.from_dict(defaults.to_dict()) == defaults
            assert all(f.metadata.get("help") for f in dataclasses.fields(cls))
