"""Dataset writing: layout, determinism across workers and shards, resume after a kill."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

from fdsl.formulas import create_formula
from fdsl.write.engine import Shard, render_dataset

SMALL = dict(size=64, points=5_000, patches=2)


def _digests(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*.png"))}


def _settings(**changes):
    return create_formula("fractal").RenderSettings(**{**SMALL, **changes})


def test_layout_counts_and_imagefolder(tiny_catalog, tmp_path):
    from torchvision.datasets import ImageFolder

    out = tmp_path / "ds"
    report = render_dataset("fractal", tiny_catalog, out, _settings(), seed=1, progress=False)
    assert report.written == 3 * 25 * 2 * 4 == report.images
    names = sorted(p.name for p in (out / "00001").iterdir())
    assert names[0] == "00001_00_count_0_flip0.png" and names[-1] == "00001_24_count_1_flip3.png"
    dataset = ImageFolder(str(out))
    assert dataset.classes == ["00000", "00001", "00002"] and len(dataset) == 600
    image, label = dataset[0]
    pixels = np.asarray(image)
    assert image.mode == "RGB" and set(np.unique(pixels)) <= {0, 127} and label == 0


def test_flips_are_the_published_four(tiny_catalog, tmp_path):
    out = tmp_path / "ds"
    render_dataset("fractal", tiny_catalog, out, _settings(patches=1), seed=1, progress=False)
    flips = [np.asarray(Image.open(out / "00000" / f"00000_03_count_0_flip{k}.png")) for k in range(4)]
    assert np.array_equal(flips[1], flips[0][::-1])
    assert np.array_equal(flips[2], flips[0][:, ::-1])
    assert np.array_equal(flips[3], flips[0][::-1, ::-1])


def test_same_bytes_at_any_worker_count_and_shard_split(tiny_catalog, tmp_path):
    one = tmp_path / "one"
    render_dataset("fractal", tiny_catalog, one, _settings(), seed=9, workers=1, progress=False)
    two = tmp_path / "two"
    render_dataset("fractal", tiny_catalog, two, _settings(), seed=9, workers=2, progress=False)
    sharded = tmp_path / "sharded"
    for k in range(3):
        render_dataset("fractal", tiny_catalog, sharded, _settings(), seed=9, shard=Shard(k, 3), progress=False)
    reference = _digests(one)
    assert len(reference) == 600
    assert _digests(two) == reference
    assert _digests(sharded) == reference
    other_seed = tmp_path / "other"
    render_dataset("fractal", tiny_catalog, other_seed, _settings(), seed=10, progress=False)
    assert _digests(other_seed) != reference


def test_rerun_of_a_finished_run_does_nothing(tiny_catalog, tmp_path):
    out = tmp_path / "ds"
    render_dataset("fractal", tiny_catalog, out, _settings(), seed=1, progress=False)
    again = render_dataset("fractal", tiny_catalog, out, _settings(), seed=1, progress=False)
    assert again.written == 0 and again.skipped == 600


def test_killed_run_resumes_to_identical_bytes(tiny_catalog, tmp_path):
    reference = tmp_path / "reference"
    render_dataset("fractal", tiny_catalog, reference, _settings(size=96, points=20_000), seed=2, progress=False)
    out = tmp_path / "killed"
    command = [sys.executable, "-m", "fdsl", "render", "fractal", "--params", str(tiny_catalog), "--out", str(out),
               "--size", "96", "--points", "20000", "--patches", "2", "--seed", "2", "--quiet"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 180  # generous: a loaded machine imports slowly
    while time.time() < deadline and len(list(out.rglob("*.png"))) < 40:
        time.sleep(0.01)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    partial = len(list(out.rglob("*.png")))
    assert 0 < partial < 600, "the kill should land mid-run"
    for png in out.rglob("*.png"):  # nothing truncated under a final name
        Image.open(png).load()
    resumed = subprocess.run(command, capture_output=True, text=True, check=True)
    assert f"({partial} already there)" in resumed.stdout
    written = int(resumed.stdout.split("wrote ")[1].split()[0])
    assert written + partial == 600  # nothing rendered twice
    assert not list(out.rglob("*.part"))
    assert _digests(out) == _digests(reference)


def test_torch_renderer_path_writes_the_same_layout_at_any_worker_count(tiny_catalog, tmp_path):
    import json

    settings = _settings(size=48, points=3_000, patches=1)
    one = tmp_path / "one"
    report = render_dataset("fractal", tiny_catalog, one, settings, seed=4, device="torch-cpu", progress=False)
    assert report.written == 3 * 25 * 4
    two = tmp_path / "two"
    render_dataset("fractal", tiny_catalog, two, settings, seed=4, device="torch-cpu", workers=2, progress=False)
    assert _digests(two) == _digests(one)
    assert json.loads((one / "manifest.json").read_text())["renderer"] == "torch"
    numba = tmp_path / "numba"
    render_dataset("fractal", tiny_catalog, numba, settings, seed=4, progress=False)
    assert set(_digests(numba)) == set(_digests(one))  # same file names, other (equivalent) pixels
