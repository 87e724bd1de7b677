"""fdsl viz: the numbers behind each picture, each kind end to end on real tiny runs, and bad input."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from PIL import Image

from fdsl.train import checkpoint
from fdsl.viz import NEEDS_IMAGES
from fdsl.train.recipes import recipe_config
from fdsl.train.stages import pretrain
from fdsl.viz import attention as viz_attention
from fdsl.viz import attention_distance as viz_distance
from fdsl.viz import cam as viz_cam
from fdsl.viz import curves as viz_curves
from fdsl.viz import filters as viz_filters
from fdsl.viz import pos_embed as viz_pos
from fdsl.viz.runs import load_runs
from fdsl.viz.vit import attention_maps, tokens
from helpers import assert_one_line_error, run_cli

RENDER = {"size": "20", "points": "600", "patches": "2"}
KINDS = ("filters", "pos-embed", "attention-distance", "attention", "cam", "curves")


@pytest.fixture(scope="module")
def vit_run(catalog, tmp_path_factory):
    """A real vit-nano-p4 pre-training run (no class token) at 16 px: 4x4 patches of 4 px."""
    out = tmp_path_factory.mktemp("runs") / "vit"
    config = recipe_config("vit-small", "pretrain", dict(model="vit-nano-p4", epochs=1, batch_size=8, image_size=16,
                                                          crop_pct=0.8, threads=1))
    pretrain(config, out, "vit-small", params=catalog, render_options=RENDER, instances=4, progress=False)
    return out


@pytest.fixture(scope="module")
def cnn_run(catalog, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "cnn"
    config = recipe_config("resnet-sgd", "pretrain", dict(model="test_resnet", epochs=1, batch_size=8, image_size=16,
                                                           crop_pct=0.8, lr=0.05, threads=1))
    pretrain(config, out, "resnet-sgd", params=catalog, render_options=RENDER, instances=4, progress=False)
    return out


def saved_run(folder, name="vit_tiny_patch16_224", edit=None, **kwargs):
    """A run folder written by the checkpoint code itself, for models the tests shape by hand."""
    import timm

    kwargs = dict(dict(img_size=16, patch_size=4, embed_dim=32, depth=2, num_heads=2), **kwargs)
    torch.manual_seed(0)
    model = timm.create_model(name, num_classes=3, **kwargs)
    if edit:
        edit(model)
    config = {"image_size": 16, "crop_pct": 1.0, "mean": [0.5] * 3, "std": [0.5] * 3}
    meta = {"model": name, "model_kwargs": kwargs, "classes": ["a", "b", "c"], "config": config, "global_step": 1,
            "stage": "pretrain", "metrics": {}}
    checkpoint.save(folder, {k: v.contiguous() for k, v in model.state_dict().items()}, meta, {})
    return folder


@pytest.fixture(scope="module")
def image_folder(tmp_path_factory):
    """Plain images of other sizes and modes than the models use: no class folders."""
    folder = tmp_path_factory.mktemp("images")
    rng = np.random.default_rng(0)
    for index, (size, mode) in enumerate([((40, 30), "RGB"), ((20, 20), "L"), ((64, 48), "RGB")]):
        array = rng.integers(0, 256, size=(size[1], size[0], 3), dtype=np.uint8)
        Image.fromarray(array).convert(mode).save(folder / f"img{index}.png")
    return folder


def images(count=3):
    rng = np.random.default_rng(1)
    return [Image.fromarray(rng.integers(0, 256, (24, 24, 3), dtype=np.uint8)) for _ in range(count)]


# ---- the numbers ------------------------------------------------------------------------------------------------

def test_diagonal_attention_has_distance_zero():
    rows, columns, prefix = 3, 4, 1
    count = prefix + rows * columns
    diagonal = np.broadcast_to(np.eye(count), (2, 5, 3, count, count))  # layers, images, heads
    assert np.allclose(viz_distance.mean_attention_distance(diagonal, rows, columns, 8, prefix), 0)


def test_uniform_attention_gives_the_analytic_mean_distance():
    # 2x2 patches of 4 px: each query is 0, 4, 4 and 4*sqrt(2) px from the four keys.
    uniform = np.full((1, 1, 2, 4, 4), 0.25)
    assert np.allclose(viz_distance.mean_attention_distance(uniform, 2, 2, 4), (8 + 4 * math.sqrt(2)) / 4)
    # Any grid: the mean over all pairs of patch centres; a class token's share is renormalised away.
    rows, columns, patch = 3, 5, 2
    centres = [(r * patch, c * patch) for r in range(rows) for c in range(columns)]
    expected = np.mean([math.dist(a, b) for a in centres for b in centres])
    count = 1 + rows * columns
    uniform = np.full((3, 2, 4, count, count), 1 / count)
    assert np.allclose(viz_distance.mean_attention_distance(uniform, rows, columns, patch, prefix=1), expected)


def test_a_model_forced_to_uniform_attention_measures_the_analytic_distance(tmp_path):
    def zero_queries(model):  # q = 0 makes every logit 0: uniform attention in every head of every layer
        for block in model.blocks:
            with torch.no_grad():
                block.attn.qkv.weight[:32].zero_()
                block.attn.qkv.bias[:32].zero_()

    run = load_runs([saved_run(tmp_path / "uniform", edit=zero_queries)])
    distance = viz_distance.attention_distance(run, images()).numbers["uniform"]
    centres = [(4 * r, 4 * c) for r in range(4) for c in range(4)]
    assert distance.shape == (2, 2)
    assert np.allclose(distance, np.mean([math.dist(a, b) for a in centres for b in centres]), atol=1e-5)


def test_hooked_attention_equals_timms_unfused_attention(tmp_path):
    run = load_runs([saved_run(tmp_path / "cls")])[0]
    model = run.model()
    inputs = torch.randn(2, 3, 16, 16)
    ours = attention_maps(model, inputs)
    theirs = []
    for block in model.blocks:  # timm's own weights: the unfused path, read at attn_drop
        block.attn.fused_attn = False
        block.attn.attn_drop.register_forward_hook(lambda m, args, out: theirs.append(out.detach().numpy()))
    with torch.no_grad():
        model(inputs)
    assert ours.shape == (2, 2, 2, 17, 17)  # layers, images, heads, class token + 16 patches
    assert np.allclose(ours, np.stack(theirs), atol=1e-6)


def test_rollout_rows_sum_to_one():
    rng = np.random.default_rng(0)
    raw = rng.random((3, 2, 4, 10, 10))
    attention = raw / raw.sum(axis=-1, keepdims=True)
    rolled = viz_attention.rollout(attention)
    assert rolled.shape == (2, 10, 10) and np.allclose(rolled.sum(axis=-1), 1)
    identity = np.broadcast_to(np.eye(10), attention.shape)
    assert np.allclose(viz_attention.rollout(identity), np.eye(10))


def test_attention_maps_of_a_real_run(vit_run, tmp_path):
    picture = viz_attention.attention(load_runs([vit_run, saved_run(tmp_path / "cls")]), images())
    nano, with_class = picture.numbers["vit"], picture.numbers["cls"]
    assert nano["last_layer"].shape == nano["rollout"].shape == (3, 4, 4)
    assert np.allclose(nano["rollout_matrix"].sum(axis=-1), 1, atol=1e-5)
    # Without a class token the map is the mean query's row: it sums to 1 over the patches.
    assert np.allclose(nano["rollout"].sum(axis=(1, 2)), 1, atol=1e-5)
    assert with_class["rollout_matrix"].shape == (3, 17, 17)
    assert (with_class["last_layer"] >= 0).all() and with_class["last_layer"].sum(axis=(1, 2)).max() <= 1 + 1e-5
    picture.close()


def test_position_embedding_similarity_with_itself_is_one(vit_run):
    assert tokens(load_runs([vit_run])[0].model()).class_token is False
    maps = viz_pos.pos_embed(load_runs([vit_run])).numbers["vit"]
    assert maps.shape == (4, 4, 4, 4)
    assert np.allclose([maps[i, j, i, j] for i in range(4) for j in range(4)], 1, atol=1e-6)
    assert (maps <= 1 + 1e-6).all() and (maps >= -1 - 1e-6).all()
    synthetic = viz_pos.similarity_maps(np.array([[1.0, 0], [0, 1], [-1, 0], [2, 0]]), 2, 2)
    assert np.allclose(synthetic.reshape(4, 4), [[1, 0, -1, 1], [0, 1, 0, 0], [-1, 0, 1, -1], [1, 0, -1, 1]])


def test_filter_grid_has_one_tile_per_filter(vit_run, cnn_run):
    runs = load_runs([vit_run, cnn_run])
    numbers = viz_filters.filters(runs).numbers
    assert numbers["vit"]["layer"] == "patch_embed.proj" and numbers["vit"]["tiles"].shape == (128, 4, 4, 3)
    name, conv = viz_filters.first_conv(runs[1].model())
    assert numbers["cnn"]["tiles"].shape[0] == conv.out_channels and numbers["cnn"]["layer"] == name
    tiles = numbers["vit"]["tiles"]
    assert np.allclose(tiles.min(axis=(1, 2, 3)), 0) and np.allclose(tiles.max(axis=(1, 2, 3)), 1)
    assert viz_filters.filters(runs, max_filters=5).numbers["vit"]["tiles"].shape[0] == 5
    assert viz_filters.mosaic(np.zeros((10, 3, 3, 3))).shape == (3 * 3 + 2, 4 * 3 + 3, 3)  # 10 tiles: 3 rows of 4


def test_grad_cam_of_a_cnn_and_a_vit(vit_run, cnn_run):
    picture = viz_cam.cam(load_runs([cnn_run, vit_run]), images(2))
    for label in ("cnn", "vit"):
        entry = picture.numbers[label]
        assert entry["cam"].shape == (2, 16, 16) and entry["predicted"].shape == (2,)
        assert entry["cam"].min() >= 0 and entry["cam"].max() <= 1
    assert picture.numbers["vit"]["layer"] == "blocks.3.norm1"
    picture.close()


def test_curves_are_the_logged_records(vit_run, cnn_run):
    numbers = viz_curves.curves(load_runs([vit_run, cnn_run], need_model=False)).numbers
    records = [json.loads(line) for line in (vit_run / "metrics.jsonl").read_text().splitlines()]
    epochs = [r for r in records if r["kind"] == "epoch"]
    assert numbers["vit"]["epoch"].tolist() == [1]
    assert numbers["vit"]["heldout_top1"].tolist() == [r["heldout_top1"] for r in epochs]
    assert numbers["vit"]["loss"].tolist() == [r["loss"] for r in records if r["kind"] == "step"]
    assert "val_top1" not in numbers["cnn"] and len(numbers["cnn"]["step"]) == len(numbers["cnn"]["loss"]) > 0


# ---- the command ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_writes_a_figure(kind, vit_run, cnn_run, image_folder, tmp_path, capsys):
    runs = [vit_run, cnn_run] if kind in ("filters", "cam", "curves") else [vit_run]
    out = tmp_path / "fig" / f"{kind}.png"
    data = ["--data", image_folder, "--images", 2] if kind in NEEDS_IMAGES else []  # refused where ignored
    code, err = run_cli(capsys, "viz", kind, *runs, "--out", out, *data)
    assert code == 0, err
    assert out.stat().st_size > 2000 and Image.open(out).format == "PNG"
    assert str(out) in run_cli.stdout
    assert [p.name for p in out.parent.iterdir()] == [out.name]  # no temporary left


def test_data_as_an_image_folder_tree_and_labels(vit_run, tmp_path, capsys):
    out = tmp_path / "att.png"
    code, err = run_cli(capsys, "viz", "attention", vit_run, vit_run, "--label", "A", "--label", "B",
                        "--data", "sklearn-digits", "--images", 2, "--out", out)
    assert code == 0, err
    assert out.is_file()


# ---- bad input: one line, exit 2, no figure ---------------------------------------------------------------------

def assert_refused(capsys, out, argv_and_needles):
    argv, needles = argv_and_needles
    code, err = run_cli(capsys, "viz", *argv, "--out", out)
    assert_one_line_error(code, err, *needles)
    assert not out.exists() and not list(out.parent.glob(f".{out.name}*"))


def test_a_run_folder_without_a_model(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert_refused(capsys, tmp_path / "f.png", (["filters", tmp_path / "empty"], ["has no model", "fdsl pretrain"]))
    assert_refused(capsys, tmp_path / "f.png", (["filters", tmp_path / "missing"], ["not found"]))
    assert_refused(capsys, tmp_path / "f.png", (["curves", tmp_path / "empty"], ["no training records"]))
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "model.json").write_text("{not json")
    assert_refused(capsys, tmp_path / "f.png", (["pos-embed", tmp_path / "broken"], ["corrupt"]))


@pytest.mark.parametrize("kind", ("pos-embed", "attention-distance", "attention"))
def test_a_cnn_asked_for_a_vit_only_kind(kind, cnn_run, image_folder, tmp_path, capsys):
    data = ["--data", image_folder] if kind in NEEDS_IMAGES else []
    assert_refused(capsys, tmp_path / "f.png", ([kind, cnn_run, *data],
                                                ["Vision Transformer", "test_resnet", "filters", "cam"]))


def test_images_that_cannot_be_read_and_empty_data(vit_run, tmp_path, capsys):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "broken.png").write_bytes(b"not a png at all")
    assert_refused(capsys, tmp_path / "f.png", (["cam", vit_run, "--data", bad], ["cannot read image", "broken.png"]))
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("no images here")
    assert_refused(capsys, tmp_path / "f.png", (["attention", vit_run, "--data", empty], ["holds no images", "png"]))
    assert_refused(capsys, tmp_path / "f.png", (["attention", vit_run], ["add --data"]))
    assert_refused(capsys, tmp_path / "f.png", (["attention", vit_run, "--data", tmp_path / "nowhere"], ["not found"]))
    assert_refused(capsys, tmp_path / "f.png", (["cam", vit_run, "--data", empty, "--images", 0], ["--images"]))


def test_other_bad_arguments(vit_run, tmp_path, capsys):
    assert_refused(capsys, tmp_path / "f.txt", (["filters", vit_run], ["--out", ".png"]))
    assert_refused(capsys, tmp_path / "f.png", (["filters", vit_run, "--label", "a", "--label", "b"], ["--label"]))
    assert_refused(capsys, tmp_path / "f.png", (["spectra", vit_run], ["invalid choice"]))


def test_position_maps_lay_out_one_tile_per_position():
    maps = np.arange(2 * 3 * 2 * 3, dtype=np.float32).reshape(2, 3, 2, 3)
    sheet = viz_pos.mosaic(maps)
    assert sheet.shape == (2 * 3 - 1, 3 * 4 - 1)
    assert np.array_equal(sheet[3:5, 4:7], maps[1, 1]) and np.isnan(sheet[2]).all()
