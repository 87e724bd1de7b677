"""SegRCDB speed at 512x512 (32 instances, image + mask): fdsl against the published method, same run.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_segrcdb.py [--quick] [--images N] [--baseline N]

Categories: ``fdsl search segrcdb --seed 1`` (254, the published ranges).  Ours is
``fdsl.formulas.contour.segrcdb.render_image`` (what ``fdsl render segrcdb`` and the on-the-fly
dataset call) for --images images in each mask mode, then the same plus both PNGs (level 1, as
``fdsl render`` writes them).  The baseline (benchmarks/families_published_baselines.py) is a
faithful re-implementation of the published method: Python loops, one ``pnoise1`` call per random
number, one ``PIL.ImageDraw.line`` per segment into the RGB image and the L mask, PIL polygon fills
for m2/m3, PNGs with PIL's defaults.  Times are per image: CPU time of this process and, in
brackets, wall-clock time.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_families_speed import categories, cpu_ms  # noqa: E402
from common import load_average, table  # noqa: E402
from families_published_baselines import PNOISE1_SOURCE, published_png, published_segrcdb  # noqa: E402

from fdsl.core.files import png_bytes  # noqa: E402
from fdsl.formulas.contour.segrcdb import SegRCDBRenderSettings, render_image  # noqa: E402
from fdsl.core.seeding import rng_for  # noqa: E402

TARGET_MS = 10.0


def bench_mode(cats: list, mode: str, images: int, baseline: int) -> tuple:
    settings = SegRCDBRenderSettings(mask=mode)

    def ours(index, encode=False):
        image, mask = render_image(cats, settings, rng_for(0, "render", index))
        if encode:
            png_bytes(image), png_bytes(mask)

    ours(0)  # compile / load the numba cache
    jobs = [(i,) for i in range(images)]
    render_ms = cpu_ms(ours, jobs)
    with_png = cpu_ms(lambda i: ours(i, True), jobs)
    drawn = []
    base_ms = cpu_ms(lambda i: drawn.append(published_segrcdb(cats, mode, random.Random(i))), jobs[:baseline])
    base_png = base_ms + cpu_ms(lambda i: (published_png(drawn[i][0]), published_png(drawn[i][1])), jobs[:baseline])
    return mode, render_ms, with_png, base_ms, base_png, f"{base_ms[0] / render_ms[0]:.0f}x / " \
        f"{base_png[0] / with_png[0]:.0f}x"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer images (a smoke run)")
    parser.add_argument("--images", type=int, default=100, help="images per mask mode, ours")
    parser.add_argument("--baseline", type=int, default=3, help="images per mask mode, published method")
    args = parser.parse_args()
    if args.quick:
        args.images, args.baseline = 20, 1
    print(f"load average at start: {load_average():.2f} ({os.cpu_count()} cores); pnoise1 of the baseline: "
          f"{PNOISE1_SOURCE}")
    cats = categories("segrcdb", 254)
    rows = [bench_mode(cats, mode, args.images, args.baseline) for mode in ("m1", "m2", "m3")]
    m1 = rows[0][1][0]
    rows = [(*row, f"{row[1][0] / m1:.2f}") for row in rows]
    print(table([tuple(str(c) for c in row) for row in rows],
                ("mask", "ours ms/img CPU (wall)", "ours + 2 PNGs", "published ms/img", "published + 2 PNGs",
                 "speed-up CPU (render / +PNG)", "ours vs m1")))
    print(f"target: m1 render <= {TARGET_MS:.0f} ms per image on one core, m2/m3 within 2x of m1; "
          f"load average at end: {load_average():.2f}")


if __name__ == "__main__":
    main()
