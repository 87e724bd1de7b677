"""render --format webdataset: the folder's images in tar shards, deterministic, resumable, read by webdataset."""

from __future__ import annotations

import hashlib
import io
import os
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fdsl.formulas import create_formula
from fdsl.catalog.specs import Output
from fdsl.core.tars import is_complete_tar
from fdsl.write.engine import Shard, render_dataset
from helpers import assert_one_line_error, run_cli

# 3 categories x 25 weight rows x 1 patch draw x 4 flips = 300 images; 70 per tar: 5 tars, and draws
# (4 views each) straddle tar boundaries.
TINY = dict(size=32, points=500, patches=1)
SHARDS = Output("webdataset", 70)
CLI_TINY = ["--size", "32", "--points", "500", "--patches", "1", "--quiet"]


def _settings(**changes):
    return create_formula("fractal").RenderSettings(**{**TINY, **changes})


def _tar_digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.glob("*.tar"))}


def _members(tar_path: Path) -> dict[str, bytes]:
    with tarfile.open(tar_path) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers()}


def test_shards_hold_exactly_the_folder_images_and_labels(tiny_catalog, tmp_path):
    folder, shards = tmp_path / "folder", tmp_path / "shards"
    render_dataset("fractal", tiny_catalog, folder, _settings(), seed=3, progress=False)
    report = render_dataset("fractal", tiny_catalog, shards, _settings(), seed=3, progress=False, output=SHARDS)
    assert report.written == 300
    tars = sorted(shards.glob("*.tar"))
    assert [p.name for p in tars] == [f"{i:06d}.tar" for i in range(5)]
    samples = {}
    for tar_path in tars:
        members = _members(tar_path)
        assert len(members) == 2 * (70 if tar_path.name != "000004.tar" else 20)
        for name, data in members.items():
            samples[name] = data
        # Each tar mixes categories (draw-major order), so a streaming shuffle sees several classes at once.
        assert len({name.split("/")[0] for name in members}) == 3
    pngs = {name: data for name, data in samples.items() if name.endswith(".png")}
    on_disk = {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*.png")}
    assert pngs == on_disk  # same keys as the folder's paths, same bytes
    for name in pngs:
        assert samples[name[:-len(".png")] + ".cls"] == str(int(name[:5])).encode()


def test_real_webdataset_reads_every_sample(tiny_catalog, tmp_path):
    import webdataset as wds

    shards = tmp_path / "shards"
    render_dataset("fractal", tiny_catalog, shards, _settings(), seed=3, progress=False, output=SHARDS)
    urls = [str(p) for p in sorted(shards.glob("*.tar"))]
    pipeline = wds.WebDataset(urls, shardshuffle=False).decode("pil").to_tuple("__key__", "png", "cls")
    seen = {}
    for key, image, label in pipeline:
        seen[key] = label
        assert image.size == (32, 32) and label == int(key[:5])
    assert len(seen) == 300
    first = np.asarray(Image.open(io.BytesIO(_members(shards / "000000.tar")["00000/00000_00_count_0_flip0.png"])))
    assert set(np.unique(first)) <= {0, 127}


def test_same_tar_bytes_at_any_worker_count_and_shard_split(tiny_catalog, tmp_path):
    one, two, split = tmp_path / "one", tmp_path / "two", tmp_path / "split"
    render_dataset("fractal", tiny_catalog, one, _settings(), seed=5, progress=False, output=SHARDS)
    render_dataset("fractal", tiny_catalog, two, _settings(), seed=5, workers=2, progress=False, output=SHARDS)
    for k in range(3):
        render_dataset("fractal", tiny_catalog, split, _settings(), seed=5, shard=Shard(k, 3), progress=False,
                       output=SHARDS)
    reference = _tar_digests(one)
    assert len(reference) == 5
    assert _tar_digests(two) == reference
    assert _tar_digests(split) == reference
    with tarfile.open(one / "000000.tar") as tar:
        assert {(m.mtime, m.uid, m.gid, m.uname, m.mode) for m in tar.getmembers()} == {(0, 0, 0, "", 0o644)}
    other = tmp_path / "other"
    render_dataset("fractal", tiny_catalog, other, _settings(), seed=6, progress=False, output=SHARDS)
    assert _tar_digests(other) != reference


def test_damaged_tars_are_rewritten_on_resume_and_status_says_so(tiny_catalog, tmp_path, capsys):
    reference, out = tmp_path / "reference", tmp_path / "out"
    command = ["render", "fractal", "--params", tiny_catalog, "--seed", "4", *CLI_TINY,
               "--format", "webdataset", "--shard-size", "70"]
    assert run_cli(capsys, *command, "--out", reference)[0] == 0
    assert run_cli(capsys, *command, "--out", out)[0] == 0
    (out / "000001.tar").write_bytes((out / "000001.tar").read_bytes()[:5000])  # as if a copy was killed
    (out / "000003.tar").unlink()
    (out / ".000002.tar.999.part").write_bytes(b"left by a kill")
    code, _ = run_cli(capsys, "status", out)
    assert code == 1
    assert "140 missing" in run_cli.stdout and "000001.tar" in run_cli.stdout and "000003.tar" in run_cli.stdout
    assert run_cli(capsys, *command, "--out", out)[0] == 0
    assert "wrote 140 images (160 already there)" in run_cli.stdout
    assert _tar_digests(out) == _tar_digests(reference)
    assert not list(out.glob(".*.part"))
    code, _ = run_cli(capsys, "status", out)
    assert code == 0 and "300 complete, 0 missing" in run_cli.stdout


def test_a_kill_never_leaves_a_truncated_tar_under_its_name(tiny_catalog, tmp_path):
    out = tmp_path / "killed"
    command = [sys.executable, "-m", "fdsl", "render", "fractal", "--params", str(tiny_catalog), "--out", str(out),
               "--size", "64", "--points", "20000", "--patches", "2", "--seed", "2", "--quiet",
               "--format", "webdataset", "--shard-size", "20"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 180  # generous: a loaded machine imports slowly
    while time.time() < deadline and len(list(out.glob("*.tar"))) < 3:
        time.sleep(0.01)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    finished = sorted(out.glob("*.tar"))
    assert 0 < len(finished) < 30, "the kill should land mid-run"
    from fdsl.write.producers import ImageProducer
    from fdsl.write.sinks import TarSink

    sink = TarSink(out, ImageProducer(create_formula("fractal"), _settings(size=64, points=20_000, patches=2), 2, 3), 20)
    for tar_path in finished:
        assert is_complete_tar(tar_path, sink.member_names(int(tar_path.stem)))
    resumed = subprocess.run(command, capture_output=True, text=True, check=True)
    assert f"({len(finished) * 20} already there)" in resumed.stdout
    reference = tmp_path / "reference"
    render_dataset("fractal", tiny_catalog, reference, _settings(size=64, points=20_000, patches=2), seed=2,
                   progress=False, output=Output("webdataset", 20))
    assert _tar_digests(out) == _tar_digests(reference)


def test_bad_format_options_and_other_settings_are_refused(tiny_catalog, tmp_path, capsys):
    out = tmp_path / "out"
    base = ["render", "fractal", "--params", tiny_catalog, "--out", out, *CLI_TINY]
    assert_one_line_error(*run_cli(capsys, *base, "--format", "zip"), "invalid choice: 'zip'")
    assert_one_line_error(*run_cli(capsys, *base, "--format", "webdataset", "--shard-size", "0"),
                          "--shard-size must be at least 1")
    assert_one_line_error(*run_cli(capsys, *base, "--format", "webdataset", "--shard-size", "-5"),
                          "--shard-size must be at least 1")
    assert not out.exists()
    assert run_cli(capsys, *base, "--format", "webdataset", "--shard-size", "70")[0] == 0
    before = _tar_digests(out)
    for flags in (["--format", "webdataset", "--shard-size", "50"], ["--format", "folder"], []):
        assert_one_line_error(*run_cli(capsys, *base, *flags), "different output", "new --out")
    assert _tar_digests(out) == before and not list(out.glob("0*/"))


def test_status_of_a_sharded_render_names_what_is_missing(tiny_catalog, tmp_path, capsys):
    out = tmp_path / "out"
    for k in (0, 2):
        render_dataset("fractal", tiny_catalog, out, _settings(), seed=1, shard=Shard(k, 3), progress=False)
    code, _ = run_cli(capsys, "status", out)
    lines = run_cli.stdout.splitlines()
    assert code == 1
    assert "shard 0/3: complete" in run_cli.stdout and "shard 2/3: complete" in run_cli.stdout
    assert any(line.startswith("shard 1/3 (not started): 100 images missing") for line in lines), lines
    assert not (out / "manifest-shard-1-of-3.json").exists()  # status wrote nothing
    render_dataset("fractal", tiny_catalog, out, _settings(), seed=1, shard=Shard(1, 3), progress=False)
    code, _ = run_cli(capsys, "status", out, "--json")
    assert code == 0 and '"complete": true' in run_cli.stdout
    assert_one_line_error(*run_cli(capsys, "status", tiny_catalog), "no dataset manifest")
    assert_one_line_error(*run_cli(capsys, "status", tmp_path / "nowhere"), "is not a folder")


def test_pretrain_reads_a_folder_of_shards_as_the_imagefolder(tiny_catalog, tmp_path, capsys):
    from fdsl.data.real import open_images

    folder, shards = tmp_path / "folder", tmp_path / "shards"
    render_dataset("fractal", tiny_catalog, folder, _settings(), seed=3, progress=False)
    render_dataset("fractal", tiny_catalog, shards, _settings(), seed=3, progress=False, output=SHARDS)
    from_tars, from_files = open_images(str(shards)), open_images(str(folder))
    assert type(from_tars).__name__ == "ShardImages" and from_tars.classes == from_files.classes

    def items(dataset):
        return sorted((dataset.item_name(i).split("/")[-1], int(dataset.targets[i]), dataset[i][0].tobytes())
                      for i in range(len(dataset)))

    assert items(from_tars) == items(from_files)
    tiny = ["--model", "test_resnet", "--image-size", "16", "--crop-pct", "0.8", "--batch-size", "16", "--epochs", "1",
            "--threads", "1", "--quiet", "--device", "cpu"]
    assert run_cli(capsys, "pretrain", "--images", shards, *tiny, "--out", tmp_path / "run")[0] == 0
    assert "on 3 categories" in run_cli.stdout
    (shards / "000002.tar").write_bytes((shards / "000002.tar").read_bytes()[:3000])
    assert_one_line_error(*run_cli(capsys, "pretrain", "--images", shards, *tiny, "--out", tmp_path / "run2"),
                          "000002.tar", "re-run it")
    assert not (tmp_path / "run2").exists()


def test_shards_of_one_split_render_into_one_folder_at_the_same_time(tiny_catalog, tmp_path, capsys):
    out, reference = tmp_path / "array", tmp_path / "reference"
    render_dataset("fractal", tiny_catalog, reference, _settings(), seed=8, progress=False, output=SHARDS)
    # Two tasks of a job array, started together, one folder; a stale temporary of each shard's first tar.
    out.mkdir()
    for stale in (".000000.tar.1.part", ".000001.tar.1.part"):
        (out / stale).write_bytes(b"left by a kill")
    command = [sys.executable, "-m", "fdsl", "render", "fractal", "--params", str(tiny_catalog), "--out", str(out),
               "--seed", "8", *CLI_TINY, "--format", "webdataset", "--shard-size", "70"]
    tasks = [subprocess.Popen([*command, "--shard", f"{k}/2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for k in range(2)]
    for task in tasks:
        _, err = task.communicate(timeout=300)
        assert task.returncode == 0, err
    assert _tar_digests(out) == _tar_digests(reference)
    assert not list(out.glob(".*.part"))
    assert run_cli(capsys, "status", out)[0] == 0
    assert_one_line_error(*run_cli(capsys, *command[3:]), "split into 2 shard(s)", "--shard K/2")


def test_a_split_render_is_read_only_once_every_shard_has_finished(tiny_catalog, tmp_path):
    from fdsl.core.errors import FdslError
    from fdsl.data.real import open_images

    out = tmp_path / "split"
    render_dataset("fractal", tiny_catalog, out, _settings(), seed=1, shard=Shard(1, 2), progress=False, output=SHARDS)
    with pytest.raises(FdslError, match=r"shard\(s\) 0/2 not finished"):
        open_images(str(out))
    render_dataset("fractal", tiny_catalog, out, _settings(), seed=1, shard=Shard(0, 2), progress=False, output=SHARDS)
    assert len(open_images(str(out))) == 300


def test_preview_of_shards_is_the_folder_preview(tiny_catalog, tmp_path, capsys):
    folder, shards = tmp_path / "folder", tmp_path / "shards"
    render_dataset("fractal", tiny_catalog, folder, _settings(), seed=3, progress=False)
    render_dataset("fractal", tiny_catalog, shards, _settings(), seed=3, progress=False, output=SHARDS)
    for source in (folder, shards):
        assert run_cli(capsys, "preview", source, "--out", tmp_path / f"{source.name}.png", "--rows", 3)[0] == 0
    sheets = [np.asarray(Image.open(tmp_path / f"{name}.png")) for name in ("folder", "shards")]
    assert sheets[0].shape[0] > 3 * 90 and np.array_equal(sheets[0], sheets[1])
