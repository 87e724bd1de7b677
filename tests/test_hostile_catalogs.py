"""Hostile catalogs: a manifest that is broken, foreign or out of step with the files is refused in one line
(exit 2, nothing written); a folder of category files with no manifest (the published CSVs) still renders."""

import json
import shutil

import pytest

from helpers import assert_one_line_error, run_cli


def _render(capsys, params, out):
    return run_cli(capsys, "render", "fractal", "--params", str(params), "--out", str(out), "--size", "32",
                   "--points", "2000", "--patches", "1", "--flips", "1", "--quiet")


BROKEN = {
    "not JSON": (lambda m: "{not json", "unreadable or not JSON"),
    "truncated": (lambda m: m[: len(m) // 2], "unreadable or not JSON"),
    "a list": (lambda m: "[1, 2]", "not a catalog manifest (kind: list)"),
    "a dataset's": (lambda m: json.dumps({**json.loads(m), "kind": "dataset"}), "not a catalog manifest (kind: dataset)"),
    "no formula": (lambda m: json.dumps({k: v for k, v in json.loads(m).items() if k != "formula"}),
                   "not a catalog manifest"),
    "binary": (lambda m: "\udcff", "unreadable or not JSON"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_broken_manifest_is_refused(case, tiny_catalog, tmp_path, capsys):
    change, needle = BROKEN[case]
    params = tmp_path / "params"
    shutil.copytree(tiny_catalog, params)
    text = (params / "manifest.json").read_text()
    (params / "manifest.json").write_bytes(change(text).encode("utf-8", "surrogateescape"))
    code, err = _render(capsys, params, tmp_path / "out")
    assert_one_line_error(code, err, needle)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("change", ["missing", "extra"])
def test_files_out_of_step_with_the_manifest_are_refused(change, tiny_catalog, tmp_path, capsys):
    params = tmp_path / "params"
    shutil.copytree(tiny_catalog, params)
    if change == "missing":
        (params / "00001.csv").unlink()
    else:
        shutil.copy(params / "00001.csv", params / "00007.csv")
    code, err = _render(capsys, params, tmp_path / "out")
    assert_one_line_error(code, err, "lists 3 category files", "missing" if change == "missing" else "not in it")
    assert not (tmp_path / "out").exists()


def test_category_files_without_a_manifest_still_render(tiny_catalog, tmp_path, capsys):
    params = tmp_path / "params"
    shutil.copytree(tiny_catalog, params)
    (params / "manifest.json").unlink()
    code, err = _render(capsys, params, tmp_path / "out")
    assert code == 0, err
    assert len(list((tmp_path / "out").rglob("*.png"))) == 3 * 25


def test_a_manifest_naming_another_family_is_said_when_its_files_read(tiny_catalog, tmp_path, capsys):
    params = tmp_path / "params"
    shutil.copytree(tiny_catalog, params)
    manifest = json.loads((params / "manifest.json").read_text())
    (params / "manifest.json").write_text(json.dumps({**manifest, "formula": "rcdb"}))
    code, err = _render(capsys, params, tmp_path / "out")
    assert code == 0 and err.count("\n") == 0
    assert "was searched as 'rcdb'" in err and "read as 'fractal'" in err
