"""What --resume and evaluate refuse, which checkpoint --resume takes, and one writer per run folder.

A resume with anything that decides the data, the split or the starting weights changed is refused
(one line, exit 2, naming the setting and both values) and leaves the run resumable; a finished run
says so and exits 0; a folder with nothing complete starts from the beginning.  ``checkpoint.latest``
never takes a staging folder or an incomplete step folder, and does not trust a stale LATEST.
"""

from __future__ import annotations

import functools
import json
import shutil

import numpy as np
import pytest
import torch
from PIL import Image

from fdsl.cli import main
from fdsl.train import checkpoint, engine
from helpers import assert_one_line_error, run_cli

TINY = ["--model", "test_resnet", "--image-size", "16", "--crop-pct", "0.8", "--batch-size", "8", "--lr", "0.05",
        "--threads", "1", "--quiet", "--device", "cpu", "--checkpoint-every", "1"]
RENDER = ["--render", "size=20", "--render", "points=600", "--render", "patches=2", "--instances", "8"]


def stopped(argv, steps: int) -> list:
    """Run ``fdsl ARGV`` but stop after ``steps`` steps, as a kill right after that checkpoint would."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(engine, "fit", functools.partial(engine.fit, stop_after_steps=steps))
        assert main([str(a) for a in argv]) == 0
    return argv


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    return tmp_path_factory.mktemp("runs")


def pretrain_argv(catalog, out, epochs=2):
    return ["pretrain", "--params", catalog, *RENDER, "--epochs", str(epochs), "--data-seed", "0", *TINY,
            "--out", out]


@pytest.fixture(scope="module")
def pretrained(catalog, runs):
    """A finished one-epoch pre-training run (the start of the fine-tuning runs)."""
    argv = pretrain_argv(catalog, runs / "pre", epochs=1)
    assert main([str(a) for a in argv]) == 0
    return argv


@pytest.fixture(scope="module")
def stopped_pretrain(catalog, runs):
    return stopped(pretrain_argv(catalog, runs / "pre-stopped"), 3)


def finetune_argv(out, start: list):
    return ["finetune", *start, "--data", "sklearn-digits", "--train-images", "64", "--val-fraction", "0.1",
            "--split-seed", "0", "--epochs", "2", *TINY, "--out", out]


@pytest.fixture(scope="module")
def stopped_scratch(runs):
    return stopped(finetune_argv(runs / "ft-scratch", ["--scratch"]), 3)


@pytest.fixture(scope="module")
def stopped_from_checkpoint(runs, pretrained):
    return stopped(finetune_argv(runs / "ft-pre", ["--checkpoint", runs / "pre"]), 3)


def state_of(out):
    return sorted((p.relative_to(out), p.stat().st_mtime_ns) for p in out.rglob("*") if p.name != engine.LOCK)


@pytest.mark.parametrize("change, needles", [
    (["--data-seed", "1"], ["--resume with another --data-seed: the run used 0, this command gives 1"]),
    (["--instances", "6"], ["--resume with another --instances: the run used 8, this command gives 6"]),
    (["--render", "points=700"], ["--resume with another render setting (--render points)", "600", "700"]),
    (["--epochs", "3"], ["--resume with another --epochs: the run used 2, this command gives 3"]),
    (["--seed", "1"], ["--resume with another --seed"]),
])
def test_resume_of_a_pretraining_with_other_data_is_refused(stopped_pretrain, capsys, change, needles):
    out = stopped_pretrain[-1]
    before = state_of(out)
    code, err = run_cli(capsys, *stopped_pretrain, "--resume", *change)
    assert_one_line_error(code, err, *needles)
    assert state_of(out) == before  # refused before anything was touched: still resumable


def test_resume_of_a_finetuning_with_another_split_is_refused(stopped_scratch, capsys):
    code, err = run_cli(capsys, *stopped_scratch, "--resume", "--split-seed", "1")
    assert_one_line_error(code, err, "--split-seed", "split seed 0", "split seed 1")


def test_resume_with_another_start_is_refused(stopped_scratch, stopped_from_checkpoint, capsys):
    from_checkpoint = stopped_from_checkpoint[stopped_from_checkpoint.index("--checkpoint"):][:2]
    scratch_out, pre_out = stopped_scratch[-1], stopped_from_checkpoint[-1]
    code, err = run_cli(capsys, *finetune_argv(scratch_out, from_checkpoint), "--resume")
    assert_one_line_error(code, err, "another start (--checkpoint or --scratch): the run used scratch, this command "
                          "gives checkpoint")
    code, err = run_cli(capsys, *finetune_argv(pre_out, ["--scratch"]), "--resume")
    assert_one_line_error(code, err, "another start (--checkpoint or --scratch): the run used checkpoint, this "
                          "command gives scratch")


def test_the_refused_run_resumes_and_a_finished_run_says_so(stopped_pretrain, capsys):
    code, _ = run_cli(capsys, *stopped_pretrain, "--resume")
    assert code == 0
    meta = json.loads((stopped_pretrain[-1] / "model.json").read_text())
    assert meta["complete"] and meta["epoch"] == 2
    code, err = run_cli(capsys, *stopped_pretrain, "--resume")
    assert code == 0 and "already complete (2 epochs); nothing to do" in run_cli.stdout + err


def test_resume_with_nothing_complete_starts_from_the_beginning(pretrained, runs, capsys):
    out = runs / "nothing-complete"
    staging = out / "checkpoints" / ".step-000000002.4242.tmp"  # a save killed before its rename
    staging.mkdir(parents=True)
    (staging / "model.safetensors").write_bytes(b"half")
    partial = out / "checkpoints" / "step-000000003"  # a step folder missing its state
    partial.mkdir()
    (partial / "model.json").write_text("{}")
    code, err = run_cli(capsys, *pretrained[:-1], out, "--resume")
    assert code == 0, err
    assert "holds no complete checkpoint yet; starting from the beginning" in run_cli.stdout + err
    same_weights(pretrained[-1], out)


def test_a_second_training_into_the_same_folder_is_refused(pretrained, runs, capsys):
    out = runs / "busy"
    out.mkdir()
    held = engine._lock(out)  # a training run in progress
    try:
        code, err = run_cli(capsys, *pretrained[:-1], out)
        assert_one_line_error(code, err, "another fdsl training run is writing to", "choose another --out")
        code, err = run_cli(capsys, *pretrained[:-1], out, "--resume")
        assert_one_line_error(code, err, "another fdsl training run is writing to")
    finally:
        held.release()
    assert out.is_dir() and not (out / "checkpoints").exists()  # the other writer's folder is left alone
    assert run_cli(capsys, *pretrained[:-1], out, "--resume")[0] == 0  # the lock goes with its holder
    same_weights(pretrained[-1], out)


def same_weights(a, b):
    left, right = checkpoint.load_weights(a), checkpoint.load_weights(b)
    assert left.keys() == right.keys() and all(torch.equal(left[k], right[k]) for k in left)


def test_evaluate_refuses_other_class_names_unless_asked(stopped_scratch, tmp_path, capsys):
    names = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
    for name in names:
        (tmp_path / "data" / name).mkdir(parents=True)
        Image.fromarray(np.full((8, 8), 100, np.uint8)).save(tmp_path / "data" / name / "a.png")
    evaluate = ["evaluate", "--checkpoint", stopped_scratch[-1], "--data", tmp_path / "data", "--quiet"]
    code, err = run_cli(capsys, *evaluate)
    assert_one_line_error(code, err, "class 0 is 'eight' but the checkpoint's class 0 is '0'",
                          "--match-classes-by-index")
    code, err = run_cli(capsys, *evaluate, "--match-classes-by-index", "--json")
    assert code == 0 and json.loads(run_cli.stdout)["count"] == 10


# checkpoint.latest, without training


def save(folder, step):
    return checkpoint.save(folder, {"w": torch.full((2,), float(step))}, {"global_step": step}, {"step": step})


def test_latest_ignores_staging_and_incomplete_folders(tmp_path):
    assert checkpoint.latest(tmp_path) is None
    save(tmp_path, 1)
    newest = save(tmp_path, 2)
    root = tmp_path / "checkpoints"
    assert sorted(p.name for p in root.iterdir()) == ["LATEST", "step-000000002"]  # the older one is gone
    staging = root / ".step-000000009.77.tmp"  # complete-looking, but never renamed: a save that was killed
    shutil.copytree(newest, staging)
    missing = root / "step-000000005"
    shutil.copytree(newest, missing)
    (missing / "state.pt").unlink()
    assert checkpoint.latest(tmp_path) == newest
    (root / "LATEST").write_text("step-000000005")
    assert checkpoint.latest(tmp_path) == newest


def test_latest_does_not_trust_a_stale_pointer(tmp_path):
    save(tmp_path, 1)
    root = tmp_path / "checkpoints"
    shutil.copytree(root / "step-000000001", root / "step-000000004")
    (root / "LATEST").write_text("step-000000007")  # deleted since
    assert checkpoint.latest(tmp_path) == root / "step-000000004"
    (root / "LATEST").write_text("step-000000001")  # killed between the rename and the pointer update
    assert checkpoint.latest(tmp_path) == root / "step-000000004"
    shutil.rmtree(root / "step-000000004")
    shutil.rmtree(root / "step-000000001")
    assert checkpoint.latest(tmp_path) is None


def test_weights_file_bytes_do_not_depend_on_the_process(tmp_path):
    """safetensors writes its metadata from a Rust HashMap, in an order that changes between calls and
    processes; the checkpoint's weights file must not (two identical runs, byte-identical files)."""
    import torch
    from safetensors import safe_open
    from safetensors.torch import load

    from fdsl.train.checkpoint import weights_bytes

    weights = {"b": torch.arange(6.0).reshape(2, 3), "a": torch.ones(5, dtype=torch.int64)}
    metadata = {f"key{i}": f"value{i}" for i in range(12)}
    files = {weights_bytes(weights, metadata) for _ in range(30)}
    assert len(files) == 1
    (data,) = files
    assert int.from_bytes(data[:8], "little") % 8 == 0
    loaded = load(data)
    assert torch.equal(loaded["b"], weights["b"]) and torch.equal(loaded["a"], weights["a"])
    path = tmp_path / "w.safetensors"
    path.write_bytes(data)
    with safe_open(str(path), "pt") as handle:
        assert handle.metadata() == metadata
