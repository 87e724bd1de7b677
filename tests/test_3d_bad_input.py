"""3D bad input through the CLI: one line, exit code 2, no traceback, nothing written."""

from __future__ import annotations

import numpy as np
import pytest

from helpers import assert_one_line_error, run_cli

GOOD_ROW = ",".join(["0.5", "0.1", "0.0", "0.1", "0.5", "0.0", "0.0", "0.1", "0.5", "0.2", "0.0", "0.1", "0.5"])
SECOND_ROW = ",".join(["0.4", "0.0", "0.1", "0.0", "0.4", "0.1", "0.1", "0.0", "0.4", "-0.2", "0.1", "0.0", "0.5"])


def _params(tmp_path, *texts):
    folder = tmp_path / "params"
    folder.mkdir()
    for k, text in enumerate(texts):
        (folder / f"{k:05d}.csv").write_text(text)
    return folder


GOOD = f"{GOOD_ROW}\n{SECOND_ROW}\n"


@pytest.mark.parametrize("text, needle", [
    ("0.5,0.1,0.1,0.5,0.0,0.0,0.5\n0.5,0.1,0.1,0.5,0.0,0.0,0.5\n", "expected 13 comma-separated numbers, got 7"),
    (f"{GOOD_ROW}\n{SECOND_ROW.replace('-0.2', 'nan')}\n", "NaN or infinite"),
    (f"{GOOD_ROW}\n{SECOND_ROW[:-3]}0.9\n", "probabilities sum to 1.4"),
    (f"{GOOD_ROW}\n{SECOND_ROW[:-3]}-0.5\n", "negative probability"),
])
@pytest.mark.parametrize("formula", ["fractal3d", "pc-fractal"])
def test_bad_3d_parameter_files(tmp_path, capsys, formula, text, needle):
    out = tmp_path / "out"
    code, err = run_cli(capsys, "render", formula, "--params", _params(tmp_path, GOOD, text), "--out", out)
    assert_one_line_error(code, err, needle, "00001.csv")
    assert not out.exists()


@pytest.mark.parametrize("flags, needle", [
    (["--views", "0"], "--views must be between 1 and 1000, got 0"),
    (["--views", "-3"], "--views must be between 1 and 1000, got -3"),
    (["--size", "16"], "--size 16 is too small for the camera"),
    (["--viewpoints", "orbit"], "invalid choice: 'orbit'"),
    (["--output", "obj"], "invalid choice: 'obj'"),
    (["--weights", "30"], "--weights must be one of 1, 25, 49, 73, 97, 121, 145"),
    (["--viewpoints", "random", "--compat", "official"], "no meaning with --viewpoints random"),
    (["--iterations", "1"], "--iterations must be between 2"),
])
def test_impossible_view_settings(tmp_path, capsys, flags, needle):
    out = tmp_path / "out"
    code, err = run_cli(capsys, "render", "fractal3d", "--params", _params(tmp_path, GOOD), "--out", out, *flags)
    assert_one_line_error(code, err, needle)
    assert not out.exists()


def test_pc_fractal_needs_a_second_category_to_mix(tmp_path, capsys):
    out = tmp_path / "out"
    code, err = run_cli(capsys, "render", "pc-fractal", "--params", _params(tmp_path, GOOD), "--out", out)
    assert_one_line_error(code, err, "pc-fractal mixes a second category", "has 1")
    assert not out.exists()
    code, err = run_cli(capsys, "scenes", "--params", tmp_path / "params", "--out", out, "--scenes", "2")
    assert_one_line_error(code, err, "pc-fractal mixes a second category")
    assert not out.exists()


@pytest.mark.parametrize("flags, needle", [
    (["--scenes", "0"], "--scenes must be at least 1"),
    (["--objects", "0"], "--objects must be between 1"),
    (["--extra-objects", "-1"], "--extra-objects must be in [0, 100] (a Poisson mean)"),
    (["--room", "nan"], "'nan' is NaN or infinite; it must be finite"),
    (["--object-points", "20000"], "--object-points must be between 0 (all)"),
    (["--mix-points", "10000"], "--mix-points must be between 1"),
    (["--shard", "2/2"], "--shard 2/2"),
    (["--workers", "-1"], "--workers must be at least 0"),
])
def test_impossible_scene_settings(tmp_path, capsys, flags, needle):
    out = tmp_path / "out"
    code, err = run_cli(capsys, "scenes", "--params", _params(tmp_path, GOOD, GOOD), "--out", out, *flags)
    assert_one_line_error(code, err, needle)
    assert not out.exists()


def test_search_bad_variance(tmp_path, capsys):
    code, err = run_cli(capsys, "search", "fractal3d", "--variance", "1.5", "--out", tmp_path / "c")
    assert_one_line_error(code, err, "--variance must be in [0, 1)")
    assert not (tmp_path / "c").exists()


def test_scenes_over_other_scenes_are_refused(tmp_path, capsys):
    params = _params(tmp_path, GOOD, GOOD)
    out = tmp_path / "out"
    small = ["--scenes", "1", "--objects", "2", "--extra-objects", "0", "--object-points", "50",
             "--iterations", "500", "--mix-points", "100", "--quiet"]
    assert run_cli(capsys, "scenes", "--params", params, "--out", out, *small)[0] == 0
    before = sorted(p.name for p in out.iterdir())
    code, err = run_cli(capsys, "scenes", "--params", params, "--out", out, *small, "--seed", "4")
    assert_one_line_error(code, err, "different seed", "new --out")
    assert sorted(p.name for p in out.iterdir()) == before
    assert np.load(out / "scene_00000_bbox.npy").shape == (2, 8)


def test_point_cloud_family_is_not_an_image_dataset(tmp_path):
    from fdsl.data.formula import FormulaDataset
    from fdsl.core.errors import FdslError

    params = _params(tmp_path, GOOD, GOOD)
    with pytest.raises(FdslError, match="point clouds, not images"):
        FormulaDataset("pc-fractal", params)


@pytest.mark.parametrize("argv", [["scenes", "--help"], ["render", "fractal3d", "--help"],
                                  ["render", "pc-fractal", "--help"], ["search", "fractal3d", "--help"]])
def test_help_of_the_3d_commands(capsys, argv):
    from fdsl.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 0 and "--" in capsys.readouterr().out
