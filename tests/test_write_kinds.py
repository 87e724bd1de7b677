"""One writer for every output kind: images, SegRCDB image/mask pairs and scenes each get the Python API, the
folder and WebDataset outputs, byte-identical shards, `fdsl status`, the shard-split refusal and kill -9 resume."""

from __future__ import annotations

import hashlib
import io
import sys
import tarfile

import pytest

import fdsl
from fdsl.write.status import dataset_status, describe
from helpers import assert_one_line_error, make_catalog, make_segrcdb_catalog, run_cli
from helpers3d import kill_9_when, make_catalog3d

# Each kind: (the API's formula name, tiny settings as strings, samples in the dataset)
KINDS = {
    "images": ("fractal", {"size": "32", "points": "2000", "patches": "1"}, 3 * 25 * 4),
    "pairs": ("segrcdb", {"size": "48", "images": "12", "instances": "4"}, 12),
    "scenes": ("scenes", {"scenes": "6", "objects": "3", "extra-objects": "1", "room": "6", "object-points": "200",
                          "iterations": "1000", "mix-points": "200"}, 6),
}


@pytest.fixture(scope="module")
def catalogs(tmp_path_factory):
    root = tmp_path_factory.mktemp("kinds")
    return {"images": make_catalog(root / "fractal", seed=3, categories=3, points=2000, size=64, fill_rate=0.1),
            "pairs": make_segrcdb_catalog(root / "seg"), "scenes": make_catalog3d(root / "c3d")}


def _render(kind, catalogs, out, **options):
    formula, settings, _ = KINDS[kind]
    return fdsl.render_catalog(formula, catalogs[kind], out, seed=4, **options, **settings)


def _digests(folder):
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and not p.name.startswith(("manifest", "."))}


@pytest.mark.parametrize("kind", KINDS)
def test_api_writes_every_kind_identically_at_any_split(kind, catalogs, tmp_path):
    report = _render(kind, catalogs, tmp_path / "one")
    assert report.written == KINDS[kind][2] == report.images
    _render(kind, catalogs, tmp_path / "two", workers=2)
    for k in range(3):
        _render(kind, catalogs, tmp_path / "split", shard=f"{k}/3")
    reference = _digests(tmp_path / "one")
    assert reference and _digests(tmp_path / "two") == reference == _digests(tmp_path / "split")
    assert _render(kind, catalogs, tmp_path / "one").written == 0  # a re-run finds everything whole


