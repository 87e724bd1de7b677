"""Notes about a run's settings are said once, before its work, and never beside a refusal of its input."""

from __future__ import annotations

import pytest

from fdsl.core import notes
from fdsl.core.errors import FdslError
from fdsl.core.progress import bar
from helpers import assert_one_line_error, make_segmentation_pairs, run_cli


def test_a_refusal_before_the_work_drops_the_held_notes(capsys):
    with pytest.raises(FdslError), notes.held_until_work():
        notes.note("recipe warm-up fitted")
        raise FdslError("bad input")
    assert capsys.readouterr().err == ""


def test_held_notes_are_said_when_the_work_starts_and_before_its_progress(capsys):
    with notes.held_until_work():
        notes.note("recipe warm-up fitted")
        assert capsys.readouterr().err == ""        # still checking the inputs: nothing said yet
        bar(3, "training", enabled=False).close()   # the work begins
        assert capsys.readouterr().err == "fdsl: note: recipe warm-up fitted\n"


def test_a_failure_after_the_work_started_keeps_the_notes(capsys):
    with pytest.raises(FdslError), notes.held_until_work():
        notes.note("recipe warm-up fitted")
        notes.work_starts()
        raise FdslError("disk full")
    assert "recipe warm-up fitted" in capsys.readouterr().err


def test_outside_a_command_notes_are_said_at_once(capsys):
    notes.note("from the Python API")
    assert capsys.readouterr().err == "fdsl: note: from the Python API\n"


def test_a_fitted_warm_up_is_not_said_beside_a_refused_segmentation_dataset(tmp_path, capsys):
    # --epochs 1 makes the recipe fit its warm-up (a note); the data then fails its check: one line only.
    out = tmp_path / "run"
    code, err = run_cli(capsys, "finetune", "--task", "segmentation", "--scratch", "--model", "resnet10t",
                        "--data", make_segmentation_pairs(tmp_path / "data", labels=4), "--epochs", "1", "--image-size", "64",
                        "--num-classes", "2", "--out", out)
    assert_one_line_error(code, err, "holds class id")
    assert not out.exists()
