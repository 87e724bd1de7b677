"""`--compat official` point-gray images equal a plain re-statement of the published algorithm."""


import numpy as np
import pytest

from fdsl.formulas.ifs.base import render_system
from fdsl.formulas.ifs.fractal import FractalDB, FractalRenderSettings
from fdsl.formulas.ifs.maps import read_ifs_csv
from helpers import OFFICIAL_SAMPLE

OFFICIAL = OFFICIAL_SAMPLE  # vendored: these checks run on every clone
SIZE, POINTS, PAD = 128, 20_000, 6


def published_point_gray(system: np.ndarray, weight_row: np.ndarray) -> np.ndarray:
    """The published point-gray render, written plainly (slow): the reference for fdsl."""
    maps = system[:, :6] * weight_row[None, :]
    uniforms = np.random.RandomState(100).random_sample(POINTS)
    cumulative = np.cumsum(system[:, 6])
    xs, ys = [0.0], [0.0]  # (0, 0) is kept as the first point
    x = y = 0.0
    for t in range(1, POINTS):
        below = np.nonzero(uniforms[t - 1] <= cumulative)[0]
        j = below[0] if len(below) else len(cumulative) - 1
        a, b, c, d, e, f = maps[j]
        x, y = a * x + b * y + e, c * x + d * y + f
        xs.append(x)
        ys.append(y)
    pixels = []
    for axis in (np.array(xs), np.array(ys)):
        if axis.min() < 0:
            axis = axis - axis.min()
        pixels.append((axis / (axis.max() - axis.min()) * (SIZE - 2 * PAD) + PAD).astype(np.uint16))
    canvas = np.zeros((SIZE, SIZE), dtype=np.uint8)
    canvas[pixels[1], pixels[0]] = 127
    return canvas[::-1]  # drawn with y down, then flipped (y up)


def published_flip(image: np.ndarray, flip: int) -> np.ndarray:
    return [image, image[::-1], image[:, ::-1], image[::-1, ::-1]][flip]


@pytest.fixture(scope="module")
def official():
    return OFFICIAL


@pytest.mark.parametrize("category, row", [(0, 0), (7, 3), (123, 13), (999, 24)])
def test_official_point_gray_matches_the_published_algorithm(official, category, row):
    system = read_ifs_csv(official / f"{category:05d}.csv")
    formula = FractalDB()
    settings = FractalRenderSettings(size=SIZE, points=POINTS, pad=PAD, draw="point-gray", compat="official")
    context = formula.render_context([system], settings)
    weight_row = context["weights"][row]
    image, warning = formula.render_draw(system, row, np.random.default_rng(5), settings, context)
    assert warning is None
    expected = published_point_gray(system, weight_row)
    assert (expected > 0).sum() > 100, "the reference render should light a real attractor"
    for flip in range(4):
        assert np.array_equal(formula.view(image, flip, settings), published_flip(expected, flip)), f"flip {flip}"


def test_official_mode_ignores_the_instance_seed_for_points(official):
    system = read_ifs_csv(official / "00042.csv")
    formula = FractalDB()
    settings = FractalRenderSettings(size=SIZE, points=POINTS, pad=PAD, draw="point-gray", compat="official")
    maps = np.ascontiguousarray(system[:, :6])
    uniforms = formula.render_context([system], settings)["uniforms"]
    first, _ = render_system(maps, system[:, 6], settings, 1, 2, uniforms)
    second, _ = render_system(maps, system[:, 6], settings, 99, 98, uniforms)
    assert np.array_equal(first, second)
    assert np.array_equal(first, published_point_gray(system, np.ones(6)))


def weight_row(row: int, delta: float = 0.4) -> np.ndarray:
    """The published weights file, row by row: identity, then 1-2d, 1-d, 1+d, 1+2d for a, b, c, d, e, f."""
    factors = np.ones(6)
    if row > 0:
        parameter, step = divmod(row - 1, 4)
        factors[parameter] = [1 - 2 * delta, 1 - delta, 1 + delta, 1 + 2 * delta][step]
    return factors


def test_compat_official_through_the_command_line(official_subset, tmp_path, capsys):
    """`fdsl render --compat official --draw point-gray` writes the published renderer's pixels as PNG files."""
    from PIL import Image

    from helpers import run_cli

    out = tmp_path / "ds"
    code, _ = run_cli(capsys, "render", "fractal", "--params", official_subset, "--out", out, "--size", SIZE,
                      "--points", POINTS, "--pad", PAD, "--draw", "point-gray", "--compat", "official", "--workers", "2",
                      "--quiet")
    assert code == 0 and len(list(out.rglob("*.png"))) == 3 * 25 * 4
    for category, row in [(0, 0), (1, 6), (2, 24)]:
        expected = published_point_gray(read_ifs_csv(official_subset / f"{category:05d}.csv"), weight_row(row))
        for flip in range(4):
            png = Image.open(out / f"{category:05d}" / f"{category:05d}_{row:02d}_count_0_flip{flip}.png")
            assert png.mode == "L" and np.array_equal(np.asarray(png), published_flip(expected, flip)), (category, row)
