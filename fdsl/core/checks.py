"""Checks of plain values that every layer shares (seeds, worker counts, category counts, a torch device).

Here, below formulas and specs, so that a formula can check its seed or device without importing the
specs built on it.
"""

from __future__ import annotations

import numbers

from fdsl.core.errors import FdslError
from fdsl.core.numbers import Range

# A search needs at least one candidate per category and usually dozens: beyond this it would run for weeks.
MAX_CATEGORIES = 10_000_000


# Seeds become 64-bit keys of the counter-based generators: a larger one would wrap or overflow somewhere deep.
MAX_SEED = 2**63 - 1


SEEDS = Range(0, MAX_SEED, said="between 0 and 2**63 - 1")


def check_whole(value, flag: str) -> int:
    """``value`` as an int, or one FdslError line: the Python API takes a script's values as they are, and a
    string or a float here would otherwise fail as a TypeError deep in a comparison (a bool is no count either)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise FdslError(f"{flag} must be a whole number, got {value!r} ({type(value).__name__})")
    return int(value)


def check_seed(seed: int, flag: str = "--seed") -> int:
    check_whole(seed, flag)
    if not SEEDS.holds(seed):
        raise FdslError(f"{flag} {SEEDS.refusal(seed)}")
    return int(seed)


def check_workers(workers: int) -> int:
    check_whole(workers, "--workers")
    if workers < 1:
        raise FdslError(f"--workers must be at least 1, got {workers}")
    return workers


def check_categories(categories: int) -> int:
    check_whole(categories, "--categories")
    if categories < 1:
        raise FdslError(f"--categories must be at least 1, got {categories}")
    if categories > MAX_CATEGORIES:
        raise FdslError(f"--categories {categories} is above the {MAX_CATEGORIES:,} limit (FractalDB-10k has 10,000); "
                        "ask for fewer categories")
    return categories


def resolve_torch_device(name):
    """'cpu', 'cuda' or 'cuda:N' as a torch.device; FdslError when that device is not there."""
    import torch

    try:
        device = torch.device(name)
    except (RuntimeError, TypeError):
        raise FdslError(f"unknown device '{name}'; use cpu, cuda or cuda:N") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise FdslError(f"device '{name}': torch sees no CUDA GPU here; run on the CPU instead")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise FdslError(f"device '{name}': only {torch.cuda.device_count()} CUDA device(s) visible; "
                            f"use cuda:0..cuda:{torch.cuda.device_count() - 1}")
    elif device.type != "cpu":
        raise FdslError(f"device '{name}' is not supported; use cpu, cuda or cuda:N")
    return device


def parse_scale_range(text: str) -> tuple[float, float]:
    try:
        low, high = (float(part) for part in text.split("-"))
    except ValueError:
        raise FdslError(f"--scale-range takes LOW-HIGH (e.g. 0.5-2), got '{text}'") from None
    if not (0 < low <= high <= 8):
        raise FdslError(f"--scale-range {text}: need 0 < LOW <= HIGH <= 8")
    return low, high


def output_path(text: str):
    """argparse ``type`` of every ``--out``: an empty path would mean the working directory, in silence."""
    import argparse
    from pathlib import Path

    if not str(text).strip():
        raise argparse.ArgumentTypeError("is empty; name the folder or file to write")
    return Path(text)
