"""Segmentation training: scores, image/mask folders, smp checkpoints, encoder initialisation, the proxy task."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from fdsl.train.tasks.segmentation import scores
from helpers import SHARED_DATA, assert_one_line_error, make_segmentation_pairs as _pairs, run_cli

TINY = ["--image-size", "64", "--epochs", "1", "--batch-size", "2", "--threads", "1", "--quiet"]


def test_scores_from_a_confusion_matrix():
    # rows: labels, columns: predictions.  IoU0 = 3 / (3 + 1 + 0), IoU1 = 2 / (2 + 0 + 1), class 2 absent.
    confusion = np.array([[3, 1, 0], [0, 2, 0], [0, 0, 0]])
    result = scores(confusion)
    assert result["miou"] == pytest.approx(100 * (0.75 + 2 / 3) / 2)
    assert result["pixel_acc"] == pytest.approx(100 * 5 / 6)


@pytest.fixture
def classifier(tmp_path):
    """An fdsl classification checkpoint of timm's resnet10t (weights saved as a run would)."""
    import timm

    from fdsl.train import checkpoint

    model = timm.create_model("resnet10t", num_classes=4)
    folder = tmp_path / "classifier"
    checkpoint.save(folder, {k: v.contiguous() for k, v in model.state_dict().items()},
                    {"model": "resnet10t", "model_kwargs": {}, "classes": ["a", "b", "c", "d"], "global_step": 0},
                    {"global_step": 0})
    return folder, model


def test_finetune_on_a_folder_loads_with_plain_smp(tmp_path, capsys, classifier):
    import segmentation_models_pytorch as smp
    from safetensors.torch import load_file

    folder, source = classifier
    data = _pairs(tmp_path / "data")
    out = tmp_path / "run"
    code, err = run_cli(capsys, "finetune", "--task", "segmentation", "--checkpoint", folder, "--data", data,
                        "--val-fraction", "0.34", "--lr", "1e-9", *TINY, "--out", out)
    assert code == 0, err
    meta = json.loads((out / "model.json").read_text())
    assert meta["task"] == "segmentation" and meta["model"] == "FPN" and len(meta["classes"]) == 3
    assert meta["parent"]["model"] == "resnet10t"
    model = smp.create_model(meta["model"], **meta["model_kwargs"])
    model.load_state_dict(load_file(out / "model.safetensors"))  # strict: plain smp rebuilds the run's model
    # The encoder started from the classifier (a few steps at lr <= 1e-6 later: still its weights).
    encoder = model.encoder.model.state_dict()
    assert torch.allclose(encoder["conv1.0.weight"], source.state_dict()["conv1.0.weight"], atol=1e-4)
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    epoch = [r for r in records if r["kind"] == "epoch"][-1]
    assert 0 <= epoch["val_miou"] <= 100 and 0 <= epoch["val_pixel_acc"] <= 100
    assert (out / "curves.png").is_file()


def test_pretrain_on_segrcdb_then_finetune_keeps_the_decoder(tmp_path, capsys):
    from safetensors.torch import load_file

    code, _ = run_cli(capsys, "search", "segrcdb", "--categories", "4", "--out", tmp_path / "cat", "--quiet")
    assert code == 0
    pre = tmp_path / "pre"
    code, err = run_cli(capsys, "pretrain", "--task", "segmentation", "--params", tmp_path / "cat", "--render",
                        "size=64", "--render", "instances=3", "--instances", "4", "--heldout-per-category", "2",
                        "--model", "resnet10t", *TINY, "--out", pre)
    assert code == 0, err
    meta = json.loads((pre / "model.json").read_text())
    assert len(meta["classes"]) == 5 and "heldout_miou" in meta["metrics"]
    out = tmp_path / "ft"
    code, err = run_cli(capsys, "finetune", "--task", "segmentation", "--checkpoint", pre, "--data",
                        _pairs(tmp_path / "data"), "--val-fraction", "0.34", "--lr", "1e-9", *TINY, "--out", out)
    assert code == 0, err
    before, after = load_file(pre / "model.safetensors"), load_file(out / "model.safetensors")
    name = next(k for k in before if k.startswith("decoder.") and k.endswith("weight"))
    assert torch.allclose(before[name], after[name], atol=1e-4)  # the decoder came from the pre-training
    assert after["segmentation_head.0.weight"].shape[0] == 3      # a new head for the 3 classes of the data


def test_image_without_mask(tmp_path, capsys):
    data = _pairs(tmp_path / "data", missing=2)
    out = tmp_path / "run"
    code, err = run_cli(capsys, "finetune", "--task", "segmentation", "--scratch", "--model", "resnet10t",
                        "--data", data, *TINY, "--out", out)
    assert_one_line_error(code, err, "002.jpg has no mask", "annotations/training/002.png")
    assert not out.exists()


