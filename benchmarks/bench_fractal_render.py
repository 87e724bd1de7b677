"""FractalDB rendering speed: bare render, the published setting with PNGs, and a FractalDB-1k projection.

    .venv/bin/python benchmarks/bench_fractal_render.py [--quick]

Bare render: 256x256, 100k points, patch-gray (fdsl's ``render_system``) against an
Anderson & Farrell-style numba renderer and the published Python renderer.
Published setting: 362x362, 200k points, patch-gray, 4 flips, PNGs written with
``fdsl.fileio.png_bytes``; then a real ``fdsl render`` run projected to 1M images.
Times are CPU seconds per image of one process (a shared machine's wall time counts others' work).
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fractal_bench_common import OFFICIAL, cpu_seconds, machine_info, ratio, systems, table  # noqa: E402
from published_baseline import anderson_farrell_render, published_render  # noqa: E402

from fdsl.fileio import atomic_write_bytes, png_bytes  # noqa: E402
from fdsl.formulas.ifs.base import render_system  # noqa: E402
from fdsl.formulas.ifs.fractal import FractalDB, FractalRenderSettings  # noqa: E402
from fdsl.formulas.ifs.maps import weight_rows  # noqa: E402

FRACTALDB_1K_IMAGES = 1_000_000


def _ours_per_image(settings, pool, count, write_to=None) -> float:
    formula = FractalDB()
    jobs = [(np.ascontiguousarray(p[:, :6]), p[:, 6]) for p in pool]
    state = {"k": 0}

    def one():
        maps, probabilities = jobs[state["k"] % len(jobs)]
        state["k"] += 1
        image, _ = render_system(maps, probabilities, settings, state["k"], state["k"] + 7)
        if write_to is not None:
            for view in range(settings.flips):
                atomic_write_bytes(write_to / f"{state['k']}_{view}.png", png_bytes(formula.view(image, view, settings)))

    return cpu_seconds(one, count)


def bare_render(quick: bool) -> list:
    pool = systems(50)
    settings = FractalRenderSettings(size=256, points=100_000, draw="patch-gray", flips=1)
    ours = _ours_per_image(settings, pool, 300 if quick else 3000)
    af = cpu_seconds(lambda: anderson_farrell_render(pool[1], 256, 100_000), 20 if quick else 200)
    published = cpu_seconds(lambda: published_render(pool[1], np.ones(6), 256, 100_000, save=False),
                            1 if quick else 3, warm_up=False)
    return [
        ("bare 256², 100k, patch-gray", "Anderson & Farrell-style numba", f"{1 / ours:,.0f} img/s",
         f"{1 / af:,.0f} img/s", ratio(ours, af)),
        ("bare 256², 100k, patch-gray", "published Python+PIL (no PNG)", f"{1 / ours:,.0f} img/s",
         f"{1 / published:,.2f} img/s", ratio(ours, published)),
    ]


def published_setting(quick: bool) -> tuple[list, float]:
    pool = systems(20)
    settings = FractalRenderSettings()  # 362², 200k points, patch-gray, 4 flips
    with tempfile.TemporaryDirectory() as folder:
        per_render = _ours_per_image(settings, pool, 40 if quick else 400, write_to=Path(folder))
        sizes = [p.stat().st_size for p in Path(folder).glob("*.png")]
    ours = per_render / settings.flips
    published = cpu_seconds(lambda: published_render(pool[1], weight_rows(0.4)[0]), 1, warm_up=False) / 4
    row = ("362², 200k, patch-gray, 4 flips, PNG", "published Python+PIL", f"{ours * 1e3:.2f} ms/img",
           f"{published * 1e3:,.0f} ms/img", ratio(ours, published))
    return [row], float(np.mean(sizes))


def projection(quick: bool, workers: int) -> list:
    """A real ``fdsl render`` of whole official categories, projected to FractalDB-1k."""
    categories = 1 if quick else 5
    if not OFFICIAL.is_dir():
        return [("projection", "skipped: official categories not found", "", "", "")]
    with tempfile.TemporaryDirectory() as folder:
        params = Path(folder) / "params"
        params.mkdir()
        for f in sorted(OFFICIAL.glob("*.csv"))[:categories]:
            shutil.copy(f, params / f.name)
        out = Path(folder) / "out"
        fdsl = Path(sys.executable).with_name("fdsl")
        command = [str(fdsl), "render", "fractal", "--params", str(params), "--out", str(out),
                   "--workers", str(workers), "--quiet"]
        cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        seconds = time.perf_counter() - start
        cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (cpu_after.ru_utime + cpu_after.ru_stime) - (cpu_before.ru_utime + cpu_before.ru_stime)
        images = len(list(out.rglob("*.png")))
        manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["complete"], "the render did not finish"
    # Wall time counts whatever else runs on a shared machine; the CPU time of the run's
    # processes (start-up included) projects what ``workers`` dedicated cores would take.
    wall_minutes = FRACTALDB_1K_IMAGES * seconds / images / 60
    cpu_minutes = FRACTALDB_1K_IMAGES * cpu / images / workers / 60
    return [(f"fdsl render: {images} images, {workers} workers", f"{seconds:.1f} s wall",
             f"{images / seconds:,.0f} img/s", f"1M images ≈ {wall_minutes:.0f} min at this wall rate",
             "target ≤ 60 min"),
            ("", f"{cpu:.1f} s CPU", f"{cpu / images * 1e3:.2f} ms CPU/img",
             f"1M images ≈ {cpu_minutes:.0f} min on {workers} free cores", "")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short run (fewer images)")
    parser.add_argument("--workers", type=int, default=2, help="workers of the fdsl render projection run")
    args = parser.parse_args()
    print(machine_info())
    rows = bare_render(args.quick)
    setting_rows, mean_png = published_setting(args.quick)
    print(table(rows + setting_rows, ("case", "baseline", "fdsl", "baseline figure", "speed-up")))
    print(f"mean PNG size (grey, compress_level 1): {mean_png / 1024:.1f} KiB")
    print(table(projection(args.quick, args.workers), ("run", "time", "throughput", "projection", "")))


if __name__ == "__main__":
    main()
