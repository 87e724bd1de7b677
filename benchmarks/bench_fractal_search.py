"""FractalDB category search speed: fdsl against the published search loop.

    .venv/bin/python benchmarks/bench_fractal_search.py [--quick]

Ours: ``fdsl.catalog.search.search_categories('fractal', ...)`` on one core (the same code as
``fdsl search fractal --categories C --seed 1``), filling rate 0.2, 100k points, 512² canvas.
Baseline: the published loop (global NumPy RNG, Python chain, rescale, count_nonzero),
timed on --baseline candidates (about 0.2 s each); running it to 1000 categories would take
hours, so its total is a projection: time per candidate / acceptance x 1000, with the
acceptance measured by ours (both draw systems from the same distribution).  The table
says which figures are measured and which projected.  CPU and wall-clock times.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine_info, table  # noqa: E402
from published_baseline import published_search_candidate  # noqa: E402

from fdsl.formulas.ifs.fractal import FractalSearchSettings  # noqa: E402
from fdsl.catalog.search import search_categories  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 categories and 5 baseline candidates")
    parser.add_argument("--categories", type=int, default=None, help="categories to search (default 1000)")
    parser.add_argument("--baseline", type=int, default=None, help="published-loop candidates to time (default 200)")
    args = parser.parse_args()
    categories = args.categories or (100 if args.quick else 1000)
    baseline_count = args.baseline or (5 if args.quick else 200)
    print(machine_info())

    search_categories("fractal", FractalSearchSettings(), seed=1, categories=1, progress=False)  # compile
    wall, cpu = time.perf_counter(), time.process_time()
    result = search_categories("fractal", FractalSearchSettings(), seed=1, categories=categories, progress=False)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    acceptance = len(result.categories) / result.candidates
    ours_candidate = cpu / result.candidates

    np.random.seed(1)
    theirs_wall, start = time.perf_counter(), time.process_time()
    rates = [published_search_candidate()[1] for _ in range(baseline_count)]
    theirs_candidate = (time.process_time() - start) / baseline_count
    theirs_wall = (time.perf_counter() - theirs_wall) / baseline_count

    ours_total = ours_candidate * result.candidates * 1000 / categories
    theirs_total = theirs_candidate / acceptance * 1000
    ours_text = (f"{ours_total:.1f} s CPU, {wall:.1f} s wall (measured)" if categories == 1000
                 else f"{ours_total:.1f} s CPU (projected from {categories} measured)")
    rows = [
        ("per candidate (measured)", f"{ours_candidate * 1e3:.3f} ms CPU ({wall / result.candidates * 1e3:.3f} wall)",
         f"{theirs_candidate * 1e3:,.0f} ms CPU ({theirs_wall * 1e3:,.0f} wall), {baseline_count} candidates",
         f"{theirs_candidate / ours_candidate:,.0f}x"),
        ("1000 categories, 1 core", ours_text,
         f"{theirs_total / 3600:.1f} h CPU (projected from {baseline_count} candidates)",
         f"{theirs_total / ours_total:,.0f}x"),
    ]
    print(f"fdsl: {len(result.categories)} categories from {result.candidates} candidates "
          f"({acceptance:.2%} accepted); baseline: {baseline_count} candidates, "
          f"{np.mean(np.array(rates) >= 0.2):.0%} accepted among them")
    print(table(rows, ("case", "fdsl", "published loop", "speed-up (CPU)")))


if __name__ == "__main__":
    main()
