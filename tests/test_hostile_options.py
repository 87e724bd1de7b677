"""Hostile option values across verbs: each is one line on stderr, exit 2, no traceback, nothing written."""

import numpy as np
import pytest

from helpers import assert_one_line_error, run_cli

TRAIN = ["--epochs", "1", "--batch-size", "8", "--quiet"]

PRETRAIN_CASES = [
    (["--threads", "-1"], "--threads must be at least 0"),
    (["--seed", "-1"], "--seed must be between 0 and 2**63 - 1"),
    (["--seed", str(2**64)], "--seed must be between 0 and 2**63 - 1"),
    (["--device", "bogus"], "unknown device 'bogus'"),
    (["--device", "tpu"], "device 'tpu'"),
    (["--checkpoint-every", "-1"], "--checkpoint-every must be at least 0"),
    (["--heldout-per-category", "0"], "--heldout-per-category must be at least 1"),
    (["--warmup-epochs", "nan"], "--warmup-epochs: 'nan' is NaN"),
    (["--lr", "inf"], "--lr: 'inf' is NaN"),
    (["--image-size", "100000"], "--image-size must be between 8 and"),
]


@pytest.mark.parametrize("extra, needle", PRETRAIN_CASES, ids=[" ".join(c[0]) for c in PRETRAIN_CASES])
def test_pretrain_refuses(extra, needle, tiny_catalog, tmp_path, capsys):
    out = tmp_path / "run"
    code, err = run_cli(capsys, "pretrain", "--params", str(tiny_catalog), "--out", str(out), *TRAIN, *extra)
    assert_one_line_error(code, err, needle)
    assert not out.exists()


def test_an_unwritable_run_folder_is_one_line(tiny_catalog, tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    code, err = run_cli(capsys, "pretrain", "--params", str(tiny_catalog), "--out", str(blocker / "run"), *TRAIN,
                        "--render", "size=32", "--render", "points=2000", "--instances", "4",
                        "--heldout-per-category", "1", "--no-learnability-check")
    assert_one_line_error(code, err, "cannot create", "choose a writable --out")


@pytest.mark.parametrize("labels, needle", [
    (np.array(["a", "b"] * 10), "'labels' must be integer class indices"),
    (np.full(20, 0.5), "'labels' must be integer class indices"),
    (np.zeros(20, dtype=np.int64), "has 1 class(es)"),
], ids=["strings", "fractions", "one class"])
def test_finetune_refuses_bad_labels(labels, needle, tmp_path, capsys):
    data = tmp_path / "data.npz"
    np.savez(data, images=np.zeros((20, 8, 8), dtype=np.uint8), labels=labels)
    out = tmp_path / "ft"
    code, err = run_cli(capsys, "finetune", "--scratch", "--model", "resnet10t", "--data", str(data), "--out",
                        str(out), *TRAIN)
    assert_one_line_error(code, err, needle)
    assert not out.exists()


RENDER_CASES = [
    (["--shard", " 0/2"], "--shard must look like K/N"),
    (["--shard", "+0/2"], "--shard must look like K/N"),
    (["--shard", "0/99999999999"], "need 0 <= K < N <= 1,000,000"),
    (["--shard", "2/2"], "need 0 <= K < N"),
    (["--seed", str(2**70)], "--seed must be between 0 and 2**63 - 1"),
    (["--out", ""], "--out: is empty"),
    (["--weight-delta", "-0.1"], "--weight-delta must be in [0, 1]"),
    (["--flips", "5"], "--flips must be between 1 and 4"),
    (["--draw", "crayon"], "invalid choice"),
]


@pytest.mark.parametrize("extra, needle", RENDER_CASES, ids=[" ".join(c[0]) for c in RENDER_CASES])
def test_render_refuses(extra, needle, tiny_catalog, tmp_path, capsys):
    argv = ["render", "fractal", "--params", str(tiny_catalog), "--out", str(tmp_path / "out"), "--quiet", *extra]
    code, err = run_cli(capsys, *argv)
    assert_one_line_error(code, err, needle)
    assert not (tmp_path / "out").exists()


def test_a_folder_of_unrelated_files_is_not_rendered_into(tiny_catalog, tmp_path, capsys):
    out = tmp_path / "photos"
    out.mkdir()
    (out / "holiday.jpg").write_bytes(b"\xff\xd8")
    code, err = run_cli(capsys, "render", "fractal", "--params", str(tiny_catalog), "--out", str(out), "--quiet")
    assert_one_line_error(code, err, "is not empty", "holiday.jpg", "holds no fdsl manifest")
    assert sorted(p.name for p in out.iterdir()) == ["holiday.jpg"]


def test_search_and_render_refuse_seeds_beyond_64_bits(tmp_path, capsys):
    code, err = run_cli(capsys, "search", "fractal", "--categories", "1", "--seed", "99999999999999999999999",
                        "--out", str(tmp_path / "c"), "--quiet")
    assert_one_line_error(code, err, "--seed must be between 0 and 2**63 - 1")
    assert not (tmp_path / "c").exists()


@pytest.mark.parametrize("family, extra, needle", [
    ("bezier", ["--line-width", "0"], "--line-width must be in (0, 0.25]"),
    ("bezier", ["--jitter", "2"], "--jitter must be in [0, 1]"),
    ("perlin", ["--size", "8"], "--size must be between 16 and 8192 pixels"),
    ("rcdb", ["--break-rate", "1.5"], "--break-rate must be in [0, 1]"),
])
def test_family_render_settings_out_of_range(family, extra, needle, tmp_path, capsys):
    code, err = run_cli(capsys, "search", family, "--categories", "1", "--out", str(tmp_path / "c"), "--quiet")
    assert code == 0, err
    code, err = run_cli(capsys, "render", family, "--params", str(tmp_path / "c"), "--out", str(tmp_path / "o"),
                        "--quiet", *extra)
    assert_one_line_error(code, err, needle)
    assert not (tmp_path / "o").exists()
