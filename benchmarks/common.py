"""Helpers shared by the benchmarks: where the data is, machine info, timing (CPU and wall), tables."""

from __future__ import annotations

import os
import platform
import time
from dataclasses import dataclass
from pathlib import Path

from fdsl.formulas.ifs.maps import read_ifs_csv, sample_uniform_system
from fdsl.core.seeding import rng_for
from fdsl.core.shared_data import shared_data_dir

# $FDSL_SHARED_DATA (default ../shared/data beside the repository): the published FractalDB-1k categories.
OFFICIAL = shared_data_dir() / "fractaldb1k-official-params"


def machine_info() -> str:
    model = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"machine: {model}, {os.cpu_count()} logical cores, python {platform.python_version()}, "
            f"load average {load_average():.2f} at start")


def load_average() -> float:
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")


def systems(count: int) -> list:
    """The first ``count`` official FractalDB categories, or seeded uniform systems if absent."""
    if OFFICIAL.is_dir():
        files = sorted(OFFICIAL.glob("*.csv"))[:count]
        return [read_ifs_csv(f) for f in files]
    return [sample_uniform_system(rng_for(0, "bench", i)) for i in range(count)]


@dataclass(frozen=True)
class Timing:
    """Seconds per call: CPU time of this process (what a dedicated core would take) and wall-clock time
    (what the caller waited, including other people's work on a shared machine)."""

    cpu: float
    wall: float

    def __truediv__(self, k: float) -> "Timing":
        return Timing(self.cpu / k, self.wall / k)

    def __add__(self, other: "Timing") -> "Timing":
        return Timing(self.cpu + other.cpu, self.wall + other.wall)


def timed(function, repeats: int, warm_up: bool = True) -> Timing:
    """Per-call CPU and wall time of ``function()`` over ``repeats`` calls (after one untimed call)."""
    if warm_up:
        function()  # compile, fill caches
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(repeats):
        function()
    return Timing(time.process_time() - cpu, time.perf_counter() - wall) / repeats


def per_image(timing: Timing, unit: str = "ms") -> str:
    """'1.23 ms CPU (1.30 wall)' or '812 img/s CPU (790 wall)'."""
    if unit == "img/s":
        digits = 0 if 1 / timing.cpu >= 10 else 2
        return f"{1 / timing.cpu:,.{digits}f} img/s CPU ({1 / timing.wall:,.{digits}f} wall)"
    return f"{timing.cpu * 1e3:,.2f} ms CPU ({timing.wall * 1e3:,.2f} wall)"


def table(rows: list, header: tuple) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = lambda r: "  ".join(str(c).ljust(w) for c, w in zip(r, widths))  # noqa: E731
    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, rows)])


def ratio(ours: float, theirs: float) -> str:
    return f"{theirs / ours:,.1f}x" if ours > 0 else "n/a"
