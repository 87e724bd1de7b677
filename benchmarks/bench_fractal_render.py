"""FractalDB rendering speed: bare render, the published setting (render and PNG encoder apart), a real run.

    .venv/bin/python benchmarks/bench_fractal_render.py            # a few minutes on 2 cores
    .venv/bin/python benchmarks/bench_fractal_render.py --quick    # a smoke run, under a minute

Bare render: 256x256, 100k points, patch-gray (fdsl's ``render_system``) against an
Anderson & Farrell-style numba renderer and the published Python renderer.
Published setting: 362x362, 200k points, patch-gray, 4 flips.  The renderer and the PNG
encoder are timed apart, because the two sides encode differently (fdsl: 8-bit grey, its
own PNG chunks around an ISA-L deflate stream; the published code: RGB at PIL's default
level 6); both encoders, and fdsl's previous one (Pillow, grey, level 1), are timed on the
same images.  Every baseline renders the same systems as fdsl, several of them.
Then a real ``fdsl render`` run is projected to FractalDB-1k.  Each time is given as CPU
time of this process and wall-clock time.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import OFFICIAL, machine_info, per_image, ratio, systems, table, timed  # noqa: E402
from published_baseline import anderson_farrell_render, published_render  # noqa: E402

from fdsl.core.files import png_bytes  # noqa: E402
from fdsl.formulas.ifs.base import render_system  # noqa: E402
from fdsl.formulas.ifs.fractal import FractalDB, FractalRenderSettings  # noqa: E402
from fdsl.formulas.ifs.maps import weight_rows  # noqa: E402

FRACTALDB_1K_IMAGES = 1_000_000


def cycling(function, items):
    """A no-argument callable that applies ``function`` to the next item each call (round robin)."""
    state = {"k": 0}

    def one():
        item = items[state["k"] % len(items)]
        state["k"] += 1
        return function(item, state["k"])

    return one


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def ours(settings):
    return lambda system, k: render_system(np.ascontiguousarray(system[:, :6]), system[:, 6], settings, k, k + 7)[0]


def bare_render(quick: bool) -> list:
    settings = FractalRenderSettings(size=256, points=100_000, draw="patch-gray", flips=1)
    pool = systems(50)
    fdsl = timed(cycling(ours(settings), pool), 300 if quick else 3000)
    af = timed(cycling(lambda s, k: anderson_farrell_render(s, 256, 100_000), pool), 50 if quick else 200)
    # The published renderer takes about a second per image: fewer systems, and fdsl timed on exactly those.
    few = pool[:2 if quick else 8]
    fdsl_few = timed(cycling(ours(settings), few), 100 if quick else 800)
    published = timed(cycling(lambda s, k: published_render(s, np.ones(6), 256, 100_000, save=False), few),
                      len(few), warm_up=False)
    return [
        ("bare 256², 100k, patch-gray", f"A&F-style numba, {plural(len(pool), 'system')}", per_image(fdsl, "img/s"),
         per_image(af, "img/s"), ratio(fdsl.cpu, af.cpu)),
        ("bare 256², 100k, patch-gray", f"published Python+PIL, {plural(len(few), 'system')}", per_image(fdsl_few, "img/s"),
         per_image(published, "img/s"), ratio(fdsl_few.cpu, published.cpu)),
    ]


def rgb_level6(image: np.ndarray) -> bytes:
    """The published encoder: the RGB image at PIL's default PNG level (6)."""
    buffer = io.BytesIO()
    Image.fromarray(image).convert("RGB").save(buffer, format="PNG")
    return buffer.getvalue()


