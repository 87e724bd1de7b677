"""Pre-training throughput with on-the-fly device-rendered FractalDB batches vs the same loop fed a fixed tensor.

    .venv/bin/python benchmarks/bench_gpu_pretrain.py                 # ResNet-50, 224 px, batch 256 on cuda (target >= 95%)
    .venv/bin/python benchmarks/bench_gpu_pretrain.py --device cpu --model resnet18 --image-size 32 \\
        --render-size 48 --points 2000 --batch 4 --steps 2 --warmup 1  # CPU smoke check

Both loops are identical (forward, backward, SGD step; bf16 autocast and
channels_last on CUDA); only the input differs: a fixed random tensor, or
``fdsl.data.device_batches.DeviceBatches`` (FractalDB rendered on the device, random
crop + normalisation on the device, next batch rendered on a side stream).
Defaults follow the published ResNet recipe: 362 px renders, 200k points,
patch-gray, random 224 crop.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import timm
import torch

from fdsl.data.device_batches import DeviceAugment, DeviceBatches
from fdsl.data.formula import EpochSampler, FormulaDataset
from fdsl.formulas import create_formula
from fdsl.formulas.ifs.fractal import FractalRenderSettings
from fdsl.formulas.ifs.maps import sample_uniform_system
from fdsl.core.seeding import rng_for
from fdsl.core.shared_data import shared_data_dir

DATA = shared_data_dir() / "fractaldb1k-official-params"


def catalog(folder: Path, count: int) -> Path:
    """A folder of `count` category CSVs: the official ones when present, else random systems."""
    files = sorted(DATA.glob("*.csv"))[:count] if DATA.is_dir() else []
    formula = create_formula("fractal")
    for k in range(count):
        if k < len(files):
            shutil.copy(files[k], folder / files[k].name)
        else:
            formula.save_params(sample_uniform_system(rng_for(0, "bench", k)), folder / f"{k:05d}.csv")
    return folder


def train_rate(model, batches, steps: int, warmup: int, device: torch.device) -> float:
    """Images/s of forward + backward + SGD over ``steps`` batches after ``warmup`` untimed ones."""
    optimiser = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = torch.nn.CrossEntropyLoss()
    cuda = device.type == "cuda"
    seen, start = 0, None
    for k, (images, labels) in enumerate(batches):
        if k == warmup:
            if cuda:
                torch.cuda.synchronize(device)
            start, seen = time.perf_counter(), 0
        if k == warmup + steps:
            break
        if cuda:
            images = images.contiguous(memory_format=torch.channels_last)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=cuda):
            loss = loss_fn(model(images), labels)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        seen += len(labels)
    if cuda:
        torch.cuda.synchronize(device)
    return seen / (time.perf_counter() - start)


def repeat(images, labels, count: int):
    for _ in range(count):
        yield images, labels


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--model", default="resnet50")
    parser.add_argument("--image-size", type=int, default=224)
    parser.add_argument("--render-size", type=int, default=362)
    parser.add_argument("--points", type=int, default=200_000)
    parser.add_argument("--categories", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--compile", action="store_true", help="torch.compile the renderer's chain step")
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True

    with tempfile.TemporaryDirectory() as tmp:
        settings = FractalRenderSettings(size=args.render_size, points=args.points, draw="patch-gray")
        dataset = FormulaDataset("fractal", catalog(Path(tmp), args.categories), settings, seed=0)
        sampler = EpochSampler(len(dataset), seed=0)
        source = DeviceBatches(dataset, sampler, args.batch, DeviceAugment(args.image_size), device=device,
                               compiled=args.compile)

        def fresh_model():
            torch.manual_seed(0)
            model = timm.create_model(args.model, num_classes=args.categories).to(device)
            return model.to(memory_format=torch.channels_last) if device.type == "cuda" else model

        images, _ = source.batch(torch.arange(args.batch), 0)  # also warms the renderer up
        labels = torch.randint(0, args.categories, (args.batch,), device=device)
        fixed = torch.randn_like(images)
        count = args.steps + args.warmup + 1
        baseline = train_rate(fresh_model(), repeat(fixed, labels, count), args.steps, args.warmup, device)
        ours = train_rate(fresh_model(), iter(source), args.steps, args.warmup, device)

    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"cpu ({torch.get_num_threads()} threads)"
    print(f"pre-training {args.model} at {args.image_size}px, batch {args.batch}, {args.steps} timed steps on {name}; "
          f"renders {args.render_size}px, {args.points} points, patch-gray")
    print(f"{'input':<40}{'images/s':>12}")
    print(f"{'on-the-fly device-rendered FractalDB':<40}{ours:>12,.1f}")
    print(f"{'fixed random tensor (baseline)':<40}{baseline:>12,.1f}")
    print(f"{'ratio':<40}{ours / baseline:>12.1%}")
    if device.type == "cuda":
        print(f"target: >= 95% -> {'met' if ours >= 0.95 * baseline else 'NOT met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
