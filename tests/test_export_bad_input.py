"""``fdsl export`` bad input: one line and exit code 2, nothing created when refused, no progress-bar spam."""

from __future__ import annotations

import numpy as np
import pytest

from helpers import assert_one_line_error, run_cli

datasets = pytest.importorskip("datasets", reason="the hf extra (pip install 'fdsl[hf]') is not installed")


@pytest.fixture(autouse=True)
def datasets_bars_on():
    """``datasets``' own progress bars on, as in a fresh process (another test may have turned them off)."""
    enable, disable, disabled = _switches()
    before = disabled()
    enable()
    yield
    disable() if before else enable()


def _switches():
    """(enable, disable, are-disabled) of ``datasets``' global progress-bar switch."""
    utils = datasets.utils
    if hasattr(utils, "disable_progress_bars"):
        return utils.enable_progress_bars, utils.disable_progress_bars, utils.are_progress_bars_disabled
    return (utils.logging.enable_progress_bar, utils.logging.disable_progress_bar,
            lambda: not utils.logging.is_progress_bar_enabled())


@pytest.fixture
def npz(tmp_path):
    path = tmp_path / "ok.npz"
    rng = np.random.default_rng(0)
    np.savez(path, images=rng.integers(0, 256, (12, 8, 8, 3), dtype=np.uint8), labels=np.arange(12) % 3)
    return path


def _leftovers(folder):
    """Names in ``folder`` that an export may have left (staging folders are hidden siblings of --out)."""
    return sorted(p.name for p in folder.iterdir() if p.name not in {"ok.npz", "a-file", "corrupt"})


@pytest.mark.parametrize("below", ["", "sub"])
def test_out_that_is_or_is_below_a_file(tmp_path, capsys, npz, below):
    blocker = tmp_path / "a-file"
    blocker.write_text("hi\n")
    out = blocker / below if below else blocker
    code, err = run_cli(capsys, "export", npz, "--out", out, "--quiet")
    assert_one_line_error(code, err, str(blocker), "--out")
    assert blocker.read_text() == "hi\n" and _leftovers(tmp_path) == []


def test_refused_source_leaves_no_out_behind(tmp_path, capsys):
    from PIL import Image

    source = tmp_path / "corrupt"
    for name in ("a", "b"):
        (source / name).mkdir(parents=True)
        for index in range(2):
            Image.new("RGB", (8, 8), (index * 90, 20, 200)).save(source / name / f"{index}.png")
    (source / "a" / "bad.jpg").write_bytes(b"\xff\xd8\xff\xe0garbage")
    for out in (tmp_path / "hf", tmp_path / "new" / "deeper" / "hf"):
        code, err = run_cli(capsys, "export", source, "--out", out, "--shard-size", "2", "--quiet")
        assert_one_line_error(code, err, "cannot decode", "bad.jpg")
        assert _leftovers(tmp_path) == []  # neither --out, nor its new parents, nor a staging folder


def test_existing_out_is_refused_unless_empty(tmp_path, capsys, npz):
    full = tmp_path / "full"
    full.mkdir()
    (full / "keep.txt").write_text("mine")
    code, err = run_cli(capsys, "export", npz, "--out", full, "--quiet")
    assert_one_line_error(code, err, "already exists and is not empty")
    assert [p.name for p in full.iterdir()] == ["keep.txt"]
    empty = tmp_path / "empty"
    empty.mkdir()
    code, err = run_cli(capsys, "export", npz, "--out", empty, "--shard-size", "5", "--quiet")
    assert code == 0, err
    assert sorted(p.name for p in empty.iterdir()) == [f"train-0000{i}-of-00003.parquet" for i in range(3)]
    assert _leftovers(tmp_path) == ["empty", "full"]


@pytest.mark.parametrize("quiet", [True, False])
def test_no_carriage_return_bars_in_a_log(tmp_path, capsys, npz, quiet):
    out = tmp_path / "nested" / "hf"
    code, err = run_cli(capsys, "export", npz, "--out", out, "--shard-size", "5", *(["--quiet"] if quiet else []))
    assert code == 0, err
    assert "\r" not in err and "Creating parquet" not in err, err
    if quiet:
        assert err == ""
    assert not _switches()[2]()  # datasets' global switch is back as it was
    assert len(list(out.glob("train-*.parquet"))) == 3 and _leftovers(out.parent) == ["hf"]