def pillow_grey_level1(image: np.ndarray) -> bytes:
    """fdsl's previous encoder: Pillow, 8-bit grey, zlib level 1 (adaptive row filters)."""
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def published_setting(quick: bool) -> tuple[list, dict]:
    settings = FractalRenderSettings()  # 362², 200k points, patch-gray, 4 flips
    pool = systems(1 if quick else 6)
    row = weight_rows(settings.weight_delta)[0]
    weighted = [np.column_stack([s[:, :6] * row[None, :], s[:, 6]]) for s in pool]
    formula = FractalDB()
    render = timed(cycling(ours(settings), weighted), 40 * len(pool)) / 4  # one render serves the four flips
    images = [formula.view(ours(settings)(s, k), v, settings) for k, s in enumerate(weighted) for v in range(4)]
    grey_l1 = timed(cycling(lambda im, k: png_bytes(im), images), 2 * len(images))
    pillow_l1 = timed(cycling(lambda im, k: pillow_grey_level1(im), images), 2 * len(images))
    rgb_l6 = timed(cycling(lambda im, k: rgb_level6(im), images), len(images))
    # The published instance: one chain, then four flipped RGB PNGs at PIL's default level.
    published_views = []
    published = timed(cycling(lambda s, k: published_views.extend(published_render(s, row, save=False)), pool),
                      len(pool), warm_up=False) / 4
    published_png = timed(cycling(lambda view, k: view.save(io.BytesIO(), format="PNG"), published_views),
                          len(published_views), warm_up=False)
    rows = [
        ("362², 200k, patch-gray: render", f"published, {plural(len(pool), 'system')}", per_image(render),
         per_image(published), ratio(render.cpu, published.cpu)),
        ("PNG encoder, fdsl's images", "RGB level 6 (published)", f"grey, ISA-L 1: {per_image(grey_l1)}",
         per_image(rgb_l6), ratio(grey_l1.cpu, rgb_l6.cpu)),
        ("PNG encoder, fdsl's images", "Pillow grey level 1 (fdsl before)", f"grey, ISA-L 1: {per_image(grey_l1)}",
         per_image(pillow_l1), ratio(grey_l1.cpu, pillow_l1.cpu)),
        ("render + own encoder", "published Python+PIL", per_image(render + grey_l1),
         per_image(published + published_png), ratio((render + grey_l1).cpu, (published + published_png).cpu)),
        ("render + RGB level 6, both", "published Python+PIL", per_image(render + rgb_l6),
         per_image(published + published_png), ratio((render + rgb_l6).cpu, (published + published_png).cpu)),
    ]
    sizes = {"grey ISA-L level 1": np.mean([len(png_bytes(im)) for im in images]),
             "Pillow grey level 1": np.mean([len(pillow_grey_level1(im)) for im in images]),
             "RGB level 6": np.mean([len(rgb_level6(im)) for im in images])}
    return rows, {"published_ms_per_image": (published + published_png).cpu * 1e3, "png_bytes": sizes}


def projection(quick: bool, workers: int) -> list:
    """A real ``fdsl render`` of whole official categories, projected to FractalDB-1k."""
    categories = 1 if quick else 5
    if not OFFICIAL.is_dir():
        return [("projection", f"skipped: official categories not found at {OFFICIAL}", "", "", "")]
    with tempfile.TemporaryDirectory() as folder:
        params = Path(folder) / "params"
        params.mkdir()
        for f in sorted(OFFICIAL.glob("*.csv"))[:categories]:
            shutil.copy(f, params / f.name)
        out = Path(folder) / "out"
        # This checkout's fdsl (not whichever one is installed), as `python -m fdsl` from the repository.
        root = Path(__file__).resolve().parents[1]
        command = [sys.executable, "-m", "fdsl", "render", "fractal", "--params", str(params), "--out", str(out),
                   "--workers", str(workers), "--quiet"]
        cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, cwd=root,
                       env={**os.environ, "PYTHONPATH": str(root)})
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
    parser.add_argument("--quick", action="store_true", help="a short run (fewer images and systems)")
    parser.add_argument("--workers", type=int, default=2, help="workers of the fdsl render projection run")
    args = parser.parse_args()
    print(machine_info())
    rows = bare_render(args.quick)
    setting_rows, facts = published_setting(args.quick)
    print(table(rows + setting_rows, ("case", "baseline", "fdsl", "baseline figure", "speed-up (CPU)")))
    sizes = ", ".join(f"{name} {size / 1024:.1f} KiB" for name, size in facts["png_bytes"].items())
    print(f"mean PNG size: {sizes}")
    core_hours = facts["published_ms_per_image"] / 1e3 * FRACTALDB_1K_IMAGES / 3600
    print(f"published renderer, measured above: FractalDB-1k (1M images) ≈ {core_hours:,.0f} core-hours")
    print(table(projection(args.quick, args.workers), ("run", "time", "throughput", "projection", "")))


if __name__ == "__main__":
    main()
