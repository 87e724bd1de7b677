"""Shared test helpers: where the real data lives, tiny catalogs, and the CLI's bad-input contract."""

from __future__ import annotations

from pathlib import Path

from fdsl.cli import main
from fdsl.core.shared_data import shared_data_dir

# $FDSL_SHARED_DATA, default ../shared/data beside the checkout: present on the project's machines, absent on a user's.
SHARED_DATA = shared_data_dir()
OFFICIAL_PARAMS = SHARED_DATA / "fractaldb1k-official-params"
# Fifteen of the published FractalDB-1k categories (MIT, AIST; LICENSE beside them), vendored so the
# pixel-exact checks against the published renderer run on every clone.
OFFICIAL_SAMPLE = Path(__file__).resolve().parent / "fixtures" / "fractaldb1k-official-params"


def make_catalog(out: Path, seed: int, categories: int, **search) -> Path:
    """A small FractalDB catalog from a real search with the given search settings."""
    from fdsl.formulas import create_formula
    from fdsl.catalog.search import search_categories, write_catalog

    settings = create_formula("fractal").SearchSettings(**search)
    result = search_categories("fractal", settings, seed=seed, categories=categories, progress=False)
    write_catalog("fractal", settings, seed, result, out)
    return out


def make_segrcdb_catalog(out: Path, seed: int = 1, categories: int = 3) -> Path:
    """A small SegRCDB catalog at the family's default search settings."""
    from fdsl.formulas import create_formula
    from fdsl.catalog.search import search_categories, write_catalog

    settings = create_formula("segrcdb").SearchSettings()
    result = search_categories("segrcdb", settings, seed=seed, categories=categories, progress=False)
    write_catalog("segrcdb", settings, seed, result, out)
    return out


def run_cli(capsys, *argv):
    """(exit code, stderr stripped); stdout is kept in run_cli.stdout."""
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    run_cli.stdout = captured.out
    return code, captured.err.strip()


def assert_one_line_error(code, err, *needles):
    assert code == 2
    assert len(err.splitlines()) == 1, err
    assert err.startswith("fdsl: error:") and "Traceback" not in err
    for needle in needles:
        assert needle in err, err


def cli_process(argv, log) -> None:
    """Target of a child process running ``fdsl ARGV`` as ``python -m fdsl`` does, its output in ``log``.

    Started from a forkserver that has already imported torch and timm, so a child is running
    training within milliseconds instead of the seconds an interpreter start takes.
    """
    import os
    import sys
    import threading

    from tqdm import tqdm

    # tqdm's default lock is a multiprocessing semaphore, which a SIGKILLed child can never release
    # (the resource tracker then warns about leaked semaphores); a thread lock is all one process needs.
    tqdm.set_lock(threading.RLock())
    with open(log, "a") as handle:
        os.dup2(handle.fileno(), 1)
        os.dup2(handle.fileno(), 2)
    sys.exit(main([str(a) for a in argv]))


def cli_parsers():
    """(command words, parser) of every verb and sub-verb of the CLI, the root first."""
    import argparse

    from fdsl.cli import build_parser

    stack = [((), build_parser())]
    while stack:
        words, parser = stack.pop()
        yield words, parser
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                stack += [((*words, verb), sub) for verb, sub in action.choices.items()]


def make_segmentation_pairs(root, count=6, size=32, labels=3, missing=None):
    """An ADE20K-style folder: ``count`` jpg images and png masks of ids 0..labels-1; item ``missing`` lacks its mask."""
    import numpy as np
    from PIL import Image

    images, masks = root / "images" / "training", root / "annotations" / "training"
    images.mkdir(parents=True)
    masks.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for k in range(count):
        mask = np.zeros((size, size), np.uint8)
        mask[4:20, 4 + k:20 + k] = 1 + k % (labels - 1)
        picture = (mask[..., None] * 80 + rng.integers(0, 30, (size, size, 3))).astype(np.uint8)
        Image.fromarray(picture).save(images / f"{k:03d}.jpg")
        if k != missing:
            Image.fromarray(mask).save(masks / f"{k:03d}.png")
    return root
