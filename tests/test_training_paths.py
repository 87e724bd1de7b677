"""Training paths that had no test: the DeiT recipe with Mixup/CutMix, finetune --val, a ViT fine-tuned at another
input size with another drop-path, label noise through the CLI, progress lines in a log."""

from __future__ import annotations

import io
import json

import pytest

from fdsl.core.progress import PlainProgress, bar
from fdsl.train import augment, checkpoint
from fdsl.train.recipes import recipe_config
from fdsl.train.stages import FinetuneData, finetune, pretrain
from helpers import run_cli

RENDER = {"size": "20", "points": "600", "patches": "2"}


@pytest.fixture(scope="module")
def vit_run(catalog, tmp_path_factory):
    """A tiny DeiT-recipe pre-training: timm's RandAugment transform, Mixup/CutMix and soft-target loss."""
    config = recipe_config("deit", "pretrain", dict(model="vit-nano-p4", epochs=1, batch_size=8, image_size=16,
                                                    threads=1, warmup_epochs=0))
    out = tmp_path_factory.mktemp("runs") / "deit"
    meta = pretrain(config, out, "deit", params=catalog, render_options=RENDER, instances=4, progress=False)
    return out, meta


def test_deit_recipe_uses_timm_transforms_mixup_and_soft_targets(vit_run):
    out, meta = vit_run
    config = recipe_config("deit", "pretrain", dict(image_size=16))
    assert type(augment.mixup(config, 4)).__name__ == "Mixup"
    assert type(augment.loss_function(config, True)).__name__ == "SoftTargetCrossEntropy"
    assert "RandAugment" in repr(augment.train_transform(config))
    assert meta["config"]["mixup"] == 0.8 and meta["config"]["cutmix"] == 1.0 and meta["complete"]
    assert meta["model_kwargs"]["img_size"] == 16 and meta["model_kwargs"]["drop_path_rate"] == 0.1


def test_vit_fine_tuned_at_another_size_and_drop_path(vit_run, tmp_path):
    out, _ = vit_run
    config = recipe_config("vit-small", "finetune", dict(epochs=1, batch_size=16, image_size=32, drop_path=0.2,
                                                         threads=1, mixup=0.0, cutmix=0.0))
    meta = finetune(config, tmp_path / "ft", "vit-small", FinetuneData("sklearn-digits", train_images=64),
                    checkpoint_path=out, progress=False)
    assert meta["model_kwargs"]["img_size"] == 32 and meta["model_kwargs"]["drop_path_rate"] == 0.2
    import timm

    model = timm.create_model(meta["model"], num_classes=10, **meta["model_kwargs"])
    weights = checkpoint.load_weights(tmp_path / "ft")
    model.load_state_dict(weights)  # the position embeddings were resampled to 8 x 8 patches
    assert weights["pos_embed"].shape[1] == 64
    rates = [m.drop_prob for m in model.modules() if type(m).__name__ == "DropPath"]
    assert rates and max(rates) == pytest.approx(0.2)


def test_finetune_with_an_explicit_validation_set(tmp_path, capsys):
    import numpy as np
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = np.round(digits.images * 255 / 16).astype(np.uint8)
    np.savez(tmp_path / "train.npz", images=images[:300], labels=digits.target[:300])
    np.savez(tmp_path / "val.npz", images=images[300:400], labels=digits.target[300:400])
    code, err = run_cli(capsys, "finetune", "--scratch", "--model", "test_resnet", "--data", tmp_path / "train.npz",
                        "--val", tmp_path / "val.npz", "--out", tmp_path / "run", "--epochs", "1", "--batch-size", "32",
                        "--image-size", "16", "--threads", "1", "--quiet")
    assert code == 0, err
    meta = json.loads((tmp_path / "run" / "model.json").read_text())
    assert meta["data"]["val_size"] == 100 and meta["data"]["train_size"] == 300
    assert meta["metrics"]["val_count"] == 100


def test_label_noise_through_the_cli(catalog, tmp_path, capsys):
    code, err = run_cli(capsys, "pretrain", "--params", catalog, "--out", tmp_path / "noisy", "--model", "test_resnet",
                        "--image-size", "16", "--crop-pct", "0.8", "--batch-size", "8", "--epochs", "1",
                        "--instances", "8", "--render", "size=20", "--render", "points=600", "--render", "patches=2",
                        "--label-noise", "0.5", "--threads", "1", "--quiet")
    assert code == 0, err
    meta = json.loads((tmp_path / "noisy" / "model.json").read_text())
    assert meta["label_noise"] == {"fraction": 0.5, "changed": 16}  # half of 4 x 8 images


def test_progress_in_a_log_is_an_occasional_plain_line():
    log = io.StringIO()  # not a terminal
    progress = bar(total=100, desc="epoch 1/1", stream=log)
    assert isinstance(progress, PlainProgress)
    progress.interval = 0.0
    progress.set_postfix(loss="0.5")
    for _ in range(3):
        progress.update(1)
    lines = log.getvalue().splitlines()
    assert len(lines) == 3 and "\r" not in log.getvalue() and lines[-1].startswith("epoch 1/1: 3/100")
    assert lines[-1].endswith(", loss 0.5")
    quiet = io.StringIO()
    slow = bar(total=100, desc="x", stream=quiet)  # the default interval: nothing within a second
    slow.update(50)
    assert quiet.getvalue() == ""


def test_the_cli_starts_without_torch_or_timm():
    """`fdsl render` / `search` must not pay the ~8 s torch + timm import of the training verbs."""
    import subprocess
    import sys

    code = "import sys, fdsl.cli; fdsl.cli.build_parser(); print('torch' in sys.modules, 'timm' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False", "False"]