@pytest.mark.parametrize("kind", KINDS)
def test_webdataset_output_for_every_kind(kind, catalogs, tmp_path):
    _render(kind, catalogs, tmp_path / "folder")
    _render(kind, catalogs, tmp_path / "tars", format="webdataset", shard_size=5)
    for k in range(2):
        _render(kind, catalogs, tmp_path / "tars-split", format="webdataset", shard_size=5, shard=f"{k}/2")
    tars = sorted((tmp_path / "tars").glob("*.tar"))
    samples = KINDS[kind][2]
    assert len(tars) == -(-samples // 5)
    assert _digests(tmp_path / "tars") == _digests(tmp_path / "tars-split")
    # Every file of the folder layout is in the tars, byte for byte, one sample per key.
    members = {}
    for path in tars:
        with tarfile.open(path) as tar:
            for member in tar.getmembers():
                members[member.name] = tar.extractfile(member).read()
    keys = {name.split(".", 1)[0] for name in members}
    assert len(keys) == samples
    folder_bytes = sorted(p.read_bytes() for p in (tmp_path / "folder").rglob("*")
                          if p.is_file() and not p.name.startswith(("manifest", ".")))
    tar_bytes = sorted(data for name, data in members.items() if not name.endswith(".cls"))
    assert folder_bytes == tar_bytes


@pytest.mark.parametrize("kind", KINDS)
def test_status_reports_every_kind(kind, catalogs, tmp_path):
    out = tmp_path / "out"
    _render(kind, catalogs, out, shard="0/2")
    status = dataset_status(out)
    samples = KINDS[kind][2]
    assert status.images == samples and len(status.shards) == 2
    assert status.shards[0].missing == 0 and status.shards[1].missing == status.missing > 0
    assert not status.shards[1].started and "incomplete" in describe(status)[-1]
    _render(kind, catalogs, out, shard="1/2")
    status = dataset_status(out)
    assert status.complete and status.done == samples
    tars = tmp_path / "tars"
    _render(kind, catalogs, tars, format="webdataset", shard_size=3)
    (tars / "000001.tar").write_bytes(b"truncated")
    status = dataset_status(tars)
    assert status.missing == 3 and status.shards[0].examples == ["000001.tar"]


@pytest.mark.parametrize("kind", KINDS)
def test_a_second_shard_split_is_refused_for_every_kind(kind, catalogs, tmp_path):
    out = tmp_path / "out"
    _render(kind, catalogs, out, shard="0/2")
    with pytest.raises(fdsl.FdslError, match="split into 2 shard"):
        _render(kind, catalogs, out, shard="0/3")
    with pytest.raises(fdsl.FdslError, match="different seed"):
        formula, settings, _ = KINDS[kind]
        fdsl.render_catalog(formula, catalogs[kind], out, seed=5, shard="1/2", **settings)
    assert sorted(p.name for p in out.glob("manifest*")) == ["manifest-shard-0-of-2.json"]


def _differences(out, reference, killed: dict, uninterrupted: dict) -> str:
    """What differs, so that a failure says whether pixels or only the compressed bytes changed."""
    import numpy as np
    from PIL import Image

    lines = []
    for name in sorted(set(killed) | set(uninterrupted)):
        if killed.get(name) == uninterrupted.get(name):
            continue
        if name not in killed or name not in uninterrupted or not name.endswith(".png"):
            lines.append(f"{name}: only in one, or not a PNG")
            continue
        a, b = (np.asarray(Image.open(folder / name)) for folder in (out, reference))
        if a.shape != b.shape:
            lines.append(f"{name}: shapes {a.shape} and {b.shape}")
            continue
        changed = int((a != b).sum())
        lines.append(f"{name}: {changed} pixels differ" if changed else f"{name}: same pixels, other PNG bytes")
    return "; ".join(lines)


def _cli(kind, catalogs, out) -> list:
    formula, settings, _ = KINDS[kind]
    options = [f"--{k}={v}" for k, v in settings.items()]
    verb = ["scenes"] if kind == "scenes" else ["render", formula]
    return [sys.executable, "-m", "fdsl", *verb, "--params", str(catalogs[kind]), "--out", str(out), "--seed", "4",
            *options, "--quiet"]


@pytest.mark.parametrize("kind", KINDS)
def test_status_and_refusals_from_the_command_line(kind, catalogs, tmp_path, capsys):
    out = tmp_path / "out"
    command = _cli(kind, catalogs, out)[3:]
    assert run_cli(capsys, *command, "--shard", "1/2")[0] == 0
    code, _ = run_cli(capsys, "status", out)
    assert code == 1 and "shard 0/2 (not started)" in run_cli.stdout  # 1: incomplete
    assert_one_line_error(*run_cli(capsys, *command, "--shard", "0/3"), "split into 2 shard(s)")


@pytest.mark.parametrize("kind", KINDS)
def test_kill_9_then_resume_gives_the_same_bytes(kind, catalogs, tmp_path):
    out, reference = tmp_path / "killed", tmp_path / "reference"
    # Bigger than the tiny run, so that the kill lands mid-run.
    formula, settings, _ = KINDS[kind]
    grow = {"images": {"patches": "4"}, "pairs": {"images": "120"}, "scenes": {"scenes": "40"}}[kind]
    KINDS[kind] = (formula, {**settings, **grow}, KINDS[kind][2])
    try:
        pattern = {"images": "*.png", "pairs": "image/*.png", "scenes": "*.json"}[kind]
        kill_9_when(_cli(kind, catalogs, out), out, pattern, 3)
        import subprocess

        subprocess.run(_cli(kind, catalogs, out), check=True, capture_output=True)
        # The uninterrupted run is the same command in a fresh interpreter, as the killed one and its resume are.
        # (It was rendered inside the test process once, which had run ~2,500 tests; in one CI run of many its
        # bytes of one SegRCDB image differed from every fresh process's, never reproduced since: see _differences.)
        subprocess.run(_cli(kind, catalogs, reference), check=True, capture_output=True)
    finally:
        KINDS[kind] = (formula, settings, KINDS[kind][2])
    assert not list(out.rglob("*.part"))
    killed, uninterrupted = _digests(out), _digests(reference)
    assert killed == uninterrupted, _differences(out, reference, killed, uninterrupted)
    # The manifest too: nothing in it depends on the kill (no wall-clock time, no count of this run's writes).
    assert (out / "manifest.json").read_bytes() == (reference / "manifest.json").read_bytes()
    assert not list(out.glob(".warning-*")) and not list(reference.glob(".warning-*"))


def test_tar_members_follow_webdataset_keys(catalogs, tmp_path):
    _render("pairs", catalogs, tmp_path / "tars", format="webdataset", shard_size=100)
    with tarfile.open(next((tmp_path / "tars").glob("*.tar"))) as tar:
        names = tar.getnames()
        image = tar.extractfile("000003.png").read()
    assert names[:2] == ["000000.mask.png", "000000.png"] and image.startswith(b"\x89PNG")
    from PIL import Image

    assert Image.open(io.BytesIO(image)).size == (48, 48)


def test_the_registry_answers_the_command_line_and_the_api(capsys):
    import json

    families = fdsl.list_formulas()
    assert {f["name"]: f["output"] for f in families}["segrcdb"] == "segmentation"
    assert [f["name"] for f in families if f["torch_renderer"]] == ["fractal"]
    assert run_cli(capsys, "formulas", "--json")[0] == 0
    assert json.loads(run_cli.stdout) == families
