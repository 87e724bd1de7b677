"""SegRCDB: the search ranges, the image + mask kernel (m1/m2/m3, overwrite order), the writer and its bad input."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from PIL import Image, ImageDraw

from fdsl.formulas import create_formula
from fdsl.formulas.contour.segrcdb import SegRCDBParams, SegRCDBRenderSettings, render_image
from fdsl.kernels.numba.labelled_contours import MASK_FILLED, fill_polygon
from fdsl.core.seeding import rng_for
from helpers import assert_one_line_error, run_cli


@pytest.fixture(scope="module")
def seg_catalog(tmp_path_factory):
    from fdsl.catalog.search import search_categories, write_catalog

    out = tmp_path_factory.mktemp("segrcdb") / "params"
    settings = create_formula("segrcdb").SearchSettings()
    result = search_categories("segrcdb", settings, seed=1, categories=6, progress=False)
    write_catalog("segrcdb", settings, 1, result, out)
    return out


def _categories(folder):
    from fdsl.catalog.params import load_catalog

    return load_catalog(create_formula("segrcdb"), folder).categories


def test_search_uses_the_published_ranges():
    formula = create_formula("segrcdb")
    settings = formula.SearchSettings()
    drawn = [formula.sample_category(rng_for(1, k), settings, None) for k in range(400)]
    params = [p for p, _ in filter(None, drawn)]
    assert all(2 < p.vertices <= 500 and 1 <= p.lines <= 50 and 0 <= p.radius <= 50 for p in params)
    assert all(0 <= p.noise < 4 and 0 <= p.line_width < 0.1 and 1 <= p.oval_x < 2 for p in params)
    assert max(p.vertices for p in params) > 200  # beyond RCDB's 200: the SegRCDB bound is really 500
    assert formula.default_categories == 254


def test_square_fill_matches_pil():
    # A filled polygon plus its outline covers what PIL's polygon(fill, outline) covers for an axis-aligned square.
    canvas = np.zeros((12, 12), dtype=np.uint8)
    xs, ys = np.array([2, 8, 8, 2]), np.array([3, 3, 9, 9])
    fill_polygon(canvas, xs, ys, 1, -1, 0, 11)
    reference = Image.new("L", (12, 12))
    ImageDraw.Draw(reference).polygon(list(zip(xs.tolist(), ys.tolist())), fill=1)
    inside = np.asarray(reference) > 0
    assert canvas.sum() == 7 * 6  # rows 3..8 (half-open at the bottom edge), columns 2..8
    assert np.all(inside[canvas > 0])


def _instance(params, label, mode, keys, image=None, mask=None):
    size = 128
    image = np.zeros((size, size), np.uint8) if image is None else image
    mask = np.zeros((size, size), np.uint8) if mask is None else mask
    from fdsl.formulas.contour.segrcdb import _draw_instance

    _draw_instance(image, mask, np.zeros_like(mask), params, label, 256.0, 256.0, mode, *keys)
    return image, mask


PARAMS = SegRCDBParams(vertices=40, lines=12, noise=1.0, line_width=0.05, radius=30.0, oval_x=1.2, oval_y=1.5,
                       centre_x=256.0, centre_y=256.0)


def test_mask_modes_on_one_instance():
    keys = (np.uint64(7), np.uint64(8))
    images, masks = {}, {}
    for name, mode in (("m1", 1), ("m2", 2), ("m3", 3)):
        images[name], masks[name] = _instance(PARAMS, 9, mode, keys)
    assert np.array_equal(images["m1"], images["m2"]) and np.array_equal(images["m1"], images["m3"])
    for mask in masks.values():
        assert set(np.unique(mask)) == {0, 9}
    lines = masks["m1"] > 0
    assert np.all(masks["m2"][lines] == 9)       # the band includes every line
    assert masks["m3"][64, 64] == 9              # the centre is inside the filled last contour...
    assert masks["m2"][64, 64] == 0              # ...and inside the first one: the band's hole
    assert (masks["m3"] > 0).sum() > (masks["m2"] > 0).sum() > lines.sum()


def test_later_instances_overwrite_earlier_ones():
    first_keys, second_keys = (np.uint64(1), np.uint64(2)), (np.uint64(3), np.uint64(4))
    for mode in (1, 2, MASK_FILLED):
        image, mask = _instance(PARAMS, 5, mode, first_keys)
        image, mask = _instance(PARAMS, 6, mode, second_keys, image, mask)
        alone_image, alone_mask = _instance(PARAMS, 6, mode, second_keys)
        assert np.all(mask[alone_mask > 0] == 6)
        drawn = np.zeros_like(alone_image)
        scratch_mask = np.zeros_like(alone_image)
        from fdsl.formulas.contour.segrcdb import _draw_instance

        # Where the second instance draws a line, the image holds the second instance's grey.
        _draw_instance(drawn, scratch_mask, np.zeros_like(drawn), PARAMS, 1, 256.0, 256.0, 1, *second_keys)
        assert np.array_equal(image[scratch_mask > 0], alone_image[scratch_mask > 0])


def test_render_image_is_a_function_of_seed_and_index(seg_catalog):
    categories = _categories(seg_catalog)
    settings = SegRCDBRenderSettings(size=96, instances=12, mask="m2")
    image, mask = render_image(categories, settings, rng_for(0, "render", 3))
    again, mask_again = render_image(categories, settings, rng_for(0, "render", 3))
    other, _ = render_image(categories, settings, rng_for(0, "render", 4))
    assert np.array_equal(image, again) and np.array_equal(mask, mask_again)
    assert not np.array_equal(image, other)
    assert set(np.unique(mask)) <= set(range(len(categories) + 1)) and mask.max() > 0


def _files(folder):
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*.png"))}


def test_render_workers_shards_resume_identical(tmp_path, capsys, seg_catalog):
    common = ["--params", seg_catalog, "--images", "12", "--size", "64", "--instances", "6", "--quiet"]
    assert run_cli(capsys, "render", "segrcdb", *common, "--out", tmp_path / "one")[0] == 0
    assert run_cli(capsys, "render", "segrcdb", *common, "--out", tmp_path / "two", "--workers", "2")[0] == 0
    for k in (0, 1):
        assert run_cli(capsys, "render", "segrcdb", *common, "--out", tmp_path / "sharded", "--shard", f"{k}/2")[0] == 0
    reference = _files(tmp_path / "one")
    assert len(reference) == 24 and all(str(name).startswith(("image/", "mask/")) for name in reference)
    assert _files(tmp_path / "two") == reference
    assert _files(tmp_path / "sharded") == reference
    # A pair lost (its image) and a stale temporary: the re-run renders exactly what is missing.
    (tmp_path / "one" / "image" / "000005.png").unlink()
    (tmp_path / "one" / "mask" / ".000007.png.123.part").write_bytes(b"half")
    assert run_cli(capsys, "render", "segrcdb", *common, "--out", tmp_path / "one")[0] == 0
    assert "wrote 1 images (11 already there)" in run_cli.stdout
    assert _files(tmp_path / "one") == reference and not list((tmp_path / "one").rglob("*.part"))
    with Image.open(tmp_path / "one" / "mask" / "000000.png") as mask:
        assert mask.mode == "L"


def test_mmseg_layout(tmp_path, capsys, seg_catalog):
    code, _ = run_cli(capsys, "render", "segrcdb", "--params", seg_catalog, "--images", "3", "--size", "64",
                      "--layout", "mmseg", "--out", tmp_path / "mm", "--quiet")
    assert code == 0
    assert sorted(p.name for p in (tmp_path / "mm" / "images" / "training").iterdir()) == \
        ["000000.png", "000001.png", "000002.png"]
    assert len(list((tmp_path / "mm" / "annotations" / "training").iterdir())) == 3


@pytest.mark.parametrize("flags, needle", [
    (["--mask", "m4"], "invalid choice: 'm4'"),
    (["--layout", "coco"], "invalid choice: 'coco'"),
    (["--instances", "0"], "--instances must be between 1"),
])
def test_bad_render_settings(tmp_path, capsys, seg_catalog, flags, needle):
    out = tmp_path / "out"
    code, err = run_cli(capsys, "render", "segrcdb", "--params", seg_catalog, "--out", out, *flags)
    assert_one_line_error(code, err, needle)
    assert not out.exists()


def test_more_classes_than_an_8bit_mask_holds(tmp_path, capsys, seg_catalog):
    code, err = run_cli(capsys, "search", "segrcdb", "--categories", "255", "--out", tmp_path / "cat")
    assert_one_line_error(code, err, "at most 254")
    assert not (tmp_path / "cat").exists()
    big = tmp_path / "big"
    big.mkdir()
    source = sorted(seg_catalog.glob("*.csv"))[0]
    for k in range(255):
        shutil.copyfile(source, big / f"{k:05d}.csv")
    out = tmp_path / "out"
    code, err = run_cli(capsys, "render", "segrcdb", "--params", big, "--out", out, "--images", "1")
    assert_one_line_error(code, err, "255 categories do not fit an 8-bit mask")
    assert not out.exists()


def test_preview_of_dataset_and_catalog(tmp_path, capsys, seg_catalog):
    run_cli(capsys, "render", "segrcdb", "--params", seg_catalog, "--images", "4", "--size", "64",
            "--out", tmp_path / "d", "--quiet")
    for source in (tmp_path / "d", seg_catalog):
        out = tmp_path / f"{source.name}.png"
        assert run_cli(capsys, "preview", source, "--out", out, "--rows", "1", "--columns", "2", "--tile", "32")[0] == 0
        with Image.open(out) as sheet:
            pixels = np.asarray(sheet.convert("RGB"))
        assert sheet.size == (2 * (2 * 32 + 6), 34)
        mask_tile = pixels[:32, 34:66]
        assert (mask_tile[..., 0] != mask_tile[..., 1]).any()  # coloured labels, not grey


def test_on_the_fly_images_are_the_rendered_files(tmp_path, capsys, seg_catalog):
    from fdsl.data.masks import MaskPairs, SegRCDBImages

    run_cli(capsys, "render", "segrcdb", "--params", seg_catalog, "--images", "3", "--size", "64", "--instances",
            "5", "--mask", "m3", "--seed", "4", "--out", tmp_path / "d", "--quiet")
    settings = SegRCDBRenderSettings(size=64, instances=5, mask="m3")
    live = SegRCDBImages(create_formula("segrcdb"), seg_catalog, settings, seed=4, first=0, count=3)
    disk = MaskPairs(tmp_path / "d")
    assert live.classes == disk.classes == ["background"] + [f"{k:05d}" for k in range(6)]
    for index in range(3):
        (image, mask), (image_on_disk, mask_on_disk) = live[index], disk[index]
        assert np.array_equal(np.asarray(image), np.asarray(image_on_disk)) and np.array_equal(mask, mask_on_disk)
