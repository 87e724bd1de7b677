"""Bad input to the 2D families: one line naming the problem, exit code 2, nothing written."""

from __future__ import annotations

import pytest

from helpers import assert_one_line_error, run_cli

RCDB_FILE = ("vertices,12\nlines,5\nnoise,1.5\nline_width,0.05\nradius,30\noval_x,1.2\noval_y,1.4\n"
             "centre_x,256\ncentre_y,240\n")
VA_FILE = ("vertices,300\norbits,5\nfrequency_1,3\nfrequency_2,7\nnoise,1.0\nline_width,0.05\nradius,30\n"
           "oval_x,1.2\noval_y,1.4\ncentre_x,256\ncentre_y,240\n")
PERLIN_FILE = "frequency,4.0\naspect,1.0\nangle,0.3\noctaves,3\npersistence,0.5\nlacunarity,2.0\ntable,99\n"
BEZIER_ROW = "0.1,0.1,0.3,0.8,0.6,0.2,0.9,0.9,200\n"
IFS_ROW = "0.5,0.1,0.1,0.5,0.0,0.0,0.5\n"


def test_good_files_render(tmp_path, capsys):
    """The valid files below are accepted, so the failures that follow are the edits' doing."""
    for name, text in [("rcdb", RCDB_FILE), ("visual-atom", VA_FILE), ("perlin", PERLIN_FILE),
                       ("bezier", BEZIER_ROW), ("ofdb", IFS_ROW * 2)]:
        folder = tmp_path / f"p-{name}"
        folder.mkdir()
        (folder / "00000.csv").write_text(text)
        out = tmp_path / f"o-{name}"
        extra = ["--points", "2000"] if name == "ofdb" else ["--instances", "1"]
        code, err = run_cli(capsys, "render", name, "--params", folder, "--out", out, "--size", "32", "--quiet", *extra)
        assert code == 0, err
        assert len(list(out.rglob("*.png"))) == 1


@pytest.mark.parametrize("name, text, needle", [
    ("rcdb", RCDB_FILE.replace("vertices,12", "vertices,nan"), "NaN or infinite"),
    ("rcdb", RCDB_FILE.replace("vertices,12", "vertices,12.5"), "must be an integer"),
    ("rcdb", RCDB_FILE.replace("vertices,12", "vertices,2"), "vertices = 2 is outside"),
    ("rcdb", RCDB_FILE.replace("noise,1.5\n", ""), "missing noise"),
    ("rcdb", RCDB_FILE + "colour,3\n", "unknown key 'colour'"),
    ("rcdb", RCDB_FILE + "lines,6\n", "appears twice"),
    ("rcdb", RCDB_FILE.replace("radius,30", "radius,abc"), "'radius' is not a number"),
    ("rcdb", IFS_ROW * 2, "expected 'key,value' rows"),
    ("visual-atom", VA_FILE.replace("orbits,5", "orbits,0"), "orbits = 0 is outside"),
    ("visual-atom", VA_FILE.replace("frequency_2,7\n", ""), "missing frequency_2"),
    ("perlin", PERLIN_FILE.replace("octaves,3", "octaves,40"), "octaves = 40 is outside"),
    ("perlin", PERLIN_FILE.replace("persistence,0.5", "persistence,inf"), "NaN or infinite"),
    ("bezier", BEZIER_ROW.replace(",200", ",0"), "grey"),
    ("bezier", BEZIER_ROW.replace(",200", ""), "expected 9 comma-separated numbers"),
    ("bezier", BEZIER_ROW.replace("0.9,0.9", "0.9,nan"), "NaN or infinite"),
    ("ofdb", IFS_ROW + "0.5,0.1,0.1,0.5,0.0,0.0,0.9\n", "probabilities sum to 1.4"),
    ("onepfrac", RCDB_FILE, "expected 7 comma-separated numbers"),
    ("rcdb", "", "missing vertices"),
])
def test_bad_parameter_files(tmp_path, capsys, name, text, needle):
    folder = tmp_path / "params"
    folder.mkdir()
    (folder / "00000.csv").write_text(text)
    out = tmp_path / "out"
    code, err = run_cli(capsys, "render", name, "--params", folder, "--out", out)
    assert_one_line_error(code, err, needle, "00000.csv")
    assert not out.exists()


@pytest.mark.parametrize("verb, name, flags, needle", [
    ("search", "rcdb", ["--max-vertices", "2"], "--max-vertices must be between 3"),
    ("search", "rcdb", ["--mean-vertices", "0.05"], "accepts"),
    ("search", "visual-atom", ["--min-vertices", "500", "--max-vertices", "300"], "is below --min-vertices"),
    ("search", "visual-atom", ["--max-frequency", "0"], "--max-frequency"),
    ("search", "bezier", ["--min-extent", "2"], "largest possible diagonal"),
    ("search", "bezier", ["--min-curves", "3", "--max-curves", "2"], "--min-curves"),
    ("search", "perlin", ["--max-cycles", "0.5"], "no category could be accepted"),
    ("search", "perlin", ["--max-octaves", "0"], "--max-octaves"),
    ("search", "onepfrac", ["--sigma", "6.0"], "impossible for 2 maps"),
    ("search", "onepfrac", ["--delta", "1.5"], "--delta"),
    ("search", "fractal", ["--sampler", "gaussian"], "invalid choice"),
    ("render", "rcdb", ["--break-rate", "1.5"], "--break-rate"),
    ("render", "rcdb", ["--size", "8"], "--size must be between"),
    ("render", "visual-atom", ["--instances", "0"], "--instances"),
    ("render", "bezier", ["--line-width", "0.9"], "--line-width"),
    ("render", "bezier", ["--jitter", "nan"], "finite"),
    ("render", "perlin", ["--size", "9000"], "--size must be between"),
    ("render", "ofdb", ["--a-scale", "0"], "--a-scale"),
    ("render", "onepfrac", ["--size", "10", "--pad", "6"], "leaves no room"),
])
def test_impossible_settings(tmp_path, capsys, verb, name, flags, needle):
    location = ["--out", tmp_path / "out"] + (["--params", tmp_path] if verb == "render" else [])
    code, err = run_cli(capsys, verb, name, *location, *flags)
    assert_one_line_error(code, err, needle)
    assert not (tmp_path / "out").exists()
