"""``fdsl evaluate --split val|train`` scores the split the checkpoint's fine-tuning carved, never another.

Without --val-fraction/--split-seed the run's recorded split is used (and said in one note line); other values
on the same data are refused; a checkpoint that records no split of the data needs both given; and either
option with ``--split all`` (where it would be ignored) is refused.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from helpers import assert_one_line_error, run_cli

TINY = ["--model", "test_resnet", "--image-size", "16", "--crop-pct", "0.8", "--batch-size", "8", "--epochs", "1",
        "--threads", "1", "--quiet", "--device", "cpu", "--workers", "0"]
EVAL = ["--device", "cpu", "--quiet", "--json", "--batch-size", "8"]


def image_folder(root, seed, classes=("a", "b", "c"), per_class=6):
    """Three classes of six 16x16 PNGs, each class a different mean brightness."""
    rng = np.random.default_rng(seed)
    for k, name in enumerate(classes):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            pixels = np.clip(rng.normal(40 + 80 * k, 20, (16, 16, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(root / name / f"{i}.png")
    return root


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """(data, run folder, its model.json): a fine-tuning whose split is --val-fraction 0.5 --split-seed 7."""
    root = tmp_path_factory.mktemp("evaluate_split")
    data = image_folder(root / "img3", seed=0)
    out = root / "ft50"
    from fdsl.cli import main

    assert main(["finetune", "--scratch", *TINY, "--data", str(data), "--val-fraction", "0.5", "--split-seed", "7",
                 "--out", str(out)]) == 0
    return data, out, json.loads((out / "model.json").read_text())


def scored(capsys, *argv):
    code, err = run_cli(capsys, "evaluate", *argv, *EVAL)
    assert code == 0, err
    return json.loads(run_cli.stdout.strip().splitlines()[-1]), err


def test_split_val_is_the_split_fine_tuning_carved(tiny, capsys):
    data, run, meta = tiny
    result, err = scored(capsys, "--checkpoint", run, "--data", data, "--split", "val")
    assert result["count"] == meta["metrics"]["val_count"] == 9  # 3 of each class's 6, not 10 % of them
    assert result["top1"] == pytest.approx(meta["metrics"]["val_top1"], abs=1e-6)
    notes = [line for line in err.splitlines() if "--val-fraction" in line]
    assert len(notes) == 1 and notes[0].startswith("fdsl: note:"), err
    assert "--val-fraction 0.5 --split-seed 7" in notes[0] and str(run) in notes[0]


def test_split_train_is_the_side_it_trained_on(tiny, capsys):
    data, run, meta = tiny
    result, err = scored(capsys, "--checkpoint", run, "--data", data, "--split", "train")
    assert result["count"] == meta["data"]["train_size"] == 9
    assert "--split-seed 7" in err


def test_the_runs_own_values_given_are_accepted_without_a_note(tiny, capsys):
    data, run, meta = tiny
    result, err = scored(capsys, "--checkpoint", run, "--data", data, "--split", "val", "--val-fraction", "0.5",
                         "--split-seed", "7")
    assert result["count"] == 9 and "note" not in err
    result, err = scored(capsys, "--checkpoint", run, "--data", data, "--split", "val", "--split-seed", "7")
    assert result["count"] == 9 and "--val-fraction taken from" in err  # the one not given is said


@pytest.mark.parametrize("flags, needles", [
    (["--val-fraction", "0.1"], ["--val-fraction 0.1", "--val-fraction 0.5 --split-seed 7"]),
    (["--split-seed", "3"], ["--split-seed 3", "--val-fraction 0.5 --split-seed 7"]),
    (["--val-fraction", "0.5", "--split-seed", "0"], ["--split-seed 0", "--split-seed 7"]),
])
def test_another_split_of_the_same_data_is_refused(tiny, capsys, flags, needles):
    data, run, _ = tiny
    code, err = run_cli(capsys, "evaluate", "--checkpoint", run, "--data", data, "--split", "val", *flags, *EVAL)
    assert_one_line_error(code, err, *needles)
    assert run_cli.stdout == ""


@pytest.mark.parametrize("flags, needle", [
    (["--val-fraction", "0.5"], "--val-fraction 0.5 would be ignored"),
    (["--split-seed", "3"], "--split-seed 3 would be ignored"),
    (["--split", "all", "--val-fraction", "0.5", "--split-seed", "7"], "--split all"),
])
def test_split_options_with_split_all_are_refused(tiny, capsys, flags, needle):
    data, run, _ = tiny
    code, err = run_cli(capsys, "evaluate", "--checkpoint", run, "--data", data, *flags, *EVAL)
    assert_one_line_error(code, err, needle)


def test_split_all_alone_scores_every_image(tiny, capsys):
    data, run, _ = tiny
    result, err = scored(capsys, "--checkpoint", run, "--data", data)
    assert result["count"] == 18 and "note" not in err


def test_other_data_needs_both_split_options(tiny, tmp_path, capsys):
    _, run, _ = tiny
    other = image_folder(tmp_path / "other", seed=1, per_class=4)
    code, err = run_cli(capsys, "evaluate", "--checkpoint", run, "--data", other, "--split", "val", *EVAL)
    assert_one_line_error(code, err, "records no split", "--val-fraction and --split-seed")
    code, err = run_cli(capsys, "evaluate", "--checkpoint", run, "--data", other, "--split", "val",
                        "--val-fraction", "0.5", *EVAL)
    assert_one_line_error(code, err, "records no split", "--split-seed")
    result, err = scored(capsys, "--checkpoint", run, "--data", other, "--split", "val", "--val-fraction", "0.25",
                         "--split-seed", "3")
    assert result["count"] == 3 and "note" not in err and "warning" not in err  # round(0.25 * 4) of each class


def test_a_run_with_its_own_validation_set_records_no_split(tiny, tmp_path, capsys):
    data, _, _ = tiny
    val = image_folder(tmp_path / "val", seed=2, per_class=2)
    run = tmp_path / "ftval"
    code, err = run_cli(capsys, "finetune", "--scratch", *TINY, "--data", data, "--val", val, "--out", run)
    assert code == 0, err
    code, err = run_cli(capsys, "evaluate", "--checkpoint", run, "--data", data, "--split", "val", *EVAL)
    assert_one_line_error(code, err, "validation set of its own", "records no split")
    # Given explicitly it runs, with a warning: every image of this data was a training image.
    result, err = scored(capsys, "--checkpoint", run, "--data", data, "--split", "val", "--val-fraction", "0.5",
                         "--split-seed", "7")
    assert result["count"] == 9
    assert [line for line in err.splitlines() if line.startswith("fdsl: warning:") and "trained on" in line], err


def test_python_api_defaults_to_the_runs_split(tiny):
    from fdsl.train.stages import evaluate

    data, run, meta = tiny
    assert evaluate(run, str(data), "val", progress=False, device="cpu", batch_size=8)["count"] == 9
    assert evaluate(run, str(data), progress=False, device="cpu", batch_size=8)["count"] == 18
    assert evaluate(run, str(data), "val", 0.5, 7, progress=False, device="cpu", batch_size=8)["count"] == 9
