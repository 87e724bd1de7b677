"""The learnability check: training-free learners on unseen images, beside the pretext accuracy."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision import transforms as T

from helpers import assert_one_line_error, run_cli
from fdsl.train import diagnose, learnability


class Blobs(torch.utils.data.Dataset):
    """Each class a bright square at its own place on noise; ``shuffle_labels`` makes the labels meaningless."""

    def __init__(self, classes: int, per_class: int, seed: int, shuffle_labels: bool = False):
        rng = np.random.default_rng(seed)
        self.targets = np.repeat(np.arange(classes), per_class)
        self.images = []
        for label in self.targets:
            image = rng.integers(0, 60, (16, 16, 3), dtype=np.uint8)
            row, col = divmod(int(label), 4)
            image[row * 4:row * 4 + 4, col * 4:col * 4 + 4] = 255
            self.images.append(image)
        if shuffle_labels:
            self.targets = rng.permutation(self.targets)

    def __len__(self):
        return len(self.targets)

    def __getitem__(self, index):
        return Image.fromarray(self.images[index]), int(self.targets[index])


def test_separable_classes_are_found_and_random_labels_are_not():
    import timm

    model = timm.create_model("resnet10t", num_classes=8)
    transform = T.ToTensor()
    found = learnability.measure(Blobs(8, 12, seed=0), Blobs(8, 5, seed=1), transform, 16, model, progress=False)
    assert found.chance == pytest.approx(12.5)
    assert found.pixel_knn == 100.0
    assert found.random_features is not None and found.random_features > 50.0
    assert found.reference_images == 8 * 12 and found.unseen_images == 40
    noise = learnability.measure(Blobs(8, 12, seed=0, shuffle_labels=True), Blobs(8, 5, seed=1, shuffle_labels=True),
                                 transform, 16, None, progress=False)
    assert noise.pixel_knn < 40.0 and noise.random_features is None
    assert "pixel 1-NN 100.0 %" in found.summary() and "chance 12.5 %" in found.summary()


def test_reference_images_are_capped_per_category():
    found = learnability.measure(Blobs(4, 30, seed=0), Blobs(4, 3, seed=1), T.ToTensor(), 16, None,
                                 per_category=7, progress=False)
    assert found.reference_images == 4 * 7


def test_the_warning_says_whose_fault_it_is():
    learnable = {"pixel_knn": 84.0, "random_features": 60.0}
    hard = {"pixel_knn": 7.0, "random_features": 6.0}
    model_fault = diagnose.pretraining(8.0, 6, 6, 20, learnable)
    data_fault = diagnose.pretraining(8.0, 6, 6, 20, hard)
    assert "the data is learnable" in model_fault and "84.0 %" in model_fault
    assert "hard to tell apart" in data_fault and "7.0 %" in data_fault
    assert diagnose.pretraining(90.0, 6, 6, 20, learnable) is None


def test_pretrain_learnability_only_trains_and_writes_nothing(tiny_catalog, tmp_path, capsys):
    out = tmp_path / "run"
    code, err = run_cli(capsys, "pretrain", "--params", str(tiny_catalog), "--render", "size=64",
                              "--render", "points=5000", "--instances", "12", "--model", "resnet10t",
                              "--image-size", "32", "--heldout-per-category", "4", "--out", str(out),
                              "--learnability-only", "--quiet")
    assert code == 0, err
    text = run_cli.stdout
    assert "learnability at 32 px: pixel 1-NN" in text and "random-feature probe" in text
    assert "(chance 33.3 %)" in text
    assert not out.exists()


def test_learnability_only_refuses_tasks_it_cannot_measure(tiny_catalog, tmp_path, capsys):
    code, err = run_cli(capsys, "pretrain", "--params", str(tiny_catalog), "--out", str(tmp_path / "r"),
                           "--task", "multi-instance", "--learnability-only", "--quiet")
    assert_one_line_error(code, err, "single-label")
    code, err = run_cli(capsys, "pretrain", "--params", str(tiny_catalog), "--out", str(tmp_path / "r"),
                           "--learnability-only", "--no-learnability-check", "--quiet")
    assert_one_line_error(code, err, "--no-learnability-check")
    assert not (tmp_path / "r").exists()


def test_progress_into_a_log_file_is_plain_lines(capsys, monkeypatch):
    """Into a file (not a terminal) the check's progress is an occasional plain line, never \\r fragments."""
    from fdsl.core import progress

    monkeypatch.setattr(progress, "LOG_INTERVAL", 0.0)  # a line on every step: the worst case for a log
    learnability.measure(Blobs(4, 6, seed=0), Blobs(4, 2, seed=1), T.ToTensor(), 16, None, progress=True)
    err = capsys.readouterr().err
    assert "\r" not in err and "learnability" in err and err.count("\n") >= 4 * 6
