"""PC-FractalDB scenes: the published layout rules, points inside their boxes, loader-ready files, determinism."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest

from fdsl.catalog.params import load_catalog
from fdsl.formulas import create_formula
from fdsl.formulas.scenes.assemble import points_in_box
from fdsl.formulas.scenes.layout import SceneSettings, sample_layout
from fdsl.catalog.specs import SceneSpec
from fdsl.write.engine import write_scenes
from fdsl.core.seeding import rng_for
from fdsl.catalog.specs import Shard
from helpers import run_cli
from helpers3d import digests, kill_9_when, make_catalog3d

SMALL = SceneSettings(objects=6, extra_objects=2.0, room=8.0, object_points=300, iterations=2000, mix_points=400)


@pytest.fixture(scope="module")
def catalog3d(tmp_path_factory):
    return make_catalog3d(tmp_path_factory.mktemp("c3d") / "catalog")


@pytest.fixture(scope="module")
def scenes(catalog3d, tmp_path_factory):
    out = tmp_path_factory.mktemp("scenes") / "s"
    write_scenes(SceneSpec(SMALL, 4, seed=2), catalog3d, out, progress=False)
    return out


def test_layouts_follow_the_published_rules():
    settings = SceneSettings()
    counts = []
    for scene in range(200):
        objects, dropped = sample_layout(rng_for(0, "scene", scene), settings, categories=10)
        counts.append(len(objects) + dropped)
        for o in objects:
            base = o.size[0]
            assert 0.75 <= base <= 1.25 and all(0.9 * base <= s <= 1.1 * base for s in o.size[1:])
            assert all(abs(v) <= 7.5 for v in o.c_pos[:2]) and o.c_pos[2] == o.size[2] / 2
            assert -math.pi <= o.theta <= math.pi and 0 <= o.category < 10 and 0 <= o.instance < 1000
        for i, a in enumerate(objects):
            for b in objects[:i]:
                gap = (math.hypot(*a.size[:2]) + math.hypot(*b.size[:2])) / 2 + 0.25
                assert math.dist(a.c_pos[:2], b.c_pos[:2]) >= gap
    assert min(counts) >= 15 and abs(np.mean(counts) - 20) < 0.6  # 15 + Poisson(5)


def test_points_fall_inside_their_boxes_with_consistent_labels_and_votes(scenes):
    with np.load(scenes / "scene_00001_pc.npz") as arrays:
        points, instance, semantic = arrays["pc"], arrays["instance_label"], arrays["semantic_label"]
    boxes = np.load(scenes / "scene_00001_bbox.npy")
    votes = np.load(scenes / "scene_00001_votes.npz")["point_votes"]
    layout = json.loads((scenes / "scene_00001.json").read_text())
    assert points.dtype == np.float32 and points.shape[1] == 3 and boxes.shape == (len(layout["objects"]), 8)
    assert len(points) == 300 * len(boxes) and set(np.unique(instance)) == set(range(1, len(boxes) + 1))
    for k, (box, record) in enumerate(zip(boxes, layout["objects"])):
        mine = instance == k + 1
        assert points_in_box(points[mine], box).all()
        assert not points_in_box(points[~mine], box).any()  # boxes never overlap
        assert (semantic[mine] == box[7]).all() and record["class_name"] == f"{int(box[7]):05d}"
        assert np.allclose(box[:3], record["c_pos"]) and np.allclose(box[3:6] * 2, record["size"])
        # The cloud fills its box: it touches the box on every axis.
        c, s = math.cos(box[6]), math.sin(box[6])
        d = points[mine] - box[:3]
        local = np.column_stack([c * d[:, 0] + s * d[:, 1], -s * d[:, 0] + c * d[:, 1], d[:, 2]])
        assert np.allclose(np.abs(local).max(axis=0), box[3:6], rtol=1e-4)
        assert np.allclose(votes[mine][:, 1:4], box[:3] - points[mine], atol=1e-5)
        assert (votes[mine][:, 0] == 1).all() and np.array_equal(votes[mine][:, 4:7], votes[mine][:, 1:4])
    assert {"size", "c_pos", "theta", "class_name", "file_name"} <= set(layout["objects"][0])


def test_object_is_the_pc_fractal_instance_of_the_same_seed(catalog3d):
    from fdsl.data.point_clouds import SceneDataset

    whole = SMALL.replace(object_points=0)  # every point of each instance, no subsampling
    scene = SceneDataset(catalog3d, 1, whole, seed=2)[0]
    objects, _ = sample_layout(rng_for(2, "scene", 0), whole, categories=3)
    first = objects[0]
    formula = create_formula("pc-fractal")
    categories = load_catalog(formula, catalog3d).categories
    settings = whole.cloud_settings()
    cloud = formula.render_draw(categories[first.category], first.instance,
                                rng_for(2, "render", first.category, first.instance), settings,
                                formula.render_context(categories, settings))[0].points
    placed = scene["points"][scene["instance"] == 1].numpy().astype(np.float64)
    # Undo the placement (move, turn) and the stretch: the instance's own points, in order.
    c, s = math.cos(first.theta), math.sin(first.theta)
    d = placed - np.asarray(first.c_pos)
    local = np.column_stack([c * d[:, 0] + s * d[:, 1], -s * d[:, 0] + c * d[:, 1], d[:, 2]])
    low, high = cloud.min(axis=0), cloud.max(axis=0)
    assert np.allclose(local, (cloud - (low + high) / 2) / (high - low) * np.asarray(first.size), atol=1e-5)


def test_same_bytes_at_any_worker_count_and_shard_split(catalog3d, scenes, tmp_path):
    write_scenes(SceneSpec(SMALL, 4, seed=2, workers=2), catalog3d, tmp_path / "two", progress=False)
    for k in range(2):
        write_scenes(SceneSpec(SMALL, 4, seed=2, shard=Shard(k, 2)), catalog3d, tmp_path / "shards", progress=False)
    reference = digests(scenes)
    assert len(reference) == 4 * 4 and reference == digests(tmp_path / "two") == digests(tmp_path / "shards")


def test_layout_only_writes_the_published_json_alone(catalog3d, tmp_path, capsys):
    out = tmp_path / "layouts"
    code, _ = run_cli(capsys, "scenes", "--params", catalog3d, "--out", out, "--scenes", "3", "--layout-only", "--quiet")
    assert code == 0 and sorted(p.name for p in out.glob("scene_*")) == [f"scene_{i:05d}.json" for i in range(3)]
    code, _ = run_cli(capsys, "scenes", "--params", catalog3d, "--out", out, "--scenes", "3", "--layout-only", "--quiet")
    assert code == 0 and "nothing to do: all 3 scenes" in run_cli.stdout


def test_kill_and_rerun_resumes_to_the_same_bytes(catalog3d, tmp_path):
    command = [sys.executable, "-m", "fdsl", "scenes", "--params", str(catalog3d), "--scenes", "60",
               "--object-points", "500", "--quiet"]
    killed = tmp_path / "killed"
    kill_9_when(command + ["--out", str(killed)], killed, "scene_*.json", 5)
    assert len(list(killed.glob("scene_*.json"))) < 60
    assert subprocess.run(command + ["--out", str(killed)], capture_output=True, timeout=600).returncode == 0
    assert subprocess.run(command + ["--out", str(tmp_path / "clean")], capture_output=True, timeout=600).returncode == 0
    assert digests(killed) == digests(tmp_path / "clean") and len(digests(killed)) == 60 * 4


def test_scene_dataset_is_the_written_scene(catalog3d, scenes):
    from fdsl.data.point_clouds import SceneDataset

    dataset = SceneDataset(catalog3d, 4, SMALL, seed=2)
    item = dataset[3]
    with np.load(scenes / "scene_00003_pc.npz") as arrays:
        assert np.array_equal(item["points"].numpy(), arrays["pc"])
        assert np.array_equal(item["instance"].numpy(), arrays["instance_label"])
    boxes = np.load(scenes / "scene_00003_bbox.npy")
    assert np.array_equal(item["boxes"][: len(boxes)].numpy(), boxes) and int(item["box_mask"].sum()) == len(boxes)
    sampled = SceneDataset(catalog3d, 4, SMALL, seed=2, points=1000)
    assert sampled[0]["points"].shape == (1000, 3)
    assert np.array_equal(sampled[0]["points"].numpy(), sampled[0]["points"].numpy())


def test_preview_of_scenes_is_a_picture_from_above(scenes, tmp_path, capsys):
    from PIL import Image

    sheet = tmp_path / "scenes.png"
    assert run_cli(capsys, "preview", scenes, "--out", sheet, "--rows", "2", "--columns", "2")[0] == 0
    pixels = np.asarray(Image.open(sheet).convert("RGB")).astype(int)
    assert pixels.shape[0] > 200 and pixels.shape[1] > 400
    colourful = np.abs(pixels - pixels.mean(axis=2, keepdims=True)).sum(axis=2) > 60
    assert colourful.sum() > 100  # the coloured points of the objects, not only black outlines
