"""Helpers shared by the FractalDB benchmarks: machine info, the official categories, timing."""

from __future__ import annotations

import os
import platform
import time
from pathlib import Path

from fdsl.formulas.ifs.maps import read_ifs_csv, sample_uniform_system
from fdsl.seeding import rng_for

OFFICIAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "fractaldb1k-official-params"


def machine_info() -> str:
    model = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (f"machine: {model}, {os.cpu_count()} logical cores, python {platform.python_version()}, "
            f"load average {load:.2f} at start")


def systems(count: int) -> list:
    """The first ``count`` official FractalDB categories, or seeded uniform systems if absent."""
    if OFFICIAL.is_dir():
        files = sorted(OFFICIAL.glob("*.csv"))[:count]
        return [read_ifs_csv(f) for f in files]
    return [sample_uniform_system(rng_for(0, "bench", i)) for i in range(count)]


def cpu_seconds(function, repeats: int, warm_up: bool = True) -> float:
    """CPU seconds per call (process time: on a shared machine, wall time counts other people's work)."""
    if warm_up:
        function()  # compile, fill caches
    start = time.process_time()
    for _ in range(repeats):
        function()
    return (time.process_time() - start) / repeats


def table(rows: list, header: tuple) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = lambda r: "  ".join(str(c).ljust(w) for c, w in zip(r, widths))  # noqa: E731
    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, rows)])


def ratio(ours: float, theirs: float) -> str:
    return f"{theirs / ours:,.1f}x" if ours > 0 else "n/a"