def test_mask_ids_beyond_the_classes(tmp_path, capsys):
    data = _pairs(tmp_path / "data", labels=4)
    out = tmp_path / "run"
    code, err = run_cli(capsys, "finetune", "--task", "segmentation", "--scratch", "--model", "resnet10t",
                        "--data", data, "--num-classes", "2", *TINY, "--out", out)
    assert_one_line_error(code, err, "holds class id", "beyond the 2 classes")
    assert not out.exists()


def test_classifier_whose_encoder_does_not_match(tmp_path, capsys, classifier):
    out = tmp_path / "run"
    code, err = run_cli(capsys, "finetune", "--task", "segmentation", "--checkpoint", classifier[0], "--model",
                        "resnet18", "--data", _pairs(tmp_path / "data"), *TINY, "--out", out)
    assert_one_line_error(code, err, "is a resnet10t classifier", "tu-resnet18")
    assert not out.exists()


@pytest.mark.parametrize("flags, needle", [
    (["--decoder", "unet3d"], "unknown --decoder 'unet3d'"),
    (["--seg-loss", "focal"], "unknown --seg-loss 'focal'"),
    (["--image-size", "48"], "multiple of 32"),
    (["--image-size", "32"], "of at least 64"),
    (["--scale-range", "2-1"], "--scale-range 2-1"),
])
def test_bad_segmentation_options(tmp_path, capsys, flags, needle):
    out = tmp_path / "run"
    code, err = run_cli(capsys, "finetune", "--task", "segmentation", "--scratch", "--model", "resnet10t",
                        "--data", _pairs(tmp_path / "data"), *TINY, *flags, "--out", out)
    assert_one_line_error(code, err, needle)
    assert not out.exists()


@pytest.mark.skipif(not (SHARED_DATA / "fashion_mnist").is_dir(), reason="needs ../shared/data/fashion_mnist")
def test_fashion_canvas_is_seeded_and_its_splits_do_not_share_items():
    from fdsl.data.proxy import INK, FashionCanvas

    folder = SHARED_DATA / "fashion_mnist"
    first, again = FashionCanvas(folder, "train", 20, seed=3), FashionCanvas(folder, "train", 20, seed=3)
    assert first.fingerprint == again.fingerprint
    assert FashionCanvas(folder, "train", 20, seed=4).fingerprint != first.fingerprint
    # Labelled pixels are exactly the item pixels above the ink threshold; the rest is background.
    assert np.array_equal(first.masks > 0, first.images > INK)
    assert set(np.unique(first.masks)) <= set(range(11)) and len(np.unique(first.masks)) > 3
    val, held = FashionCanvas(folder, "val", 20, seed=3), FashionCanvas(folder, "heldout", 20, seed=3)
    assert len({first.fingerprint, val.fingerprint, held.fingerprint}) == 3


def test_a_killed_segmentation_run_resumes_to_the_same_weights(tmp_path, capsys):
    import functools

    from safetensors.torch import load_file

    from fdsl.cli import main
    from fdsl.train import engine

    data = _pairs(tmp_path / "data")
    argv = ["finetune", "--task", "segmentation", "--scratch", "--model", "resnet10t", "--data", data,
            "--val-fraction", "0.34", "--image-size", "64", "--epochs", "2", "--batch-size", "2", "--threads", "1",
            "--quiet", "--checkpoint-every", "1"]
    assert main([str(a) for a in argv + ["--out", tmp_path / "whole"]]) == 0
    with pytest.MonkeyPatch.context() as patch:  # a kill right after the mid-epoch checkpoint of step 1
        patch.setattr(engine, "fit", functools.partial(engine.fit, stop_after_steps=1))
        assert main([str(a) for a in argv + ["--out", tmp_path / "killed"]]) == 0
    assert main([str(a) for a in argv + ["--out", tmp_path / "killed", "--resume"]]) == 0
    whole, resumed = load_file(tmp_path / "whole" / "model.safetensors"), load_file(tmp_path / "killed" /
                                                                                   "model.safetensors")
    assert all(torch.equal(whole[k], resumed[k]) for k in whole)


@pytest.mark.parametrize("flags, needle", [
    (["--categories", "300"], "at most 254 classes"),
    (["--segrcdb-mask", "m9"], "unknown mask mode 'm9'"),
    (["--decoder", "deeplab9"], "unknown --decoder"),
    (["--seeds", "0,0"], "no repeats"),
    (["--image-size", "40"], "multiple of 32"),
])
def test_segmentation_experiment_refuses_a_bad_plan_before_any_work(tmp_path, capsys, flags, needle):
    out = tmp_path / "exp"
    code, err = run_cli(capsys, "experiment", "segmentation", "--out", out, *flags)
    assert_one_line_error(code, err, needle)
    assert not out.exists()
