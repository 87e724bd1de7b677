"""RCDB and VisualAtom rendering speed at 512x512: fdsl against the published renderers, same run, same categories.

    .venv/bin/python benchmarks/bench_families_speed.py [--quick]
    PYTHONPATH=/path/to/noise_site .venv/bin/python benchmarks/bench_families_speed.py   # with the 'noise' package

Categories come from ``fdsl search rcdb|visual-atom --seed 1`` (published ranges).  Ours is
``formula.render_draw`` (what ``fdsl render`` and the on-the-fly dataset call) on every draw of
--draws draws of --categories categories; the published renderers (benchmarks/
families_published_baselines.py) draw instance 0 of the first --baseline categories, and ours is
also timed on exactly those images for a matched ratio.  "+ PNG" adds the encoder each side uses
(ours: ``fdsl.core.files.png_bytes``, level 1; published: PIL's default).  Times are per image, CPU
time of this process and, in brackets, wall-clock time.  Every figure in the table is measured in
this run.  Also prints Bezier and Perlin render times at their default 362 px.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import load_average, table  # noqa: E402
from families_published_baselines import (  # noqa: E402
    PNOISE1_SOURCE, published_png, published_rcdb, published_visual_atom)

from fdsl.core.files import png_bytes  # noqa: E402
from fdsl.formulas import create_formula  # noqa: E402
from fdsl.catalog.search import search_categories  # noqa: E402
from fdsl.core.seeding import rng_for  # noqa: E402

TARGET_MS = {"rcdb": 2.0, "visual-atom": 10.0}
BASELINES = {"rcdb": published_rcdb, "visual-atom": published_visual_atom}


class Ms(tuple):
    """(CPU ms, wall ms) per image, printed as 'cpu (wall)'."""

    def __str__(self):
        return f"{self[0]:.2f} ({self[1]:.2f})" if self[0] < 10 else f"{self[0]:.1f} ({self[1]:.1f})"

    def __add__(self, other):
        return Ms((self[0] + other[0], self[1] + other[1]))


def cpu_ms(function, jobs) -> Ms:
    wall, start = time.perf_counter(), time.process_time()
    for job in jobs:
        function(*job)
    return Ms(((time.process_time() - start) / len(jobs) * 1e3, (time.perf_counter() - wall) / len(jobs) * 1e3))


def categories(name: str, count: int) -> list:
    formula = create_formula(name)
    result = search_categories(name, formula.SearchSettings(), seed=1, categories=count, progress=False)
    return [params for _, params, _ in result.categories]


def bench_family(name: str, count: int, draws: int, baseline_count: int) -> list:
    formula = create_formula(name)
    settings = formula.RenderSettings(size=512)
    cats = categories(name, count)

    def ours(c, d, encode=False):
        image, _ = formula.render_draw(cats[c], d, rng_for(0, "render", c, d), settings, None)
        if encode:
            png_bytes(image)

    ours(0, 0)  # compile / load the numba cache
    all_jobs = [(c, d) for c in range(count) for d in range(draws)]
    matched = [(c, 0) for c in range(baseline_count)]
    ours_all = cpu_ms(ours, all_jobs)
    ours_all_png = cpu_ms(lambda c, d: ours(c, d, True), all_jobs)
    ours_matched = cpu_ms(ours, matched * 3)
    ours_matched_png = cpu_ms(lambda c, d: ours(c, d, True), matched)

    baseline = BASELINES[name]
    images = []
    base_ms = cpu_ms(lambda c, d: images.append(baseline(cats[c], random.Random(c))), matched)
    base_png_ms = base_ms + cpu_ms(lambda c, d: published_png(images[c]), matched)
    segments = sum(getattr(p, "lines", getattr(p, "orbits", 0)) * p.vertices for p in cats[:baseline_count])
    return [
        (name, f"{count}x{draws} draws", ours_all, ours_all_png, "", "", "", f"{TARGET_MS[name]:.0f}"),
        (name, f"first {baseline_count} (matched, {segments // baseline_count} segments/img)", ours_matched,
         ours_matched_png, base_ms, base_png_ms,
         f"{base_ms[0] / ours_matched[0]:.0f}x / {base_png_ms[0] / ours_matched_png[0]:.0f}x", f"{TARGET_MS[name]:.0f}"),
    ]


def bench_baselines_of_the_paper(count: int) -> list:
    rows = []
    for name in ("bezier", "perlin"):
        formula = create_formula(name)
        settings = formula.RenderSettings()
        cats = categories(name, count)
        render = lambda c, d: formula.render_draw(cats[c], d, rng_for(0, "render", c, d), settings, None)  # noqa: E731
        render(0, 0)
        jobs = [(c, d) for c in range(count) for d in range(2)]
        rows.append((name, f"{count}x2 draws, {settings.size} px", cpu_ms(render, jobs), "", "", "", "", ""))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer images (a smoke run)")
    parser.add_argument("--categories", type=int, default=50)
    parser.add_argument("--draws", type=int, default=4)
    parser.add_argument("--baseline", type=int, default=8, help="categories drawn by the published renderers")
    args = parser.parse_args()
    if args.quick:
        args.categories, args.draws, args.baseline = 10, 2, 2
    print(f"load average at start: {load_average():.2f} ({os.cpu_count()} cores); pnoise1 of the baseline: "
          f"{PNOISE1_SOURCE}")
    rows = []
    for name in ("rcdb", "visual-atom"):
        rows += bench_family(name, args.categories, args.draws, args.baseline)
    rows += bench_baselines_of_the_paper(min(args.categories, 20))
    print(table([tuple(str(c) for c in row) for row in rows],
                ("family", "images", "ours ms/img CPU (wall)", "ours + PNG", "published ms/img", "published + PNG",
                 "speed-up CPU (render / +PNG)", "target ms")))
    print(f"load average at end: {load_average():.2f}")


if __name__ == "__main__":
    main()
