"""Rendering as a new user types it: the family from the catalog, --device auto as the training verbs mean it."""

from __future__ import annotations

import hashlib

import pytest

from helpers import assert_one_line_error, make_catalog, run_cli


def _tree(folder):
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*.png"))}


def test_the_manifest_names_the_family_and_the_images_are_the_named_runs(tmp_path, capsys):
    catalog = make_catalog(tmp_path / "cat", seed=1, categories=2)
    small = ("--size", "32", "--points", "2000", "--patches", "1", "--quiet")
    code, err = run_cli(capsys, "render", "--params", str(catalog), "--out", str(tmp_path / "inferred"), *small)
    assert code == 0 and "rendering" in err and "'fractal'" in err
    code, _ = run_cli(capsys, "render", "fractal", "--params", str(catalog), "--out", str(tmp_path / "named"), *small)
    assert code == 0
    inferred = _tree(tmp_path / "inferred")
    assert inferred and inferred == _tree(tmp_path / "named")


def test_a_catalog_that_cannot_name_its_family_is_one_line(tmp_path, capsys):
    (tmp_path / "bare").mkdir()
    code, err = run_cli(capsys, "render", "--params", str(tmp_path / "bare"), "--out", str(tmp_path / "o"))
    assert_one_line_error(code, err, "manifest", "render fractal --params")
    code, err = run_cli(capsys, "render", "--params", str(tmp_path / "missing"), "--out", str(tmp_path / "o"))
    assert_one_line_error(code, err, "no such catalog folder")
    assert not (tmp_path / "o").exists()


def test_device_auto_without_a_gpu_is_the_cpu_kernels_and_says_so(tmp_path, capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU: --device auto renders on it")
    from fdsl.core import notes

    notes._said.discard("fdsl: note: --device auto: rendering on the cpu kernels")  # said once per process
    catalog = make_catalog(tmp_path / "cat", seed=1, categories=2)
    small = ("--size", "32", "--points", "2000", "--patches", "1", "--quiet")
    code, err = run_cli(capsys, "render", "fractal", "--params", str(catalog), "--out", str(tmp_path / "auto"),
                        "--device", "auto", *small)
    assert code == 0 and "--device auto: rendering on the cpu kernels" in err
    code, _ = run_cli(capsys, "render", "fractal", "--params", str(catalog), "--out", str(tmp_path / "cpu"), *small)
    assert code == 0 and _tree(tmp_path / "auto") == _tree(tmp_path / "cpu")


def test_a_closed_output_pipe_is_one_line_not_a_traceback(tmp_path):
    """``fdsl render ... | head``: the reader goes away before the result line; one line on stderr, exit 141."""
    import subprocess
    import sys

    catalog = make_catalog(tmp_path / "cat", seed=1, categories=2)
    command = (f"'{sys.executable}' -m fdsl render fractal --params '{catalog}' --out '{tmp_path / 'out'}' "
               "--size 32 --points 2000 --patches 1 --quiet --json | head -c 0; exit ${PIPESTATUS[0]}")
    done = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=120)
    assert done.returncode == 141 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.strip().splitlines() == ["fdsl: stopped: its output pipe was closed; run the same command "
                                                "again to resume"]
    assert _tree(tmp_path / "out")  # the images were written before the result line
