"""The kill suite: every writer killed with SIGKILL at random moments, then the same command again; the output
tree is, file for file (sha256), the tree of one uninterrupted run.

Writers: ``fdsl search`` (in the default run), and behind the ``kill`` marker (``pytest -m kill``; ``.ci/run``
runs it after ``make test``): ``fdsl render`` of FractalDB images, SegRCDB image/mask pairs and ``fdsl scenes``,
each to folders and to WebDataset tars, 3D views (``render fractal3d``), point clouds (``render pc-fractal``),
``fdsl finetune`` (kill -9, then ``--resume``) and ``fdsl experiment reproduce`` (re-run into the same --out).

Each case runs the command as a real ``python -m fdsl`` process in its own process group and SIGKILLs the whole
group, then runs it again, at seeded random moments: a writer twice once a random number of further output files
exists (mid-run), once a random delay after start (in the interpreter's start, mid-run or after the end) and once
its last file appears (inside its final steps: the workers' end, the complete manifest); training inside a
checkpoint save, a random number of steps in and a random delay after the last checkpoint (its final writes); an
experiment inside the pre-training, inside the scratch arm and after the pre-trained arm's last checkpoint.  After
a writer's kill no visible file may differ from the uninterrupted run's (what is under its final name is whole);
after the last, uninterrupted run the two trees must be equal, hidden files (locks, temporaries) included, and
at least two kills must have landed mid-run.

Compared byte for byte except the run-specific timings, which are masked inside the file and the rest of the
file compared (docs/training.md lists metrics.jsonl's "seconds"): ``epoch_seconds`` (wall-clock time of an
epoch) in ``metrics.jsonl``, ``metrics.csv`` (its last column) and the ``model.json`` sidecars that copy the
metrics, and the ``"seconds"`` table of an experiment's ``results.json`` (the stages' wall-clock times).

``test_the_suite_catches_a_writer_that_leaves_a_truncated_file`` runs the same harness on a writer that writes
its files in place and skips existing ones on a re-run: the suite must catch it, or it could not fail.

Tensor-level resume checks of pre-training live in test_train_kill; single kills of each writer beside their
other tests (test_write_kinds, test_webdataset, test_3d_render, test_scenes, test_writer).
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import random
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

POLL = 0.002  # seconds between looks at the output while waiting to kill
_EPOCH_SECONDS = re.compile(rb'("epoch_seconds": )-?[0-9][0-9.eE+-]*')
_STAGE_SECONDS = re.compile(rb'("seconds": )\{[^{}]*\}')


def _comparable(path: Path) -> bytes:
    """The file's bytes, its run-specific timings (see the module docstring) masked."""
    data = path.read_bytes()
    if path.name in ("metrics.jsonl", "model.json", "results.json"):
        data = _EPOCH_SECONDS.sub(rb"\1T", data)
    if path.name == "results.json":
        data = _STAGE_SECONDS.sub(rb"\1T", data)
    if path.name == "metrics.csv" and data.startswith(b"epoch,"):
        lines = data.split(b"\n")
        assert lines[0].endswith(b",epoch_seconds"), lines[0]
        data = b"\n".join(line.rsplit(b",", 1)[0] for line in lines)
    return data


def tree(folder: Path) -> dict[str, str]:
    """sha256 of every file under ``folder``, hidden ones included, by relative path."""
    return {str(p.relative_to(folder)): hashlib.sha256(_comparable(p)).hexdigest()
            for p in sorted(Path(folder).rglob("*")) if p.is_file()}


def _visible(relative: str) -> bool:
    return not any(part.startswith(".") for part in Path(relative).parts)


def differences(got: dict, want: dict) -> list[str]:
    return sorted(f"{name}: {'missing' if name not in got else 'extra' if name not in want else 'differs'}"
                  for name in set(got) | set(want) if got.get(name) != want.get(name))


def _fdsl(*argv):
    return [sys.executable, "-m", "fdsl", *map(str, argv)]


