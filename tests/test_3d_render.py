"""3D datasets on disk: views and PLY clouds through the one writer, byte-identical at any split, resumable."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from fdsl.catalog.params import load_catalog
from fdsl.formulas import create_formula
from fdsl.core.ply import read_ply
from fdsl.core.seeding import rng_for
from fdsl.catalog.specs import Shard
from fdsl.write.engine import render_dataset
from helpers import run_cli
from helpers3d import digests, kill_9_when, make_catalog3d

VIEWS = dict(weights=25, views=3, size=48)


@pytest.fixture(scope="module")
def catalog3d(tmp_path_factory):
    return make_catalog3d(tmp_path_factory.mktemp("c3d") / "catalog")


def render(name, catalog, out, workers=1, shard=Shard(), seed=0, **changes):
    formula = create_formula(name)
    return render_dataset(name, catalog, out, formula.RenderSettings(**changes), seed=seed, workers=workers,
                          shard=shard, progress=False)


@pytest.mark.parametrize("name, changes", [
    ("fractal3d", VIEWS),
    ("fractal3d", dict(weights=25, viewpoints="random", views=2, size=40)),
    ("fractal3d", dict(weights=25, output="ply")),
    ("pc-fractal", dict(instances=6)),
])
def test_same_bytes_at_any_worker_count_and_shard_split(catalog3d, tmp_path, name, changes):
    render(name, catalog3d, tmp_path / "one", **changes)
    render(name, catalog3d, tmp_path / "two", workers=2, **changes)
    for k in range(2):
        render(name, catalog3d, tmp_path / "shards", shard=Shard(k, 2), **changes)
    one = digests(tmp_path / "one")
    assert one and one == digests(tmp_path / "two") == digests(tmp_path / "shards")
    render(name, catalog3d, tmp_path / "other-seed", seed=1, **changes)
    assert digests(tmp_path / "other-seed") != one


def test_views_are_the_cloud_seen_by_each_camera_and_load_with_imagefolder(catalog3d, tmp_path):
    from torchvision.datasets import ImageFolder

    out = tmp_path / "views"
    render("fractal3d", catalog3d, out, **VIEWS)
    assert sorted(os.listdir(out / "00001"))[:4] == ["00001_00000_000.png", "00001_00000_001.png",
                                                     "00001_00000_002.png", "00001_00001_000.png"]
    dataset = ImageFolder(str(out))
    assert len(dataset) == 3 * 25 * 3 and dataset.classes == ["00000", "00001", "00002"]
    # Draw 7 of category 2 at the same seed as a PLY cloud; its view 1 is that cloud through camera 1.
    render("fractal3d", catalog3d, tmp_path / "ply", weights=25, output="ply")
    cloud = read_ply(tmp_path / "ply" / "00002" / "00002_0007.ply").astype(np.float64)
    formula = create_formula("fractal3d")
    settings = formula.RenderSettings(**VIEWS)
    cameras = formula.render_draw(load_catalog(formula, catalog3d).categories[2], 7, rng_for(0, "render", 2, 7),
                                  settings, None)[0].cameras
    picture = np.asarray(Image.open(out / "00002" / "00002_00007_001.png"))
    from fdsl.formulas.ifs3d.base import project

    seen = project(cloud, *cameras[1], 48)
    # The PLY holds float32: a point on a pixel edge may move by one pixel, nothing more.
    assert np.count_nonzero(seen != picture) <= 0.01 * np.count_nonzero(picture)
    assert set(np.unique(picture)) == {0, 255}


def test_ply_instances_are_normalised_centred_clouds(catalog3d, tmp_path):
    render("pc-fractal", catalog3d, tmp_path / "pc", instances=2)
    files = sorted((tmp_path / "pc").rglob("*.ply"))
    assert [p.name for p in files[:2]] == ["00000_0000.ply", "00000_0001.ply"] and len(files) == 6
    for path in files:
        cloud = read_ply(path)
        assert cloud.shape == (9999, 3) and np.abs(cloud.mean(axis=0)).max() < 1e-4
        assert np.abs(cloud).max() <= 2.0


def test_kill_and_rerun_resumes_to_the_same_bytes(catalog3d, tmp_path):
    command = [sys.executable, "-m", "fdsl", "render", "fractal3d", "--params", str(catalog3d), "--seed", "3",
               "--weights", "49", "--views", "12", "--size", "48", "--quiet"]
    killed = tmp_path / "killed"
    kill_9_when(command + ["--out", str(killed)], killed, "*.png", 200)
    partial = len(list(killed.rglob("*.png")))
    assert partial < 3 * 49 * 12
    code, _ = run_cli_resume(command + ["--out", str(killed)])
    assert code == 0
    clean = tmp_path / "clean"
    assert run_cli_resume(command + ["--out", str(clean)])[0] == 0
    assert digests(killed) == digests(clean) and len(digests(clean, (".png",))) == 3 * 49 * 12
    assert not list(killed.rglob("*.part"))


def run_cli_resume(command):
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    return result.returncode, result.stdout


def test_preview_of_a_3d_catalog_shows_views_of_one_cloud_per_row(catalog3d, tmp_path, capsys):
    sheet = tmp_path / "sheet.png"
    assert run_cli(capsys, "preview", catalog3d, "--out", sheet, "--columns", "6", "--tile", "32")[0] == 0
    pixels = np.asarray(Image.open(sheet).convert("L"))
    assert pixels.shape == (3 * 34, 48 + 6 * 34)
    tiles = [pixels[r * 34:r * 34 + 32, 48 + c * 34:48 + c * 34 + 32] for r in range(3) for c in range(6)]
    assert all(tile.max() > 100 for tile in tiles)  # a cloud in every tile
    assert not np.array_equal(tiles[0], tiles[1])  # the columns are different cameras


def test_pretrain_a_vit_on_exfractaldb_views_on_the_fly(catalog3d, tmp_path):
    from fdsl.train.recipes import recipe_config
    from fdsl.train.stages import pretrain

    config = recipe_config("vit-small", "pretrain", dict(model="vit-nano-p4", epochs=1, batch_size=8, image_size=16,
                                                         crop_pct=0.8, threads=1))
    meta = pretrain(config, tmp_path / "run", "vit-small", params=catalog3d, progress=False, instances=4,
                    render_options={"size": "32", "views": "4", "viewpoints": "random", "weights": "25"})
    assert meta["complete"] and meta["data"]["formula"] == "fractal3d" and len(meta["classes"]) == 3
    assert np.isfinite(meta["metrics"]["train_loss"])


def test_point_cloud_dataset_items_are_the_written_clouds(catalog3d, tmp_path):
    import torch

    from fdsl.data.point_clouds import PointCloudDataset

    render("pc-fractal", catalog3d, tmp_path / "pc", instances=4)
    dataset = PointCloudDataset("pc-fractal", catalog3d, create_formula("pc-fractal").RenderSettings(instances=4))
    assert len(dataset) == 12 and dataset.targets.tolist() == [0] * 4 + [1] * 4 + [2] * 4
    cloud, label = dataset[6]  # category 1, instance 2
    assert label == 1 and cloud.dtype == torch.float32 and cloud.shape == (9999, 3)
    assert np.array_equal(cloud.numpy(), read_ply(tmp_path / "pc" / "00001" / "00001_0002.ply"))
    batch, labels = next(iter(torch.utils.data.DataLoader(dataset, batch_size=4)))
    assert batch.shape == (4, 9999, 3) and labels.tolist() == [0, 0, 0, 0]
