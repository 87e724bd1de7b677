"""3D family speed: search, one view, one PC-FractalDB instance; fdsl against the published method, same run.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_3d.py [--quick]

Ours: ``fdsl.catalog.search.search_categories('fractal3d')`` on one core (the code of ``fdsl search fractal3d``);
one 224² view of a 9,999-point cloud (``fractal3d`` view = numba projection + splat), and the same with
its PNG (``fdsl.core.files.png_bytes``); one PC-FractalDB instance (7,999 + 2,000 points, mixed, re-centred)
with its PLY bytes written to disk (``render_draw`` + ``encode`` + atomic write, what ``fdsl render
pc-fractal`` does per file).  Baselines (benchmarks/published_3d.py): the published search loop, the
published instance loop with a PLY of doubles, and, for views, the published OpenGL pipeline's maths in
NumPy on the CPU (EGL/OpenGL is not available here).  Every figure is measured in this run; times are
per item, CPU time of this process and, in brackets, wall-clock time.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine_info, table, timed  # noqa: E402
from published_3d import published_pc_instance, published_search_candidate, published_view  # noqa: E402

from fdsl.core.files import atomic_write_bytes, png_bytes  # noqa: E402
from fdsl.formulas import create_formula  # noqa: E402
from fdsl.formulas.ifs3d.base import project  # noqa: E402
from fdsl.catalog.search import search_categories  # noqa: E402
from fdsl.core.seeding import rng_for  # noqa: E402

TARGETS = {"search": "speed-up >= 100x", "view": "<= 0.5 ms", "instance": "<= 2 ms"}


def ms(timing) -> str:
    return f"{timing.cpu * 1e3:,.3f} ({timing.wall * 1e3:,.3f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer categories and baseline repetitions")
    args = parser.parse_args()
    categories, baseline_candidates, repeats = (20, 20, 50) if args.quick else (100, 100, 300)
    print(machine_info())

    # ---- search ----
    settings = create_formula("fractal3d").SearchSettings()
    search_categories("fractal3d", settings, seed=1, categories=2, progress=False)  # compile, warm caches
    wall, cpu = time.perf_counter(), time.process_time()
    result = search_categories("fractal3d", settings, seed=1, categories=categories, progress=False)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    ours_search = (cpu / result.candidates, wall / result.candidates)
    np.random.seed(1)
    wall, cpu = time.perf_counter(), time.process_time()
    accepted = sum(published_search_candidate() for _ in range(baseline_candidates))
    theirs_search = ((time.process_time() - cpu) / baseline_candidates, (time.perf_counter() - wall) / baseline_candidates)

    # ---- one view of a 9,999-point cloud ----
    systems = [params for _, params, _ in result.categories]
    fractal3d = create_formula("fractal3d")
    view_settings = fractal3d.RenderSettings()
    cloud = fractal3d.render_draw(systems[0], 0, rng_for(0, "render", 0, 0), view_settings, None)[0].points
    yaw = np.radians(30.0)
    ours_view = timed(lambda: project(cloud, yaw, 0.0, 224), repeats)
    ours_view_png = timed(lambda: png_bytes(project(cloud, yaw, 0.0, 224)), repeats)
    theirs_view = timed(lambda: published_view(cloud, yaw, encode=False), repeats)
    theirs_view_png = timed(lambda: published_view(cloud, yaw), repeats)

    # ---- one PC-FractalDB instance, PLY written ----
    pc = create_formula("pc-fractal")
    pc_settings = pc.RenderSettings()
    context = pc.render_context(systems, pc_settings)
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / "00000_0000.ply"
        counter = iter(range(10**9))

        def ours_instance():
            draw = next(counter) % 1000
            item, _ = pc.render_draw(systems[0], draw, rng_for(0, "render", 0, draw), pc_settings, context)
            atomic_write_bytes(target, pc.encode(pc.view(item, 0, pc_settings), pc_settings))

        ours_pc = timed(ours_instance, repeats)
        theirs_pc = timed(lambda: published_pc_instance(systems[0], systems[1], Path(folder) / "published.ply"),
                          max(3, repeats // 30))

    rows = [
        ("3D search, per candidate", f"{ours_search[0] * 1e3:.3f} ({ours_search[1] * 1e3:.3f})",
         f"{theirs_search[0] * 1e3:.1f} ({theirs_search[1] * 1e3:.1f})", f"{theirs_search[0] / ours_search[0]:,.0f}x",
         TARGETS["search"]),
        ("one 224² view, render", ms(ours_view), ms(theirs_view), f"{theirs_view.cpu / ours_view.cpu:,.1f}x",
         TARGETS["view"]),
        ("one 224² view + PNG", ms(ours_view_png), ms(theirs_view_png),
         f"{theirs_view_png.cpu / ours_view_png.cpu:,.1f}x", ""),
        ("one PC-FractalDB instance + PLY written", ms(ours_pc), ms(theirs_pc), f"{theirs_pc.cpu / ours_pc.cpu:,.0f}x",
         TARGETS["instance"]),
    ]
    print(f"search: fdsl {len(result.categories)} categories from {result.candidates} candidates "
          f"({len(result.categories) / result.candidates:.2%} accepted); published loop {baseline_candidates} "
          f"candidates, {accepted} accepted")
    print(table(rows, ("case (ms per item, CPU (wall))", "fdsl", "published method", "speed-up (CPU)", "target")))
    thousand = ours_search[0] * result.candidates / categories * 1000
    print(f"1000 categories on one core: fdsl {thousand:.0f} s CPU; published loop "
          f"{theirs_search[0] * result.candidates / categories * 1000 / 3600:.1f} h CPU (projected from the "
          "per-candidate times and fdsl's measured acceptance)")


if __name__ == "__main__":
    main()
