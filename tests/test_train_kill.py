"""kill -9 at any moment of pretrain and finetune, then the same command with --resume: the same weights.

Each run is a real process killed with SIGKILL: some as soon as a checkpoint's staging folder
appears (so inside the save), some a seeded random delay after a checkpoint completed (inside a
step or the next save), some a random delay after start (before anything is saved).  The end
result must equal, tensor for tensor, one uninterrupted run of the same command.

The children come from a forkserver that has imported torch and timm once, and call the same
``fdsl.cli.main`` as ``python -m fdsl``; the last resume of the pre-training chain is a plain
``python -m fdsl`` subprocess.
"""

from __future__ import annotations

import multiprocessing
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

import helpers
from fdsl.cli import main
from fdsl.train import checkpoint

TINY = ["--model", "test_resnet", "--image-size", "16", "--crop-pct", "0.8", "--batch-size", "8", "--lr", "0.05",
        "--threads", "1", "--checkpoint-every", "1", "--quiet", "--device", "cpu"]
RENDER = ["--render", "size=20", "--render", "points=600", "--render", "patches=2", "--instances", "8"]


@pytest.fixture(scope="module")
def forkserver():
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["torch", "timm", "fdsl.cli", "fdsl.train.stages", "helpers"])
    return context


@pytest.fixture(scope="module")
def catalog(tmp_path_factory):
    return helpers.make_catalog(tmp_path_factory.mktemp("cat") / "params", seed=2, categories=4,
                                points=2000, size=64, fill_rate=0.1)


def staging_seen(out: Path):
    """True once a checkpoint is being written (its hidden staging folder exists)."""
    root = out / checkpoint.CHECKPOINTS
    return lambda: root.is_dir() and any(p.name.startswith(".step-") for p in root.iterdir())


def after_checkpoints(out: Path, count: int, delay: float):
    """True ``delay`` seconds after ``count`` more checkpoints completed."""
    pointer = out / checkpoint.CHECKPOINTS / checkpoint.LATEST
    seen, since = set(), [None]

    def ready():
        if since[0] is None:
            try:
                seen.add(pointer.read_text())
            except OSError:
                pass
            if len(seen) > count:  # the pointer value at start is counted too
                since[0] = time.monotonic()
            return False
        return time.monotonic() - since[0] >= delay
    return ready


def after_seconds(delay: float):
    start = time.monotonic()
    return lambda: time.monotonic() - start >= delay


def run_and_kill(context, argv, log: Path, trigger) -> int:
    """Run ``fdsl ARGV`` in a child and SIGKILL it when ``trigger()`` turns true; its exit code (-9: killed)."""
    child = context.Process(target=helpers.cli_process, args=(argv, str(log)))
    child.start()
    deadline = time.monotonic() + 120
    while child.is_alive() and not trigger() and time.monotonic() < deadline:
        time.sleep(0.0005)
    if child.is_alive():
        child.kill()
    child.join()
    return child.exitcode


def mid_save(out: Path) -> bool:
    """The kill left a save half done: a staging folder, or an older checkpoint not yet deleted."""
    root = out / checkpoint.CHECKPOINTS
    if not root.is_dir():
        return False
    names = [p.name for p in root.iterdir() if p.name != checkpoint.LATEST]
    return any(n.startswith(".") for n in names) or len(names) > 1


def kill_chain(context, argv, out: Path, triggers, log: Path) -> list:
    """The command, then the same command with --resume, each killed by the next trigger; what each kill hit."""
    outcomes = []
    for index, make_trigger in enumerate(triggers):
        code = run_and_kill(context, argv + (["--resume"] if index else []), log, make_trigger())
        outcomes.append((code, mid_save(out)))
    return outcomes


def same_weights(a: Path, b: Path) -> None:
    left, right = checkpoint.load_weights(a), checkpoint.load_weights(b)
    assert left.keys() == right.keys()
    different = [k for k in left if not torch.equal(left[k], right[k])]
    assert not different, different[:5]


def triggers_for(out: Path, rng: random.Random):
    return [lambda: staging_seen(out),
            lambda: after_checkpoints(out, 2, rng.uniform(0, 0.02)),
            lambda: after_seconds(rng.uniform(0.05, 0.3)),
            lambda: staging_seen(out),
            lambda: after_checkpoints(out, 1, rng.uniform(0, 0.01))]


@pytest.mark.kill  # 28 s: in CI's second command (pytest -m 'kill or slow')
def test_kill_9_then_resume_gives_the_uninterrupted_weights(forkserver, catalog, tmp_path, capsys):
    rng = random.Random(15)
    pre = ["pretrain", "--params", catalog, *RENDER, "--epochs", "2", "--heldout-per-category", "2", *TINY]
    reference = tmp_path / "pre-whole"
    assert main([str(a) for a in pre + ["--out", reference]]) == 0
    killed = tmp_path / "pre-killed"
    argv = pre + ["--out", killed]
    outcomes = kill_chain(forkserver, argv, killed, triggers_for(killed, rng), tmp_path / "pre.log")
    done = subprocess.run([sys.executable, "-m", "fdsl", *map(str, argv), "--resume"], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    same_weights(reference, killed)

    ft = ["finetune", "--checkpoint", reference, "--data", "sklearn-digits", "--train-images", "64",
          "--val-fraction", "0.1", "--epochs", "2", *TINY]
    ft_reference = tmp_path / "ft-whole"
    assert main([str(a) for a in ft + ["--out", ft_reference]]) == 0
    ft_killed = tmp_path / "ft-killed"
    ft_argv = ft + ["--out", ft_killed]
    outcomes += kill_chain(forkserver, ft_argv, ft_killed, triggers_for(ft_killed, rng), tmp_path / "ft.log")
    assert run_and_kill(forkserver, ft_argv + ["--resume"], tmp_path / "ft.log", lambda: False) == 0
    same_weights(ft_reference, ft_killed)
    assert sum(code == -9 for code, _ in outcomes) >= 8, outcomes  # the kills landed while training ran
    assert sum(hit for _, hit in outcomes) >= 2, outcomes  # and some inside a checkpoint save
