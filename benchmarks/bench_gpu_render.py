"""Images/s of the batched torch FractalDB renderer, beside the numba CPU renderer measured in the same run.

    .venv/bin/python benchmarks/bench_gpu_render.py --device cuda            # the issue's figure (target >= 100k img/s, H100)
    .venv/bin/python benchmarks/bench_gpu_render.py --device cuda --compile  # the chain step through torch.compile
    .venv/bin/python benchmarks/bench_gpu_render.py --device cpu --batch 16 --batches 2   # CPU figure / smoke check

Defaults: 256 px, 100k points, patch-gray, draws spread over the 25 weight rows
of the published FractalDB-1k categories.  The numba figure is one process on
one core (the writer scales it by --workers).  Two torch figures: on the device
(what on-the-fly training gets) and with the copy to host memory that ``fdsl
render --device cuda`` needs before its workers encode PNGs.  Wall-clock
images/s, with the CPU time of this process beside them.  Times exclude the PNG encoding.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from fdsl.formulas import create_formula
from fdsl.formulas.ifs.base import DRAW_MODES
from fdsl.formulas.ifs.fractal import FractalRenderSettings
from fdsl.formulas.ifs.maps import sample_uniform_system
from fdsl.core.seeding import rng_for
from fdsl.core.shared_data import shared_data_dir

DATA = shared_data_dir() / "fractaldb1k-official-params"


def load_categories(params: Path, count: int) -> tuple[list, str]:
    formula = create_formula("fractal")
    files = sorted(params.glob("*.csv"))[:count] if params.is_dir() else []
    if files:
        return [formula.load_params(p) for p in files], f"{len(files)} categories from {params}"
    # No catalog at hand: uniform systems (unfiltered, so some diverge: still a fair timing).
    return [sample_uniform_system(rng_for(0, "bench", k)) for k in range(count)], f"{count} unfiltered random systems"


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_torch(renderer, categories: int, draws: int, batch: int, batches: int, to_host: bool) -> tuple:
    """(wall images/s, CPU images/s) of rendering batches, optionally copied to host memory as the writer does."""
    generator = torch.Generator().manual_seed(0)
    device = renderer.device

    def one_batch():
        cats = torch.randint(0, categories, (batch,), generator=generator).to(device)
        ds = torch.randint(0, draws, (batch,), generator=generator).to(device)
        images, _ = renderer.render_draws(cats, ds, warnings=False)
        return images.cpu().numpy() if to_host else images

    one_batch()  # warm-up: allocator, kernels, torch.compile
    sync(device)
    start, cpu = time.perf_counter(), time.process_time()
    for _ in range(batches):
        one_batch()
    sync(device)
    images = batch * batches
    return images / (time.perf_counter() - start), images / (time.process_time() - cpu)


def time_numba(categories: list, settings, images: int) -> tuple:
    formula = create_formula("fractal")
    context = formula.render_context(categories, settings)
    draws = formula.draws_per_category(settings)
    formula.render_draw(categories[0], 0, rng_for(0, "render", 0, 0), settings, context)  # compile / load cache
    start, cpu = time.perf_counter(), time.process_time()
    for k in range(images):
        c, d = k % len(categories), (k * 7) % draws
        formula.render_draw(categories[c], d, rng_for(0, "render", c, d), settings, context)
    return images / (time.perf_counter() - start), images / (time.process_time() - cpu)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--params", type=Path, default=DATA)
    parser.add_argument("--categories", type=int, default=1000)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--draw", default="patch-gray", choices=DRAW_MODES)
    parser.add_argument("--batch", type=int, default=None, help="images per call (default: 2048 on cuda, 16 on cpu)")
    parser.add_argument("--batches", type=int, default=None, help="timed calls (default: 10 on cuda, 2 on cpu)")
    parser.add_argument("--chains", type=int, default=1024, help="max parallel chains per image")
    parser.add_argument("--compile", action="store_true", help="run the chain step through torch.compile")
    parser.add_argument("--numba-images", type=int, default=50, help="images timed on the numba renderer")
    args = parser.parse_args(argv)

    from fdsl.kernels.torch.ifs import ChainLayout

    cuda = args.device.startswith("cuda")
    batch = args.batch or (2048 if cuda else 16)
    batches = args.batches or (10 if cuda else 2)
    categories, source = load_categories(args.params, args.categories)
    settings = FractalRenderSettings(size=args.size, points=args.points, draw=args.draw, flips=1)
    renderer = create_formula("fractal").create_torch_renderer(categories, settings, 0, args.device)
    renderer.layout = ChainLayout(chains=args.chains)
    renderer.compiled = args.compile
    draws = renderer.draws_per_category()

    on_device = time_torch(renderer, len(categories), draws, batch, batches, to_host=False)
    on_host = time_torch(renderer, len(categories), draws, batch, batches, to_host=True)
    baseline = time_numba(categories, settings, args.numba_images)
    device_name = torch.cuda.get_device_name(renderer.device) if cuda else f"cpu ({torch.get_num_threads()} threads)"
    print(f"FractalDB render, {args.size}px, {args.points} points, {args.draw}; {source}")
    print(f"torch on {device_name}, batch {batch} x {batches}{', compiled' if args.compile else ''}, "
          f"chains <= {args.chains}; numba: 1 process, {args.numba_images} images")
    print(f"{'renderer':<44}{'images/s wall':>14}{'images/s CPU':>14}")
    for name, (wall, cpu) in [(f"torch ({args.device}), images left on the device", on_device),
                              (f"torch ({args.device}), copied to host memory", on_host),
                              ("numba (cpu, 1 process)", baseline)]:
        print(f"{name:<44}{wall:>14,.0f}{cpu:>14,.0f}")
    print(f"{'ratio torch (to host) / numba, wall':<44}{on_host[0] / baseline[0]:>14.2f}")
    ours = on_host[0]
    if cuda:
        print(f"target on one H100: >= 100,000 images/s (copied to host) -> {'met' if ours >= 100_000 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    np.seterr(all="ignore")
    raise SystemExit(main())
