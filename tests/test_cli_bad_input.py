"""Bad input: one line naming the problem and the fix, exit code 2, no traceback, nothing half-written."""

from __future__ import annotations

import pytest

from helpers import assert_one_line_error, run_cli

GOOD_ROW = "0.5,0.1,0.1,0.5,0.0,0.0,0.5\n"


def _params(tmp_path, text):
    folder = tmp_path / "params"
    folder.mkdir()
    (folder / "00000.csv").write_text(text)
    return folder


@pytest.mark.parametrize("text, needle", [
    ("0.5,0.1,0.1,0.5,0.0,0.5\n" * 2, "expected 7 comma-separated numbers, got 6"),
    (GOOD_ROW + "0.5,abc,0.1,0.5,0.0,0.0,0.5\n", "not a number"),
    (GOOD_ROW + "0.5,nan,0.1,0.5,0.0,0.0,0.5\n", "NaN or infinite"),
    (GOOD_ROW + "0.5,inf,0.1,0.5,0.0,0.0,0.5\n", "NaN or infinite"),
    (GOOD_ROW + "0.5,0.1,0.1,0.5,0.0,0.0,0.9\n", "probabilities sum to 1.4"),
    ("", "is empty"),
])
def test_bad_parameter_files(tmp_path, capsys, text, needle):
    out = tmp_path / "out"
    code, err = run_cli(capsys, "render", "fractal", "--params", _params(tmp_path, text), "--out", out)
    assert_one_line_error(code, err, needle, "00000.csv")
    assert not out.exists()  # nothing written before the input is known to be good


