"""--tensorboard: event files beside metrics.jsonl that TensorBoard reads, holding the same numbers."""

from __future__ import annotations

import json

import pytest

from helpers import assert_one_line_error, run_cli

pytest.importorskip("tensorboard", reason="the tensorboard extra is not installed (pip install 'fdsl[tensorboard]')")


def _finetune(capsys, out, *extra):
    return run_cli(capsys, "finetune", "--scratch", "--model", "resnet10t", "--data", "sklearn-digits",
                   "--train-images", "40", "--image-size", "16", "--epochs", "2", "--batch-size", "16",
                   "--out", str(out), "--quiet", *extra)


def test_event_files_hold_the_epoch_records(tmp_path, capsys):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    code, err = _finetune(capsys, tmp_path / "run", "--tensorboard")
    assert code == 0, err
    events = EventAccumulator(str(tmp_path / "run" / "tensorboard"))
    events.Reload()
    epochs = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()
              if json.loads(line)["kind"] == "epoch"]
    val = events.Scalars("val/top1")
    assert [e.step for e in val] == [r["step"] for r in epochs]
    assert [round(e.value, 3) for e in val] == [round(r["val_top1"], 3) for r in epochs]
    assert "train/loss" in events.Tags()["scalars"]


def test_without_the_flag_no_event_files(tmp_path, capsys):
    code, err = _finetune(capsys, tmp_path / "run")
    assert code == 0, err
    assert not (tmp_path / "run" / "tensorboard").exists()


def test_missing_package_is_one_line_before_training(tmp_path, capsys, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "tensorboard" else real(name, *a))
    code, err = _finetune(capsys, tmp_path / "run", "--tensorboard")
    assert_one_line_error(code, err, "--tensorboard", "fdsl[tensorboard]")
    assert not (tmp_path / "run").exists()