def run_until(command: list, cwd: Path, log: Path, trigger) -> int:
    """Run ``command`` in a new process group; SIGKILL the group once ``trigger()`` is true; the exit code."""
    with open(log, "ab") as handle:
        handle.write(f"\n$ {' '.join(map(str, command))}\n".encode())
        handle.flush()
        process = subprocess.Popen(command, cwd=cwd, stdout=handle, stderr=handle, start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        while process.poll() is None:
            if trigger():
                os.killpg(process.pid, signal.SIGKILL)
                break
            assert time.monotonic() < deadline, f"{command} still running after 300 s"
            time.sleep(POLL)
        return process.wait(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


# Triggers: each factory returns a fresh ``ready()``, called at the start of its run.

def never():
    return lambda: False


def after_seconds(seconds: float):
    start = time.monotonic()
    return lambda: time.monotonic() - start >= seconds


def once(condition, delay: float = 0.0):
    """``condition()`` true, then ``delay`` seconds more."""
    since = [None]

    def ready():
        if since[0] is None and condition():
            since[0] = time.monotonic()
        return since[0] is not None and time.monotonic() - since[0] >= delay
    return ready


def count_files(out: Path, pattern: str):
    return lambda: sum(1 for p in Path(out).rglob(pattern) if _visible(str(p.relative_to(out))) and p.is_file())


@dataclasses.dataclass
class Attempt:
    moment: str   # what the kill waited for
    code: int     # -9: the kill landed while the command ran
    files: int    # output files (those counted while waiting) when it landed


@dataclasses.dataclass
class Outcome:
    attempts: list
    torn: list     # after a kill: visible files that differ from the uninterrupted run's
    final: list    # after the last, uninterrupted run: every difference between the two trees

    def __str__(self) -> str:
        return "\n".join(["kills:", *map(str, self.attempts), "torn after a kill:", *self.torn,
                           "after the last run:", *self.final])

    def landed(self, total: int) -> int:
        """Kills that landed mid-run: the command was running and some but not all of the output existed."""
        return sum(a.code == -9 and 0 < a.files < total for a in self.attempts)


def kill_and_rerun(command: list, out: Path, reference: dict, moments: list, pattern: str,
                   rewritten=("manifest.json",), check_torn: bool = True) -> Outcome:
    """``command`` (writing ``out``) killed at each of ``moments`` [(description, trigger factory)], each
    attempt the same command again, then once more to the end; what the kills left and the final differences.

    ``pattern``: the output files an attempt counts ('': every file); ``rewritten``: names a run rewrites in
    place of an earlier version (atomically), exempt from the torn check.
    """
    out = Path(out)
    log = out.parent / f"{out.name}.log"
    attempts, torn = [], []
    for description, make_trigger in moments:
        code = run_until(command, out.parent, log, make_trigger())
        assert code in (0, -signal.SIGKILL), f"{description}: exit {code}\n{log.read_text()[-3000:]}"
        now = tree(out) if out.exists() else {}
        attempts.append(Attempt(description, code, count_files(out, pattern)() if pattern else len(now)))
        if check_torn:
            torn += [f"{description}: {name}" for name, digest in now.items()
                     if _visible(name) and Path(name).name not in rewritten and reference.get(name) != digest]
    code = run_until(command, out.parent, log, never())
    assert code == 0, f"the last run: exit {code}\n{log.read_text()[-3000:]}"
    return Outcome(attempts, torn, differences(tree(out), reference))


def progress_moments(rng: random.Random, out: Path, pattern: str, total: int, last: str | None = None) -> list:
    """Twice a random number of further output files (and a few ms): mid-run whatever the machine's speed; then
    a random delay after start (in the interpreter's start, mid-run, or after the end); then the moment ``last``
    (the output file written last) appears: the kill lands in the run's final steps (the workers' end, the
    complete manifest) or after its end."""
    files = count_files(out, pattern)

    def after_more(step: int, delay: float):
        def make():
            target = files() + step
            return once(lambda: files() >= target, delay)
        return make

    steps = [(rng.randint(1, max(1, total // 8)), rng.uniform(0, 0.03)) for _ in range(2)]
    seconds = rng.uniform(0.05, 1.0)
    return [*[(f"{step} more {pattern}, +{delay * 1000:.0f} ms", after_more(step, delay)) for step, delay in steps],
            (f"{seconds:.2f} s after start", lambda: after_seconds(seconds)),
            *([("its last file written", lambda: once((out / last).exists))] if last else [])]


# --- the harness on a writer that is not atomic: it must fail -------------------------------------------------

NAIVE_WRITER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    out = Path(sys.argv[1]); out.mkdir(exist_ok=True)
    for i in range(20):
        path = out / f"{i:03d}.bin"
        if path.exists():      # a naive resume: whatever is there is taken for done
            continue
        with open(path, "wb") as handle:   # written in place, not under a temporary name
            for chunk in range(8):
                handle.write(bytes([i, chunk]) * 4096)
                handle.flush()
                time.sleep(0.005)
""")


def test_the_suite_catches_a_writer_that_leaves_a_truncated_file(tmp_path):
    script = tmp_path / "naive.py"
    script.write_text(NAIVE_WRITER)
    (tmp_path / "reference").mkdir()
    (tmp_path / "killed").mkdir()
    command = [sys.executable, str(script), "out"]
    assert run_until(command, tmp_path / "reference", tmp_path / "reference.log", never()) == 0
    reference = tree(tmp_path / "reference" / "out")
    out = tmp_path / "killed" / "out"
    outcome = kill_and_rerun(command, out, reference, progress_moments(random.Random(1), out, "*.bin", 20)[:2],
                             "*.bin")
    assert outcome.landed(20) == 2, outcome.attempts
    assert outcome.torn and outcome.final, str(outcome)  # a truncated file seen after a kill and left in the end


# --- fdsl search ---------------------------------------------------------------------------------------------

def _kill_after(command, seconds):
    process = subprocess.Popen(command, stderr=subprocess.PIPE, start_new_session=True)
    time.sleep(seconds)
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=60)
    return process.returncode


def test_a_killed_search_run_again_gives_the_same_catalog(tmp_path):
    # A slow search (a high filling rate rejects most candidates), killed at several moments: before, during
    # and after its categories are written (it writes into a hidden staging folder renamed at the end).
    argv = ("search", "fractal", "--categories", "6", "--seed", "5", "--points", "20000", "--size", "128",
            "--fill-rate", "0.2", "--quiet")
    reference = tmp_path / "reference"
    subprocess.run(_fdsl(*argv, "--out", reference), check=True, capture_output=True)
    for moment in (1.0, 2.5, 4.0):
        killed = tmp_path / f"killed-{moment}"
        killed_early = _kill_after(_fdsl(*argv, "--out", killed), moment) != 0
        # Under the name there is nothing or the whole catalog (the kill may land after the final rename,
        # while the process exits): never a part of it.
        if killed_early and not (killed.exists() and any(killed.iterdir())):
            subprocess.run(_fdsl(*argv, "--out", killed), check=True, capture_output=True)
        assert tree(killed) == tree(reference)


# --- fdsl render and fdsl scenes -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def catalogs(tmp_path_factory):
    from helpers import make_catalog, make_segrcdb_catalog
    from helpers3d import make_catalog3d

    root = tmp_path_factory.mktemp("kill-catalogs")
    return {"fractal": make_catalog(root / "fractal", seed=3, categories=3, points=2000, size=64, fill_rate=0.1),
            "segrcdb": make_segrcdb_catalog(root / "segrcdb"), "3d": make_catalog3d(root / "3d")}


SCENES = ["--scenes", "40", "--objects", "3", "--extra-objects", "1", "--room", "6", "--object-points", "3000",
          "--iterations", "20000", "--mix-points", "200", "--instances", "10"]
FRACTAL = ["--size", "64", "--points", "100000", "--patches", "1"]
SEGRCDB = ["--size", "256", "--images", "100", "--instances", "8"]
# case: (command words, catalog, options, output files of one run besides the manifest, what to count while waiting)
# About a second of writing each, in files of some size (a kill is likelier to land inside a write).
WRITERS = {
    "fractal-folder": (("render", "fractal"), "fractal", FRACTAL, 3 * 25 * 4, "*.png"),
    "fractal-webdataset": (("render", "fractal"), "fractal", [*FRACTAL, "--format", "webdataset", "--shard-size", "10"],
                           30, "*.tar"),
    "segrcdb-folder": (("render", "segrcdb"), "segrcdb", SEGRCDB, 2 * 100, "*.png"),
    "segrcdb-webdataset": (("render", "segrcdb"), "segrcdb", [*SEGRCDB, "--format", "webdataset", "--shard-size", "4"],
                           25, "*.tar"),
    "fractal3d-views": (("render", "fractal3d"), "3d", ["--weights", "25", "--views", "4", "--size", "96",
                                                        "--iterations", "40000"], 3 * 25 * 4, "*.png"),
    "pc-fractal-ply": (("render", "pc-fractal"), "3d", ["--instances", "40", "--iterations", "20000",
                                                        "--mix-points", "1000"], 3 * 40, "*.ply"),
    "scenes-folder": (("scenes",), "3d", SCENES, 40 * 4, "scene_*"),
    "scenes-webdataset": (("scenes",), "3d", [*SCENES, "--format", "webdataset", "--shard-size", "2"], 20, "*.tar"),
}


@pytest.mark.kill
@pytest.mark.parametrize("case", WRITERS)
def test_a_killed_writer_run_again_gives_the_uninterrupted_bytes(case, catalogs, tmp_path):
    verb, catalog, options, total, pattern = WRITERS[case]
    # --out is the same relative name in both runs' folders: nothing may depend on where the output lives.
    command = _fdsl(*verb, "--params", catalogs[catalog], "--out", "out", "--seed", "4", *options, "--quiet")
    for folder in ("reference", "killed"):
        (tmp_path / folder).mkdir()
    assert run_until(command, tmp_path / "reference", tmp_path / "reference.log", never()) == 0
    reference = tree(tmp_path / "reference" / "out")
    assert sum(map(_visible, reference)) == total + 1  # and the manifest
    out = tmp_path / "killed" / "out"
    rng = random.Random(f"{case}-1")
    last = max(name for name in reference if _visible(name) and not name.startswith("manifest"))
    outcome = kill_and_rerun(command, out, reference, progress_moments(rng, out, pattern, total, last), pattern)
    assert not outcome.torn, str(outcome)
    assert not outcome.final, str(outcome)
    assert outcome.landed(total) >= 2, outcome.attempts  # the kills landed while the writer wrote


# --- fdsl finetune and fdsl experiment -----------------------------------------------------------------------

TINY = ["--model", "test_resnet", "--image-size", "16", "--crop-pct", "0.8", "--batch-size", "8", "--lr", "0.05",
        "--threads", "1", "--quiet", "--device", "cpu"]


def latest_step(run: Path):
    """The step the run's LATEST pointer names (-1: none yet)."""
    def step() -> int:
        try:
            return int((run / "checkpoints" / "LATEST").read_text().split("-")[1])
        except (OSError, IndexError, ValueError):
            return -1
    return step


def saving(run: Path):
    """True while a checkpoint's hidden staging folder exists (inside a save)."""
    root = run / "checkpoints"
    return lambda: root.is_dir() and any(p.name.startswith(".step-") for p in root.iterdir())


@pytest.mark.kill
def test_a_killed_finetune_resumes_to_the_uninterrupted_run(catalogs, tmp_path):
    from fdsl.cli import main

    pre = tmp_path / "pretrain"
    assert main([str(a) for a in ["pretrain", "--params", catalogs["fractal"], "--render", "size=20", "--render",
                                  "points=600", "--render", "patches=2", "--instances", "8", "--epochs", "1",
                                  *TINY, "--out", pre]]) == 0
    # 64 digits at batch 8: 8 steps an epoch, 16 in all, each a checkpoint.
    command = _fdsl("finetune", "--checkpoint", pre, "--data", "sklearn-digits", "--train-images", "64",
                    "--val-fraction", "0.1", "--epochs", "2", "--checkpoint-every", "1", *TINY, "--out", "run")
    for folder in ("reference", "killed"):
        (tmp_path / folder).mkdir()
    assert run_until(command, tmp_path / "reference", tmp_path / "reference.log", never()) == 0
    reference = tree(tmp_path / "reference" / "run")
    run = tmp_path / "killed" / "run"
    step = latest_step(run)
    rng = random.Random(26)
    middle, tail = rng.randint(3, 12), rng.uniform(0, 0.3)
    moments = [("inside a checkpoint save", lambda: once(saving(run))),
               (f"step {middle}", lambda: once(lambda: step() >= middle, rng.uniform(0, 0.05))),
               (f"{tail * 1000:.0f} ms after the last checkpoint", lambda: once(lambda: step() >= 16, tail))]
    resumed = command + ["--resume"]
    # The first run is the plain command, every later one adds --resume.
    first = run_until(command, run.parent, run.parent / "run.log", moments[0][1]())
    outcome = kill_and_rerun(resumed, run, reference, moments[1:], "", check_torn=False)
    assert first == -signal.SIGKILL and outcome.attempts and all(a.code == -9 for a in outcome.attempts), \
        (first, outcome.attempts)
    assert (run / "model.safetensors").read_bytes() == (tmp_path / "reference" / "run" / "model.safetensors"
                                                       ).read_bytes()
    assert not outcome.final, str(outcome)


EXPERIMENT = ["experiment", "reproduce", "--data", "sklearn-digits", "--categories", "4", "--render-size", "16",
              "--view-size", "0", "--render-options", "points=500,patches=1", "--instances", "4", "--image-size",
              "16", "--model", "test_resnet", "--pretrain-epochs", "2", "--finetune-epochs", "2", "--batch-size",
              "16", "--train-images", "48", "--seeds", "0", "--eval-every", "1", "--threads", "1", "--quiet",
              "--formula", "fractal", "--search-options", "points=2000,size=64,fill_rate=0.1"]


@pytest.mark.kill
def test_a_killed_experiment_run_again_gives_the_uninterrupted_results(tmp_path):
    command = _fdsl(*EXPERIMENT, "--out", "exp")
    for folder in ("reference", "killed"):
        (tmp_path / folder).mkdir()
    assert run_until(command, tmp_path / "reference", tmp_path / "reference.log", never()) == 0
    reference = tree(tmp_path / "reference" / "exp")
    exp = tmp_path / "killed" / "exp"
    rng = random.Random(3)
    pretrained = exp / "finetune-sklearn-digits-pretrained-seed0"
    delays = [rng.uniform(0, 0.5), rng.uniform(0, 0.5), rng.uniform(0, 1.0)]
    moments = [(f"pre-training, {delays[0]:.2f} s after its first checkpoint",
                lambda: once(lambda: latest_step(exp / "pretrain")() >= 0, delays[0])),
               (f"scratch arm, {delays[1]:.2f} s after its first checkpoint",
                lambda: once(lambda: latest_step(exp / "finetune-sklearn-digits-scratch-seed0")() >= 0, delays[1])),
               (f"{delays[2]:.2f} s after the pre-trained arm's last checkpoint",
                lambda: once(lambda: latest_step(pretrained)() >= 6, delays[2]))]
    outcome = kill_and_rerun(command, exp, reference, moments, "", check_torn=False)
    assert sum(a.code == -9 for a in outcome.attempts) >= 2, outcome.attempts
    assert not outcome.final, str(outcome)
