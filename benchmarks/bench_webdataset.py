"""FractalDB to WebDataset shards at the published setting, projected to FractalDB-1k, and the shards read back.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_webdataset.py              # 20 categories = 20,000 images
    PYTHONPATH=. .venv/bin/python benchmarks/bench_webdataset.py --quick      # 2 categories, a smoke run

Writing: a real ``fdsl render --format webdataset`` of whole published categories (362 px, 200k
points, patch-gray, 25 weight rows x 10 patch draws x 4 flips = 1,000 images each) with two
workers, timed as wall-clock and as the CPU time of its processes, projected to the 1M images
of FractalDB-1k.  In the same run: the same render as an ImageFolder tree, and the published
renderer (Python loop per point, PIL patches, RGB PNGs; benchmarks/published_baseline.py) on
one system, projected the same way.

Reading: one process, one torch thread, decoding every image to a PIL RGB image and a float
tensor: the shards through the real ``webdataset`` pipeline (``fdsl.webdataset_pipeline``, no
shuffle) against the same images as files through ``torchvision.datasets.ImageFolder``.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import OFFICIAL, machine_info, table, timed  # noqa: E402
from published_baseline import published_render  # noqa: E402

from fdsl.formulas.ifs.maps import read_ifs_csv, weight_rows  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
FRACTALDB_1K_IMAGES = 1_000_000
TARGET_MINUTES = 20


def timed_render(params: Path, out: Path, workers: int, extra: list) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds of the render's processes, images) of one ``fdsl render``."""
    command = [sys.executable, "-m", "fdsl", "render", "fractal", "--params", str(params), "--out", str(out),
               "--workers", str(workers), "--quiet", *extra]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, cwd=ROOT, env=env)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    manifest = (out / "manifest.json").read_text()
    assert '"complete": true' in manifest, "the render did not finish"
    images = int(manifest.split('"images_in_dataset": ')[1].split(",")[0].split("}")[0])
    return wall, cpu, images


def projection(wall: float, cpu: float, images: int, workers: int) -> tuple[str, str]:
    """(minutes at this wall rate, minutes on ``workers`` free cores) for FractalDB-1k."""
    return (f"{FRACTALDB_1K_IMAGES * wall / images / 60:.1f} min",
            f"{FRACTALDB_1K_IMAGES * cpu / images / workers / 60:.1f} min")


def published_per_image() -> float:
    """CPU seconds per image of the published renderer (one system, its four flips, RGB PNGs at level 6)."""
    import io

    system = read_ifs_csv(sorted(OFFICIAL.glob("*.csv"))[0])
    row = weight_rows(0.4)[0]

    def one():
        for view in published_render(system, row, save=False):
            view.save(io.BytesIO(), format="PNG")

    return timed(one, 1, warm_up=False).cpu / 4


def read_rates(shards: Path, folder: Path, limit: int) -> tuple[float, float, int]:
    """Images/s decoded on one core: the shards through webdataset, the folder through ImageFolder."""
    import torch
    from torchvision.datasets import ImageFolder
    from torchvision.transforms.functional import pil_to_tensor

    import fdsl

    torch.set_num_threads(1)
    to_tensor = lambda image: pil_to_tensor(image).float().div_(255)  # noqa: E731

    # CPU time of this process: what one dedicated core delivers, whatever else shares the machine.
    start, count = time.process_time(), 0
    for image, label in fdsl.webdataset_pipeline(shards, transform=to_tensor, shuffle=0):
        count += 1
        if count == limit:
            break
    streamed = count / (time.process_time() - start)
    files = ImageFolder(str(folder), transform=to_tensor)
    order = np.random.default_rng(0).permutation(len(files))[:count]  # a training loop reads files in random order
    start = time.process_time()
    for index in order:
        files[int(index)]
    return streamed, count / (time.process_time() - start), count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 categories (2,000 images) instead of 20")
    parser.add_argument("--categories", type=int, default=None, help="published categories to render (default 20)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--read", type=int, default=5000, help="images decoded in the read test (default 5000)")
    args = parser.parse_args()
    if not OFFICIAL.is_dir():
        raise SystemExit(f"the published categories are needed at {OFFICIAL} (set FDSL_SHARED_DATA)")
    categories = args.categories or (2 if args.quick else 20)
    print(machine_info())
    with tempfile.TemporaryDirectory() as folder:
        params = Path(folder) / "params"
        params.mkdir()
        for f in sorted(OFFICIAL.glob("*.csv"))[:categories]:
            shutil.copy(f, params / f.name)
        tars, tree = Path(folder) / "shards", Path(folder) / "tree"
        tar_wall, tar_cpu, images = timed_render(params, tars, args.workers, ["--format", "webdataset"])
        tree_wall, tree_cpu, _ = timed_render(params, tree, args.workers, [])
        shard_bytes = sum(p.stat().st_size for p in tars.glob("*.tar"))
        published = published_per_image()
        streamed, files, decoded = read_rates(tars, tree, min(args.read, images))
    tar_projection, tree_projection = projection(tar_wall, tar_cpu, images, args.workers), \
        projection(tree_wall, tree_cpu, images, args.workers)
    published_minutes = FRACTALDB_1K_IMAGES * published / args.workers / 60
    print(f"writing {images:,} images at the published setting, {args.workers} workers:")
    print(table([
        ("fdsl render --format webdataset", f"{tar_wall:.1f} s wall, {tar_cpu:.1f} s CPU",
         f"{images / tar_wall:,.0f} img/s, {tar_cpu / images * 1e3:.2f} ms CPU/img", *tar_projection,
         f"{published_minutes / float(tar_projection[1].split()[0]):,.0f}x"),
        ("fdsl render (ImageFolder), same run", f"{tree_wall:.1f} s wall, {tree_cpu:.1f} s CPU",
         f"{images / tree_wall:,.0f} img/s, {tree_cpu / images * 1e3:.2f} ms CPU/img", *tree_projection, ""),
        ("published renderer + RGB PNG, same run", "1 system, 4 images", f"{published * 1e3:,.0f} ms CPU/img",
         "", f"{published_minutes:,.0f} min", ""),
    ], ("run", "time", "rate", "1M images, this wall rate", f"1M images, {args.workers} free cores",
        "speed-up")))
    print(f"target: FractalDB-1k to shards <= {TARGET_MINUTES} min on {args.workers} cores; "
          f"shards: {shard_bytes / images / 1024:.1f} KiB per image ({shard_bytes / 2**20:.0f} MiB)")
    print(f"reading {decoded:,} images back, one process, one thread (PIL decode + float tensor):")
    print(table([("webdataset pipeline over the shards", f"{streamed:,.0f} img/s", f"{streamed / files:.2f}x"),
                 ("ImageFolder over the same images as files, random order", f"{files:,.0f} img/s", "")],
                ("reader", "decoded per CPU second", "ratio")))


if __name__ == "__main__":
    main()