def test_empty_and_missing_params_folder(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    code, err = run_cli(capsys, "render", "fractal", "--params", empty, "--out", tmp_path / "o")
    assert_one_line_error(code, err, "no .csv category files", "fdsl search")
    code, err = run_cli(capsys, "render", "fractal", "--params", tmp_path / "nope", "--out", tmp_path / "o")
    assert_one_line_error(code, err, "does not exist")


@pytest.mark.parametrize("flags, needle", [
    (["--size", "12", "--pad", "6"], "leaves no room"),
    (["--points", "0"], "--points must be at least 1"),
    (["--draw", "sparkle"], "invalid choice: 'sparkle'"),
    (["--shard", "3/2"], "--shard 3/2"),
    (["--shard", "one-of-two"], "--shard must look like K/N"),
    (["--weight-delta", "nan"], "must be finite"),
    (["--workers", "-1"], "--workers must be at least 0"),
])
def test_impossible_settings(tmp_path, capsys, flags, needle):
    out = tmp_path / "out"
    code, err = run_cli(capsys, "render", "fractal", "--params", _params(tmp_path, GOOD_ROW * 2), "--out", out, *flags)
    assert_one_line_error(code, err, needle)
    assert not out.exists()


def test_unwritable_output_folder(tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    code, err = run_cli(capsys, "render", "fractal", "--params", _params(tmp_path, GOOD_ROW * 2),
                        "--out", blocker / "dataset")
    assert_one_line_error(code, err, "cannot write to", "writable --out")


def test_rendering_over_a_different_dataset_is_refused(tmp_path, capsys):
    params = _params(tmp_path, GOOD_ROW * 2)
    out = tmp_path / "out"
    small = ["--size", "32", "--points", "500", "--patches", "1", "--quiet"]
    assert run_cli(capsys, "render", "fractal", "--params", params, "--out", out, *small)[0] == 0
    before = sorted(p.name for p in (out / "00000").iterdir())
    code, err = run_cli(capsys, "render", "fractal", "--params", params, "--out", out, *small, "--seed", "5")
    assert_one_line_error(code, err, "different seed", "new --out")
    assert sorted(p.name for p in (out / "00000").iterdir()) == before


def test_search_bad_input(tmp_path, capsys):
    code, err = run_cli(capsys, "search", "fractal", "--categories", "0", "--out", tmp_path / "c")
    assert_one_line_error(code, err, "--categories must be between 1 and 10000000, got 0")
    code, err = run_cli(capsys, "search", "fractal", "--fill-rate", "1.5", "--out", tmp_path / "c")
    assert_one_line_error(code, err, "--fill-rate must be in [0, 1]")
    code, err = run_cli(capsys, "search", "kaleidoscope", "--out", tmp_path / "c")
    assert_one_line_error(code, err, "invalid choice: 'kaleidoscope'")
    assert not (tmp_path / "c").exists()


def test_preview_bad_input(tmp_path, capsys):
    code, err = run_cli(capsys, "preview", tmp_path / "missing", "--out", tmp_path / "s.png")
    assert_one_line_error(code, err, "is not a folder")
    (tmp_path / "empty").mkdir()
    code, err = run_cli(capsys, "preview", tmp_path / "empty", "--out", tmp_path / "s.png")
    assert_one_line_error(code, err, "nothing to preview")
    code, err = run_cli(capsys, "preview", tmp_path / "empty", "--out", tmp_path / "s.png", "--seed", "-1")
    assert_one_line_error(code, err, "--seed must be between 0 and 2**63 - 1")


def test_preview_of_dataset_and_catalog(tiny_catalog, tmp_path, capsys):
    import numpy as np
    from PIL import Image

    sheet = tmp_path / "catalog.png"
    assert run_cli(capsys, "preview", tiny_catalog, "--out", sheet, "--columns", "4", "--tile", "32")[0] == 0
    image = Image.open(sheet)
    assert image.size == (48 + 4 * 34, 3 * 34)
    assert np.asarray(image.convert("L")).max() > 100  # fractals, not a blank sheet

    dataset = tmp_path / "ds"
    assert run_cli(capsys, "render", "fractal", "--params", tiny_catalog, "--out", dataset, "--size", "32",
                   "--points", "500", "--patches", "1", "--flips", "1", "--quiet")[0] == 0
    sheet = tmp_path / "dataset.png"
    assert run_cli(capsys, "preview", dataset, "--out", sheet, "--rows", "2", "--columns", "3", "--tile", "32")[0] == 0
    pixels = np.asarray(Image.open(sheet).convert("RGB"))
    assert pixels.shape == (2 * 34, 48 + 3 * 34, 3)
    # Row 1, column 0 is the first image of class 00001 (25 files, picks 0, 12, 24), thumbnailed.
    first = Image.open(dataset / "00001" / "00001_00_count_0_flip0.png").convert("RGB").resize(
        (32, 32), Image.Resampling.LANCZOS)
    assert np.array_equal(pixels[34:66, 48:80], np.asarray(first))


def test_search_then_render_end_to_end(tmp_path, capsys):
    catalog, out = tmp_path / "catalog", tmp_path / "ds"
    code, _ = run_cli(capsys, "search", "fractal", "--categories", "2", "--seed", "3", "--points", "20000",
                      "--size", "128", "--fill-rate", "0.15", "--out", catalog, "--quiet")
    assert code == 0 and "2 categories from" in run_cli.stdout
    render = ["render", "fractal", "--params", catalog, "--out", out, "--size", "48", "--points", "3000",
              "--draw", "point-color", "--flips", "2", "--quiet"]
    assert run_cli(capsys, *render)[0] == 0
    assert len(list(out.rglob("*.png"))) == 2 * 25 * 2
    code, _ = run_cli(capsys, *render)
    assert code == 0 and "nothing to do: all 100 images" in run_cli.stdout


def test_published_categories_render_then_resume(tmp_path, capsys, official_subset):
    out = tmp_path / "ds"
    code, _ = run_cli(capsys, "render", "fractal", "--params", official_subset, "--out", out, "--size", "48",
                      "--points", "3000", "--draw", "point-color", "--flips", "2", "--quiet")
    assert code == 0
    assert len(list(out.rglob("*.png"))) == 3 * 25 * 2
    code, _ = run_cli(capsys, "render", "fractal", "--params", official_subset, "--out", out, "--size", "48",
                      "--points", "3000", "--draw", "point-color", "--flips", "2", "--quiet")
    assert code == 0 and "nothing to do: all 150 images" in run_cli.stdout


def test_preview_of_an_image_folder_does_not_import_torch(tmp_path):
    """Looking at a folder of images is a file job: it must not pay the seconds of the torch import."""
    import subprocess
    import sys

    from PIL import Image

    for name in ("cat", "dog"):
        (tmp_path / "ds" / name).mkdir(parents=True)
        Image.new("RGB", (8, 8), (200, 10, 10)).save(tmp_path / "ds" / name / "a.png")
    code = ("import sys; from fdsl.cli import main; code = main(['preview', sys.argv[1], '--out', sys.argv[2]]); "
            "print(code, 'torch' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path / "ds"), str(tmp_path / "sheet.png")],
                          capture_output=True, text=True, check=True)
    assert done.stdout.split()[-2:] == ["0", "False"], done.stdout + done.stderr
    assert (tmp_path / "sheet.png").stat().st_size > 100
