"""Shared by the 3D tests: a small 3D catalog from a real search, and file digests."""

from __future__ import annotations

import hashlib
from pathlib import Path

from fdsl.formulas import create_formula
from fdsl.catalog.search import search_categories, write_catalog


def make_catalog3d(out: Path, categories: int = 3, seed: int = 1) -> Path:
    settings = create_formula("fractal3d").SearchSettings()
    result = search_categories("fractal3d", settings, seed=seed, categories=categories, progress=False)
    write_catalog("fractal3d", settings, seed, result, out)
    return out


def digests(folder: Path, suffixes=(".png", ".ply", ".json", ".npz", ".npy")) -> dict[str, str]:
    """sha256 of every data file under ``folder`` (manifests excluded: they hold timings)."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(Path(folder).rglob("*"))
            if p.is_file() and p.suffix in suffixes and not p.name.startswith("manifest")}


def kill_9_when(command: list, out, pattern: str, count: int) -> None:
    """Start ``command``, kill -9 its whole process group once ``out`` holds ``count`` files matching ``pattern``."""
    import os
    import signal
    import subprocess
    import time

    process = subprocess.Popen(command, stderr=subprocess.PIPE, start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        while len(list(out.rglob(pattern))) < count:
            assert process.poll() is None and time.monotonic() < deadline, "the run ended before the kill"
            time.sleep(0.02)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
