"""3D IFS maths: the chain, the normalisation, the variance search, the weight rows, the camera, PLY files."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest

from fdsl.catalog.params import load_catalog
from fdsl.formulas import create_formula
from fdsl.formulas.ifs3d import camera, systems
from fdsl.formulas.ifs3d.base import project
from fdsl.kernels.numba import ifs3d as kernel
from fdsl.core.ply import is_ply, ply_bytes, read_ply
from fdsl.catalog.search import search_categories
from fdsl.core.seeding import rng_for
from helpers3d import make_catalog3d


def plain_chain(maps: np.ndarray, choices: np.ndarray) -> np.ndarray:
    """The chaos game written plainly: from the origin (not kept), point t = A_j p + b_j with j = choices[t]."""
    p = np.zeros(3)
    out = np.empty((len(choices), 3))
    for t, j in enumerate(choices):
        a = maps[j, :9].reshape(3, 3)
        b = maps[j, 9:12]
        # Summed in the kernel's order (two pairs) so that the comparison can be exact.
        p = np.array([(a[r, 0] * p[0] + a[r, 1] * p[1]) + (a[r, 2] * p[2] + b[r]) for r in range(3)])
        out[t] = p
    return out


def plain_normalise(cloud: np.ndarray) -> np.ndarray:
    low, high = cloud.min(), cloud.max()  # one min-max over all coordinates: the aspect ratio is kept
    scaled = (cloud - low) / (high - low) * 2.0 - 1.0
    return scaled - scaled.mean(axis=0)


@pytest.fixture(scope="module")
def catalog3d(tmp_path_factory):
    return make_catalog3d(tmp_path_factory.mktemp("c3d") / "catalog")


def test_chain_matches_a_plain_loop_and_keeps_no_origin():
    rng = np.random.default_rng(0)
    maps = rng.uniform(-0.6, 0.6, size=(3, 12))
    choices = rng.integers(0, 3, size=500).astype(np.int32)
    out = np.empty((500, 3))
    assert kernel.iterate3d(maps, choices, 500, out) == 500
    expected = plain_chain(maps, choices)
    assert np.array_equal(out, expected)
    assert np.array_equal(out[0], maps[choices[0], 9:12])  # the first stored point is a map of the origin


def test_divergent_chain_keeps_the_points_before_the_hundred_preceding_divergence():
    maps = np.zeros((1, 12))
    maps[0, [0, 4, 8]] = 3.0  # x' = 3x + 1: reaches 1e150 after about 315 steps
    maps[0, 9:12] = 1.0
    out = np.empty((1000, 3))
    kept = kernel.iterate3d(maps, np.zeros(1000, np.int32), 1000, out)
    first_divergent = int(np.argmax(~(np.abs(plain_chain(maps, np.zeros(400, int))) <= 1e150).all(axis=1)))
    assert kept == first_divergent - 100 > 0
    cloud, kept_again = systems.point_cloud(maps[:, :12], np.ones(1), 1000, key=5)
    assert kept_again == kept and np.isfinite(cloud).all()
    assert np.array_equal(cloud[kept:2 * kept], cloud[:kept])  # the kept points repeated to fill the cloud


def test_normalisation_is_one_min_max_then_centred():
    rng = np.random.default_rng(1)
    raw = rng.normal(size=(400, 3)) * [3.0, 1.0, 0.2] + [5.0, -2.0, 0.0]
    cloud = raw.copy()
    kernel.normalise_cloud(cloud, len(cloud))
    assert np.allclose(cloud, plain_normalise(raw), atol=1e-12)
    # The aspect ratio is kept: axis extents keep their proportions.
    assert np.allclose(np.ptp(cloud, axis=0) / np.ptp(cloud, axis=0)[0], np.ptp(raw, axis=0) / np.ptp(raw, axis=0)[0])
    out = np.empty(3)
    kernel.normalised_variances(raw, len(raw), out)
    assert np.allclose(out, plain_normalise(raw).var(axis=0), rtol=1e-9)


def test_search_accepts_exactly_the_clouds_with_enough_variance_on_every_axis():
    formula = create_formula("fractal3d")
    settings = formula.SearchSettings()
    accepted = rejected = 0
    for k in range(300):
        rng = rng_for(4, "search", k)
        outcome = formula.sample_category(rng, settings, None)
        rng = rng_for(4, "search", k)  # the same candidate again, checked plainly
        system = systems.sample_system(rng)
        raw = np.empty((settings.iterations - 1, 3))
        kept = systems.run_chain(system[:, :12], system[:, 12], int(rng.integers(0, 2**64, dtype=np.uint64)), raw)
        good = kept == len(raw) and bool(np.all(plain_normalise(raw).var(axis=0) > settings.variance))
        assert (outcome is not None) == good
        accepted += good
        rejected += not good
        if outcome is not None:
            assert np.array_equal(outcome[0], system)
            assert np.isclose(outcome[1], plain_normalise(raw).var(axis=0).min())
    assert accepted >= 1 and rejected > 10 * accepted  # the published acceptance is about 1.5 %


def test_search_is_identical_at_one_or_two_workers():
    settings = create_formula("fractal3d").SearchSettings()
    one = search_categories("fractal3d", settings, seed=3, categories=3, workers=1, progress=False)
    two = search_categories("fractal3d", settings, seed=3, categories=3, workers=2, progress=False)
    assert [k for k, _, _ in one.categories] == [k for k, _, _ in two.categories]
    assert all(np.array_equal(a, b) for (_, a, _), (_, b, _) in zip(one.categories, two.categories))


def test_catalog_is_the_published_13_column_format(catalog3d):
    systems_ = load_catalog(create_formula("fractal3d"), catalog3d).categories
    for path, system in zip(sorted(catalog3d.glob("*.csv")), systems_):
        rows = [line.split(",") for line in path.read_text().splitlines()]
        assert {len(r) for r in rows} == {13} and 2 <= len(rows) <= 7
        det = np.abs(np.linalg.det(system[:, :9].reshape(-1, 3, 3)))
        assert np.allclose(system[:, 12], det / det.sum())  # p proportional to |det|


@pytest.mark.parametrize("count, factors", [(145, [0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6]),
                                            (25, [0.9, 1.1]), (1, [])])
def test_weight_rows_scale_one_parameter_at_a_time(count, factors):
    rows = systems.weight_rows(count)
    assert rows.shape == (count, 12)
    assert np.array_equal(rows[0], np.ones(12))
    for parameter in range(12):
        scaled = rows[(rows != 1.0).any(axis=1) & (rows[:, parameter] != 1.0)]
        assert np.allclose(sorted(scaled[:, parameter]), factors)
        assert ((scaled != 1.0).sum(axis=1) == 1).all()


def gl_matrices(yaw: float, elevation: float) -> np.ndarray:
    """gluPerspective(45, 1, 1, 100) x gluLookAt from distance 4, the cloud turned by Ry(yaw) then Rx(elevation)."""
    f = 1 / math.tan(math.radians(22.5))
    projection = np.array([[f, 0, 0, 0], [0, f, 0, 0], [0, 0, -101 / 99, -200 / 99], [0, 0, -1, 0]])
    look_at = np.eye(4)
    look_at[2, 3] = -4.0  # eye (0, 0, 4), centre the origin, up +y
    ry = np.eye(4)
    ry[[0, 0, 2, 2], [0, 2, 0, 2]] = [math.cos(yaw), math.sin(yaw), -math.sin(yaw), math.cos(yaw)]
    rx = np.eye(4)
    rx[[1, 1, 2, 2], [1, 2, 1, 2]] = [math.cos(elevation), -math.sin(elevation), math.sin(elevation),
                                      math.cos(elevation)]
    return projection @ look_at @ rx @ ry


@pytest.mark.parametrize("yaw, elevation", [(0.0, 0.0), (0.7, 0.0), (2.0, -0.6), (-1.0, 1.2)])
def test_camera_is_the_opengl_one(yaw, elevation):
    assert np.allclose(camera.clip_matrix(yaw, elevation), gl_matrices(yaw, elevation), atol=1e-12)


def test_projection_lights_the_pixels_opengl_would():
    f = 1 / math.tan(math.radians(22.5))
    points = np.array([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 3.5]])
    image = project(points, 0.0, 0.0, 224)
    lit = set(zip(*np.nonzero(image)))
    # Origin: window (112, 112) -> column 112, row 223 - 112; (1, 0, 0): x_ndc = f / 4.
    assert (111, 112) in lit
    assert (111, int((f / 4 + 1) * 112)) in lit
    assert (223 - int((f / 4 + 1) * 112), 112) in lit
    assert len(lit) == 3  # (0, 0, 3.5) is 0.5 in front of the camera: nearer than the near plane, clipped
    assert image.max() == 255 and image.dtype == np.uint8


def test_view_angles_of_each_mode():
    fixed = camera.view_angles(12, "fixed", False, rng_for(0, "v"))
    assert np.allclose(np.degrees(fixed[:, 0]), 30 + 30 * np.arange(12)) and not fixed[:, 1].any()
    jitter = camera.view_angles(12, "fixed", True, rng_for(0, "v"))[:, 0] - fixed[:, 0]
    assert 0 < np.abs(jitter).max() <= math.radians(math.pi)  # the published +-3.14 deg, not +-180 deg
    many = camera.view_angles(4000, "random", False, rng_for(0, "v"))
    assert abs(np.sin(many[:, 1]).mean()) < 0.05 and abs(np.sin(many[:, 1]).std() - 1 / math.sqrt(3)) < 0.02
    assert many[:, 0].min() >= 0 and many[:, 0].max() < 2 * math.pi


def test_ply_bytes_are_fixed_and_read_back(tmp_path):
    cloud = np.random.default_rng(2).uniform(-1, 1, size=(100, 3))
    data = ply_bytes(cloud)
    assert data.startswith(b"ply\nformat binary_little_endian 1.0\nelement vertex 100\n")
    assert b"comment" not in data and data == ply_bytes(cloud.copy())
    path = tmp_path / "c.ply"
    path.write_bytes(data)
    assert is_ply(path) and np.array_equal(read_ply(path), cloud.astype(np.float32))
    from plyfile import PlyData

    assert PlyData.read(io.BytesIO(data))["vertex"].count == 100


def test_pc_fractal_instance_mixes_another_category(catalog3d):
    formula = create_formula("pc-fractal")
    categories = load_catalog(formula, catalog3d).categories
    settings = formula.RenderSettings(instances=40)
    context = formula.render_context(categories, settings)
    draw, warning = formula.render_draw(categories[1], 0, rng_for(0, "render", 1, 0), settings, context)
    assert draw.points.shape == (7999 + 2000, 3) and warning is None
    assert np.allclose(draw.points.mean(axis=0), 0, atol=1e-12)
    mixes = [formula.mix_category(categories[1], j, rng_for(0, "render", 1, j), context) for j in range(40)]
    assert set(mixes) == {0, 2}  # never itself, every other category
    official = formula.render_context(categories, settings.replace(compat="official"))
    lists = [[formula.mix_category(categories[c], j, None, official) for j in range(40)] for c in range(3)]
    assert lists[0] == lists[1] == lists[2]  # the published global list: instance j mixes the same category
