"""Bad input to pretrain, finetune, evaluate and experiment: one line, exit 2, no traceback, no run folder left."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from helpers import assert_one_line_error, run_cli

TINY = ["--model", "test_resnet", "--image-size", "16", "--crop-pct", "0.8", "--batch-size", "8", "--epochs", "1",
        "--threads", "1", "--quiet", "--device", "cpu"]
RENDER = ["--render", "size=20", "--render", "points=600", "--render", "patches=2", "--instances", "8"]


def image_folder(root, classes, per_class=4, corrupt=None):
    """A small ImageFolder of 8x8 grey PNGs; ``corrupt``: CLASS/NAME written as bytes that are no PNG."""
    rng = np.random.default_rng(0)
    for name in classes:
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            Image.fromarray(rng.integers(0, 255, (8, 8), dtype=np.uint8)).save(root / name / f"{i}.png")
    if corrupt:
        (root / corrupt).write_bytes(b"\x89PNG\r\n\x1a\n" + b"broken" * 20)
    return root


@pytest.mark.parametrize("flags, needles", [
    (["--opt", "bogus"], ["unknown --opt 'bogus'", "sgd"]),
    (["--opt", "adamww"], ["did you mean adamw"]),
    (["--sched", "bogus"], ["unknown --sched 'bogus'", "cosine"]),
    (["--sched", "cosin"], ["did you mean cosine"]),
    (["--auto-augment", "bogus"], ["unknown --auto-augment 'bogus'", "rand-m9"]),
    (["--model", "resnet5O"], ["unknown model 'resnet5O'", "resnet50"]),
    (["--label-smoothing", "2"], ["--label-smoothing must be in [0, 1) (1 erases the labels), got 2.0"]),
    (["--mixup", "-1"], ["--mixup must be between 0 and 100, got -1.0"]),
    (["--drop-path", "1.5"], ["--drop-path must be in [0, 1) (1 drops every block), got 1.5"]),
    (["--hflip", "2"], ["--hflip must be between 0 and 1, got 2.0"]),
    (["--weight-decay", "-1"], ["--weight-decay must be between 0 and 10, got -1.0"]),
    (["--momentum", "nan"], ["--momentum", "'nan' is NaN or infinite; it must be finite"]),
    (["--image-size", "100000"], ["--image-size must be between 8 and 1024, got 100000"]),
])
def test_pretrain_settings(catalog, tmp_path, capsys, flags, needles):
    out = tmp_path / "run"
    code, err = run_cli(capsys, "pretrain", "--params", catalog, *RENDER, *TINY, "--out", out, *flags)
    assert_one_line_error(code, err, *needles)
    assert not out.exists()


def test_pretrain_out_is_a_file(catalog, tmp_path, capsys):
    out = tmp_path / "a-file"
    out.write_text("mine")
    code, err = run_cli(capsys, "pretrain", "--params", catalog, *RENDER, *TINY, "--out", out)
    assert_one_line_error(code, err, "is a file")
    assert out.read_text() == "mine"


def test_pretrain_on_an_incomplete_render_is_refused(tmp_path, capsys):
    images = image_folder(tmp_path / "render", ["00000", "00001"], per_class=8)
    (images / "manifest.json").write_text(json.dumps({"kind": "dataset", "complete": False}))
    out = tmp_path / "run"
    code, err = run_cli(capsys, "pretrain", "--images", images, *TINY, "--out", out)
    assert_one_line_error(code, err, "incomplete", "re-running the same 'fdsl render' command")
    assert not out.exists()
    (images / "manifest.json").write_text(json.dumps({"kind": "dataset", "complete": True}))
    assert run_cli(capsys, "pretrain", "--images", images, *TINY, "--out", out)[0] == 0  # finished: accepted


FT = ["finetune", "--scratch", "--data", "sklearn-digits", *TINY]


def test_more_train_images_than_the_data(tmp_path, capsys):
    out = tmp_path / "run"
    code, err = run_cli(capsys, *FT, "--train-images", "100000", "--out", out)
    assert_one_line_error(code, err, "--train-images 100000 is more than the 1618 training images after the validation split")
    code, err = run_cli(capsys, *FT, "--train-images", "2000", "--val", "sklearn-digits", "--out", out)
    assert_one_line_error(code, err, "--train-images 2000 is more than the 1797 training images in sklearn-digits")
    assert not out.exists()


def test_npz_of_flat_images(tmp_path, capsys):
    data = tmp_path / "flat.npz"
    np.savez(data, images=np.zeros((20, 64), np.uint8), labels=np.arange(20) % 2)
    out = tmp_path / "run"
    code, err = run_cli(capsys, *FT, "--data", data, "--out", out)
    assert_one_line_error(code, err, "N x H x W", "(20, 64)")
    assert not out.exists()


@pytest.mark.parametrize("workers", ["0", "1"])
def test_a_corrupt_image_is_named(tmp_path, capsys, workers):
    data = image_folder(tmp_path / "data", ["a", "b"], per_class=8, corrupt="b/broken.png")
    out = tmp_path / "run"
    code, err = run_cli(capsys, *FT, "--data", data, "--val-fraction", "0.25", "--workers", workers, "--out", out)
    assert_one_line_error(code, err, "cannot decode", str(data / "b" / "broken.png"))
    assert not out.exists()  # failed before its first checkpoint: nothing kept


@pytest.mark.parametrize("flags, needle", [
    (["--workers", "-2"], "--workers must be at least 0, got -2"),
    (["--batch-size", "0"], "--batch-size must be at least 1, got 0"),
])
def test_evaluate_loader_settings(tmp_path, capsys, flags, needle):
    code, err = run_cli(capsys, "evaluate", "--checkpoint", tmp_path, "--data", "sklearn-digits", *flags)
    assert_one_line_error(code, err, needle)


@pytest.mark.parametrize("flags, needle", [
    (["--seeds", "1,1"], "--seeds needs at least one seed and no repeats"),
    (["--finetune-lr", "-1"], "--finetune-lr must be above 0, got -1.0"),
    (["--image-size", "100000"], "--render-size 128 is smaller than --image-size 100000"),
    (["--model", "vit_tiny_patch16_22"], "unknown model"),
    (["--categories", "0"], "--categories must be at least 1"),
])
def test_experiment_plan(tmp_path, capsys, flags, needle):
    out = tmp_path / "experiment"
    code, err = run_cli(capsys, "experiment", "reproduce", "--data", "sklearn-digits", "--out", out, *flags)
    assert_one_line_error(code, err, needle)
    assert not out.exists()
