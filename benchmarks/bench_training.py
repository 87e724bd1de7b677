"""Training throughput on the CPU against the machine's own limit: matmul peak, model FLOPs, MFU, variants, data side.

    .venv/bin/python benchmarks/bench_training.py                  # about 5-6 minutes on 2 cores (batch 64)
    .venv/bin/python benchmarks/bench_training.py --quick          # a smoke run, about a minute: batch 16,
                                                                   # 1 step per row, no torch.compile
    .venv/bin/python benchmarks/bench_training.py --models vit-nano-p4 --threads 1 --seconds 20 --out train.json

Everything runs in this one process, with ``torch.set_num_threads(--threads)`` (default 2):

1. Ceiling: float32 ``torch.matmul`` GFLOP/s at a few large square sizes, the fastest repetition of each,
   measured at the start and again at the end; the best of all is the peak the rows are divided by.
2. Model FLOPs per image of one training step (forward, cross-entropy, backward), counted by
   ``torch.utils.flop_counter.FlopCounterMode`` (matmuls, convolutions and attention only: element-wise
   work is not counted, so MFU is a lower bound on how busy the cores are).  The CPU flash-attention
   kernels torch picks here are not in its table, so their formula is registered here.
3. The model side alone: timed optimiser steps on random uint8 images already converted to float and in
   memory, random labels.  Models from fdsl (``fdsl.train.model.resolve`` / ``create``) at 32 px; the
   optimiser is the one fdsl's engine builds (timm ``create_optimizer_v2``) from the recipe: ``vit-small``
   for ViTs (AdamW 1e-3, wd 0.05, drop-path 0.1), ``resnet-sgd`` for CNNs (timm's SGD: momentum 0.9,
   Nesterov, wd 1e-4).  The first row is fdsl's own loop (``fdsl.train.loop.train_one_epoch``: the
   recipe's loss, vit-small's with label smoothing 0.1, scheduler, per-step reseed, loss read and JSONL
   log); every other row is a plain loop (cross-entropy, ``loss.item()`` every step) with one change:
   one torch thread, channels_last (CNNs), foreach / fused optimiser, the loss read every 20 steps,
   ``torch.compile``.  The rows of one model are interleaved in rounds, so a burst of load from other
   jobs hits all of them; the median round is reported with the range.  ``cpu/wall`` is this process's
   CPU seconds per wall second; OpenMP threads waiting for a descheduled peer spin, and that counts as
   CPU time too, so on a shared machine ``img per CPU-s`` says more.  Evaluation under
   ``torch.inference_mode`` at batch 256.
4. The data side alone: images/s the fdsl data loader (``fdsl.train.context.loader`` over ``Keyed`` with
   the ``vit-small`` pre-training transforms, ``EpochSampler``) delivers from a small FractalDB catalog
   (``fdsl.search_catalog``), rendered on the fly vs rendered once (``fdsl.data.formula.Rendered``).

The machine may be shared: the load average is printed at the start and the end; read every figure with it.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch.utils import flop_counter

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine_info  # noqa: E402

import fdsl  # noqa: E402
from fdsl.kernels.torch.small_conv import SmallConvsAsMatmul  # noqa: E402
from fdsl.data.formula import EpochSampler, Keyed, Rendered, pretraining_dataset  # noqa: E402
from fdsl.train import model as models  # noqa: E402
from fdsl.train.context import Context, loader  # noqa: E402
from fdsl.train.recipes import recipe_config  # noqa: E402
from fdsl.train.tasks.classification import CLASSIFICATION  # noqa: E402

IMAGE_SIZE = 32
EVAL_BATCH = 256
ITEM_EVERY = 20
FDSL_ROW = "fdsl loop (train_one_epoch), defaults"
MFU_TARGET = 0.40  # issue 25: training MFU on the CPU for the headline model
ATEN = torch.ops.aten


def log(message: str) -> None:
    """Progress, on stderr: stdout holds the tables."""
    print(message, file=sys.stderr, flush=True)


def one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:160] if text else ''}"


def markdown(rows: list, header: tuple) -> str:
    rows = [[str(c) for c in r] for r in rows]
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = lambda r: "| " + " | ".join(str(c).ljust(w) for c, w in zip(r, widths)) + " |"  # noqa: E731
    return "\n".join([line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(line, rows)])


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f}, {five:.2f}, {fifteen:.2f} (1, 5, 15 min)"


# ---------------------------------------------------------------------------------------------- 1. matmul peak

def with_threads(count: int, function, *args):
    """``function(*args)`` with ``count`` torch threads, the thread count put back afterwards."""
    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        return function(*args)
    finally:
        torch.set_num_threads(before)


def matmul_peak(sizes: list[int], seconds: float) -> dict[int, float]:
    """GFLOP/s of float32 torch.matmul per square size: the fastest of repetitions filling about ``seconds``."""
    found = {}
    for n in sizes:
        a, b = torch.randn(n, n), torch.randn(n, n)
        torch.matmul(a, b)  # warm up: MKL's buffers, the thread pool
        best, spent = float("inf"), 0.0
        while spent < seconds or best == float("inf"):
            start = time.perf_counter()
            torch.matmul(a, b)
            took = time.perf_counter() - start
            best, spent = min(best, took), spent + took
        found[n] = 2 * n ** 3 / best / 1e9
    return found


# ---------------------------------------------------------------------------------------------- 2. FLOPs

def _cpu_sdpa(query, key, value, *args, out_shape=None, **kwargs) -> int:
    return flop_counter.sdpa_flop_count(query, key, value)


def _cpu_sdpa_backward(grad_out, query, key, value, *args, out_shape=None, **kwargs) -> int:
    return flop_counter.sdpa_backward_flop_count(grad_out, query, key, value)


# torch's table knows the CUDA attention kernels; on the CPU, F.scaled_dot_product_attention runs these two.
CPU_ATTENTION = {ATEN._scaled_dot_product_flash_attention_for_cpu: _cpu_sdpa,
                 ATEN._scaled_dot_product_flash_attention_for_cpu_backward: _cpu_sdpa_backward}


def count_flops(model, images, labels) -> tuple[float, float]:
    """(forward+backward FLOPs per image of one training step, forward FLOPs per image at inference)."""
    model.train()
    with flop_counter.FlopCounterMode(display=False, custom_mapping=CPU_ATTENTION) as counter:
        torch.nn.functional.cross_entropy(model(images), labels).backward()
    train = counter.get_total_flops() / len(images)
    model.zero_grad(set_to_none=True)
    model.eval()
    with torch.inference_mode(), flop_counter.FlopCounterMode(display=False, custom_mapping=CPU_ATTENTION) as counter:
        model(images)
    model.train()
    return train, counter.get_total_flops() / len(images)


# ---------------------------------------------------------------------------------------------- 3. model side

def recipe_for(name: str, batch_size: int, classes: int):
    """fdsl's pre-training recipe for the model: vit-small for ViTs, resnet-sgd for the rest, at 32 px."""
    recipe = "vit-small" if ("vit" in name or "deit" in name) else "resnet-sgd"
    overrides = {"model": name, "image_size": IMAGE_SIZE, "batch_size": batch_size, "epochs": 1, "warmup_epochs": 0}
    if recipe == "resnet-sgd":
        overrides["crop_pct"] = 0.8
    return recipe, recipe_config(recipe, "pretrain", overrides)


def build_model(config, classes: int):
    timm_name, kwargs = models.resolve(config.model, config.image_size, config.drop_path)
    return models.create(timm_name, classes, seed=config.seed, **kwargs)


def optimiser(model, config, **extra):
    from timm.optim import create_optimizer_v2

    return create_optimizer_v2(model, opt=config.opt, lr=config.lr, weight_decay=config.weight_decay,
                               momentum=config.momentum, **extra)


class Variant:
    """One row: a model, its optimiser and a ``run(steps)`` that takes that many training steps."""

    def __init__(self, name: str, numerics: str, run, model, warmup_seconds: float = 0.0, build_seconds: float = 0.0):
        self.name, self.numerics, self.run, self.model = name, numerics, run, model
        self.warmup_seconds = warmup_seconds  # the untimed warm-up steps
        self.build_seconds = build_seconds    # model and optimiser built (and, for torch.compile, the compiling step)
        self.rates: list[float] = []
        self.cpu_per_wall: list[float] = []
        self.cpu_seconds, self.images = 0.0, 0


def plain_loop(net, opt, images, labels, item_every: int = 1, small_convs_as_matmul: bool = False):
    """Forward, cross-entropy, backward, step; the loss read every ``item_every`` steps (1: fdsl's habit);
    the forward pass inside ``SmallConvsAsMatmul`` when asked (fdsl's CPU default, ``--small-convs matmul``)."""
    state = {"step": 0, "pending": []}

    def run(steps: int) -> None:
        for _ in range(steps):
            with SmallConvsAsMatmul() if small_convs_as_matmul else contextlib.nullcontext():
                logits = net(images)
            loss = torch.nn.functional.cross_entropy(logits, labels)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            state["step"] += 1
            if item_every == 1:
                loss.item()
            else:
                state["pending"].append(loss.detach())
                if state["step"] % item_every == 0:
                    torch.stack(state["pending"]).sum().item()
                    state["pending"] = []

    return run


def fdsl_loop(model, config, images, labels, classes: int, folder: Path):
    """fdsl's own epoch loop over the in-memory batch, with the optimiser, schedule and loss the engine builds."""
    from timm.scheduler import create_scheduler_v2

    from fdsl.train.loop import Training, train_one_epoch

    ctx = Context("cpu")
    opt = optimiser(model, config)
    scheduler, _ = create_scheduler_v2(opt, sched=config.sched, num_epochs=config.epochs, decay_rate=config.decay_rate,
                                       decay_milestones=[f * config.epochs for f in config.decay_at],
                                       warmup_epochs=config.warmup_epochs, warmup_lr=config.warmup_lr,
                                       min_lr=config.min_lr, step_on_epochs=False, updates_per_epoch=10 ** 6)
    criterion, mixing = CLASSIFICATION.loss(None, config, classes)
    run = Training(model, model, opt, scheduler, criterion, mixing, steps_per_epoch=10 ** 6)

    def steps(count: int) -> None:
        train_one_epoch(run, [(images, labels)] * count, 0, config, ctx, folder, progress=False)

    return steps, criterion


def warm(variant_run, steps: int) -> float:
    start = time.perf_counter()
    variant_run(steps)
    return time.perf_counter() - start


def variants_for(name: str, config, classes: int, images, labels, warmup: int, compile_: bool, folder: Path,
                 cnn: bool) -> list[Variant]:
    """The rows of one model, built and warmed up (a failing variant is said in one line and left out)."""
    rows = []

    def add(label: str, numerics: str, make) -> None:
        log(f"  {name}: building '{label}'")
        try:
            start = time.perf_counter()
            run, model = make()  # torch.compile's row compiles here, in its first step
            built = time.perf_counter() - start
            took = warm(run, warmup)
        except Exception as exc:  # a variant this torch cannot run on the CPU here: said, not a row
            print(f"{name} {label}: failed, left out: {one_line(exc)}")
            return
        rows.append(Variant(label, numerics, run, model, took, built))

    def fdsl_row(small_convs: str):
        def make():
            model = build_model(config, classes)
            run, _ = fdsl_loop(model, dataclasses.replace(config, small_convs=small_convs), images, labels, classes,
                               folder / name)
            return run, model

        return make

    (folder / name).mkdir(parents=True, exist_ok=True)
    opt_name = "AdamW" if config.opt == "adamw" else "SGD (Nesterov)" if config.opt == "sgd" else config.opt
    recipe_loss = type(CLASSIFICATION.loss(None, config, classes)[0]).__name__
    add(FDSL_ROW, f"fp32; {recipe_loss}, {opt_name}, schedule, reseed + loss.item() per step; small convs as matmul",
        fdsl_row("matmul"))
    if cnn:
        add("fdsl loop, --small-convs onednn", "the same loop with torch's oneDNN kernel for every convolution",
            fdsl_row("onednn"))

    def plain(item_every=1, channels_last=False, compiled=False, threads=None, matmul=False, **opt_extra):
        def make():
            if threads is not None:  # the same loop with fewer torch threads, the count put back after every call
                run, model = plain(matmul=matmul)()
                return (lambda steps: with_threads(threads, run, steps)), model
            model = build_model(config, classes)
            x = images
            if channels_last:
                model = model.to(memory_format=torch.channels_last)
                x = images.contiguous(memory_format=torch.channels_last)
            net = model
            if compiled:
                net = torch.compile(model)
                try:
                    run = plain_loop(net, optimiser(model, config, **opt_extra), x, labels, item_every, matmul)
                    run(1)  # compiles forward and backward
                    return run, model
                except Exception as exc:
                    print(f"compile failed: {one_line(exc)}")
                    torch._dynamo.reset()
                    model = build_model(config, classes)
                    make.fell_back = True
                    return plain_loop(model, optimiser(model, config, **opt_extra), x, labels, item_every,
                                      matmul), model
            return plain_loop(net, optimiser(model, config, **opt_extra), x, labels, item_every, matmul), model

        make.fell_back = False
        return make

    add("eager (baseline)", f"fp32; cross-entropy, {opt_name} (timm default: for-loop), loss.item() every step",
        plain())
    if torch.get_num_threads() > 1:
        threads = torch.get_num_threads()
        add("torch threads 1", f"identical numerics; 1 intra-op thread instead of {threads} (MFU still against "
            f"the {threads}-thread peak)", plain(threads=1))
    if cnn:
        add("small convs as matmul", "maps of <= 4 output pixels as unfold + matmul (equal to rounding)",
            plain(matmul=True))
        if torch.get_num_threads() > 1:
            add("small convs as matmul, 1 thread", "as above, 1 intra-op thread (the --jobs 2 setting)",
                plain(matmul=True, threads=1))
        add("channels_last", "same math, NHWC layout (other oneDNN kernels; equal to rounding)",
            plain(channels_last=True))
    label = "AdamW" if config.opt == "adamw" else opt_name
    if config.opt == "adamw":  # the CNN's SGD gets the fused row only (its update is a small part of a step)
        add(f"foreach {label}", "same update, multi-tensor kernels (equal to rounding)", plain(foreach=True))
    add(f"fused {label}", "same update, one fused CPU kernel (equal to rounding)", plain(fused=True))
    add(f"loss.item() every {ITEM_EVERY} steps", "identical numerics; host read every 20 steps",
        plain(item_every=ITEM_EVERY))
    if compile_:
        make = plain(compiled=True)
        add("torch.compile (inductor)", "fp32, generated kernels (equal to rounding)", make)
        if make.fell_back and rows and rows[-1].name.startswith("torch.compile"):
            rows[-1].name = "torch.compile failed: eager fallback"
    return rows


def chunk(function, at_least: int, seconds: float) -> tuple[int, float, float]:
    """(calls, wall s, CPU s) of ``function()`` called at least ``at_least`` times and until ``seconds`` have passed."""
    calls, wall, cpu = 0, time.perf_counter(), time.process_time()
    while calls < at_least or time.perf_counter() - wall < seconds:
        function()
        calls += 1
    return calls, time.perf_counter() - wall, time.process_time() - cpu


def time_rounds(rows: list[Variant], steps: int, seconds: float, rounds: int, batch: int) -> None:
    """Every row timed for ``seconds`` (and at least ``steps`` steps), in ``rounds`` rounds that visit each row in turn:
    a burst of load from other jobs then hits every row, not one."""
    at_least = -(-steps // rounds)
    for _ in range(rounds):
        for row in rows:
            count, wall, cpu = chunk(lambda: row.run(1), at_least, seconds / rounds)
            row.rates.append(count * batch / wall)
            row.cpu_per_wall.append(cpu / wall)
            row.cpu_seconds, row.images = row.cpu_seconds + cpu, row.images + count * batch


def eval_rate(model, images, seconds: float, rounds: int, matmul: bool = False) -> tuple[list[float], list[float]]:
    """Images/s (and CPU/wall) of forward passes under inference_mode (and ``SmallConvsAsMatmul`` if ``matmul``):
    one warm-up batch, then ``rounds`` chunks of at least one batch and ``seconds / rounds`` each."""
    model.eval()
    rates, utilisation = [], []
    with torch.inference_mode(), SmallConvsAsMatmul() if matmul else contextlib.nullcontext():
        model(images)
        for _ in range(rounds):
            count, wall, cpu = chunk(lambda: model(images), 1, seconds / rounds)
            rates.append(count * len(images) / wall)
            utilisation.append(cpu / wall)
    model.train()
    return rates, utilisation


# ---------------------------------------------------------------------------------------------- 4. data side

def data_side(folder: Path, categories: int, instances: int, renders: list[tuple[int, int]], workers: list[int],
              batch: int) -> list[dict]:
    """Images/s out of fdsl's loader (keyed vit-small pre-training transforms): rendered on the fly, rendered once
    (in memory), and read back from WebDataset shards written by ``fdsl.render_catalog`` (PNG decoded, first
    pass: the decoded-pixel cache of the training process only helps later epochs)."""
    params = folder / "params"
    start = time.perf_counter()
    fdsl.search_catalog("fractal", params, categories=categories, seed=3, points=20000, size=128, fill_rate=0.15)
    log(f"  catalog of {categories} FractalDB categories searched in {time.perf_counter() - start:.1f} s")
    results = []
    for size, points in renders:
        dataset, _ = pretraining_dataset(params=params, formula="fractal",
                                         render_options={"size": str(size), "points": str(points)},
                                         instances=instances)
        start = time.perf_counter()
        once = Rendered(dataset, progress=False)
        render_once_seconds = time.perf_counter() - start
        shards = folder / f"shards-{size}"
        fdsl.render_catalog("fractal", params, shards, format="webdataset", size=size, points=points)
        tars, _ = pretraining_dataset(images=shards)
        for count in workers:
            config = recipe_config("vit-small", "pretrain", {"batch_size": batch, "workers": count, "epochs": 1,
                                                             "warmup_epochs": 0})
            rates = {}
            for kind, base in (("on the fly", dataset), ("rendered once", once), ("webdataset", tars)):
                log(f"  data: {size} px, {points} points, {count} workers, {kind}")
                keyed = Keyed(base, seed=config.seed, transforms=CLASSIFICATION.train_transforms(config))
                sampler = EpochSampler(len(base), config.seed)
                if base is tars:  # the shards hold every image of the catalog: as many as the others, random order
                    sampler = [key for key in sampler][: len(dataset)]
                first, seen, shape = None, 0, None
                start = time.perf_counter()
                for images, labels in loader(keyed, sampler, config, batch, True, Context("cpu")):
                    if first is None:  # the first batch carries the workers' start-up: not timed
                        first, shape = time.perf_counter(), tuple(images.shape)
                        continue
                    seen += len(labels)
                rates[kind] = seen / (time.perf_counter() - first) if seen else float("nan")
                rates[kind + " first batch s"] = first - start
            results.append({"render_size": size, "points": points, "workers": count, "images": len(dataset),
                            "batch_shape": shape, "on_the_fly": rates["on the fly"],
                            "rendered_once": rates["rendered once"], "webdataset": rates["webdataset"],
                            "shard_images": len(tars), "render_once_seconds": render_once_seconds,
                            "first_batch_s": {"on_the_fly": rates["on the fly first batch s"],
                                              "rendered_once": rates["rendered once first batch s"]}})
    return results


# ---------------------------------------------------------------------------------------------- report

def fmt_rate(values: list[float]) -> str:
    if not values:
        return "n/a"
    median = statistics.median(values)
    return f"{median:,.0f} ({min(values):,.0f}-{max(values):,.0f})" if len(values) > 1 else f"{median:,.0f}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--quick", action="store_true", help="a smoke run: few steps, no torch.compile, small data")
    parser.add_argument("--models", default="vit-nano-p4,resnet10t", help="comma-separated fdsl presets / timm names")
    parser.add_argument("--batch-size", type=int, default=None, help="training batch (default 64, quick 16)")
    parser.add_argument("--threads", type=int, default=2, help="torch.set_num_threads for every row but 'torch threads 1' (default 2)")
    parser.add_argument("--steps", type=int, default=None,
                        help="at least this many timed training steps per row (default 3, quick 1)")
    parser.add_argument("--seconds", type=float, default=None,
                        help="and timed for at least this long per row (default 7.5, quick 0)")
    parser.add_argument("--rounds", type=int, default=None, help="rounds the timing is split into (default 3, quick 1)")
    parser.add_argument("--warmup", type=int, default=None,
                        help="untimed steps per row first (default 1; torch.compile's row compiles before them)")
    parser.add_argument("--classes", type=int, default=100, help="classes of the random labels (default 100)")
    parser.add_argument("--eval-seconds", type=float, default=None,
                        help="evaluation timed this long per row, >= 1 batch of 256 a round (default 3, quick 0)")
    parser.add_argument("--compile", dest="compile_", action=argparse.BooleanOptionalAction, default=None,
                        help="include torch.compile rows (default: yes, except with --quick)")
    parser.add_argument("--workers", type=int, default=2, help="DataLoader workers of the data side (besides 0)")
    parser.add_argument("--categories", type=int, default=None, help="FractalDB categories (default 10, quick 4)")
    parser.add_argument("--out", type=Path, default=None, help="also write the results as JSON here")
    args = parser.parse_args(argv)
    quick = args.quick
    rounds = max(1, args.rounds if args.rounds is not None else (1 if quick else 3))
    steps = max(1, args.steps if args.steps is not None else (1 if quick else rounds))
    seconds = args.seconds if args.seconds is not None else (0.0 if quick else 7.5)
    warmup = args.warmup if args.warmup is not None else 1
    eval_seconds = args.eval_seconds if args.eval_seconds is not None else (0.0 if quick else 3.0)
    compile_ = args.compile_ if args.compile_ is not None else not quick
    categories = args.categories if args.categories is not None else (4 if quick else 10)
    names = [n.strip() for n in args.models.split(",") if n.strip()]
    batch = args.batch_size if args.batch_size is not None else (16 if quick else 64)

    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    load_start = load()
    print(machine_info())
    print(f"torch {torch.__version__}, {torch.get_num_threads()} torch threads; load average at start: {load_start}")
    print(f"batch {batch}, {IMAGE_SIZE} px, {args.classes} classes; each row timed for >= {seconds:g} s and >= {steps} "
          f"step(s) in {rounds} round(s), after {warmup} warm-up step(s); {'quick' if quick else 'full'} run")
    sizes = [512, 1024] if quick else [512, 1024, 2048]
    log("matmul peak (start)")
    matmul_seconds = 0.3 if quick else 1.0
    peak_start = matmul_peak(sizes, matmul_seconds)
    one_start = with_threads(1, matmul_peak, sizes, matmul_seconds) if args.threads > 1 else {}

    torch.manual_seed(0)
    raw = torch.randint(0, 256, (batch, 3, IMAGE_SIZE, IMAGE_SIZE), dtype=torch.uint8)
    images = (raw.float() / 255 - 0.5) / 0.5  # uint8 -> float once, already in memory: the model side alone
    labels = torch.randint(0, args.classes, (batch,))
    eval_images = (torch.randint(0, 256, (EVAL_BATCH, 3, IMAGE_SIZE, IMAGE_SIZE), dtype=torch.uint8).float()
                   / 255 - 0.5) / 0.5

    results = {"load_start": os.getloadavg(), "threads": args.threads, "batch_size": batch, "steps": steps,
               "seconds": seconds,
               "rounds": rounds, "warmup": warmup, "quick": quick, "torch": torch.__version__, "models": {}}

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        # The data side first: its loader forks workers, best done before torch.compile starts its own pool.
        log("data side")
        renders = [(40, 20000)] if quick else [(40, 20000), (128, 25000)]
        data = data_side(folder / "data", categories, 64, renders,
                         sorted({0, args.workers}), batch)
        results["data"] = data

        for name in names:
            recipe, config = recipe_for(name, batch, args.classes)
            cnn = "vit" not in name and "deit" not in name
            log(f"{name}: FLOPs")
            probe = build_model(config, args.classes)
            train_flops, fwd_flops = count_flops(probe, images, labels)
            params = sum(p.numel() for p in probe.parameters())
            del probe
            log(f"{name}: building and warming up the variants")
            rows = variants_for(name, config, args.classes, images, labels, warmup, compile_, folder / "runs", cnn)
            log(f"{name}: timing {len(rows)} rows")
            time_rounds(rows, steps, seconds, rounds, batch)
            log(f"{name}: evaluation")
            base = next((r for r in rows if r.name.startswith("eager")), rows[0] if rows else None)
            evals = []
            if base is not None:
                evals.append(("eager", *eval_rate(base.model, eval_images, eval_seconds, rounds)))
                if cnn:
                    evals.append(("small convs as matmul (fdsl default)",
                                  *eval_rate(base.model, eval_images, eval_seconds, rounds, matmul=True)))
            cl = next((r for r in rows if r.name == "channels_last"), None)
            if cl is not None:
                nhwc = eval_images.contiguous(memory_format=torch.channels_last)
                evals.append(("channels_last", *eval_rate(cl.model, nhwc, eval_seconds, rounds)))
                evals.append(("channels_last + small convs as matmul (not used: slower)",
                              *eval_rate(cl.model, nhwc, eval_seconds, rounds, matmul=True)))
            results["models"][name] = {
                "recipe": recipe, "optimizer": config.opt, "lr": config.lr, "weight_decay": config.weight_decay,
                "drop_path": config.drop_path, "params": params, "train_flops_per_image": train_flops,
                "forward_flops_per_image": fwd_flops,
                "train": [{"variant": r.name, "numerics": r.numerics, "images_per_s": r.rates,
                           "cpu_per_wall": r.cpu_per_wall, "images_per_cpu_s": r.images / max(r.cpu_seconds, 1e-9),
                           "warmup_seconds": r.warmup_seconds, "build_seconds": r.build_seconds} for r in rows],
                "eval": [{"variant": v, "images_per_s": rates, "cpu_per_wall": util} for v, rates, util in evals]}

    log("matmul peak (end)")
    peak_end = matmul_peak(sizes, matmul_seconds)
    one_end = with_threads(1, matmul_peak, sizes, matmul_seconds) if args.threads > 1 else {}
    peak = max([*peak_start.values(), *peak_end.values()])
    one_peak = max([*one_start.values(), *one_end.values()], default=float("nan"))
    load_end = load()
    results.update(matmul_gflops={"threads": args.threads, "start": peak_start, "end": peak_end, "peak": peak,
                                  "one_thread": {"start": one_start, "end": one_end, "peak": one_peak}},
                   load_end=os.getloadavg(), seconds=time.perf_counter() - started)

    # ------------------------------------------------------------------ tables
    print("\n## 1. Machine ceiling: float32 torch.matmul, square, fastest repetition")
    matmul_rows = [(args.threads, f"{n}x{n}", f"{peak_start[n]:,.1f}", f"{peak_end[n]:,.1f}", f"{peak:,.1f}",
                    f"{max(peak_start[n], peak_end[n]) / peak:.0%}") for n in sizes]
    matmul_rows += [(1, f"{n}x{n}", f"{one_start[n]:,.1f}", f"{one_end[n]:,.1f}", f"{one_peak:,.1f}",
                     f"{max(one_start[n], one_end[n]) / one_peak:.0%}") for n in one_start]
    print(markdown(matmul_rows, ("torch threads", "size", "GFLOP/s at start", "GFLOP/s at end",
                                 "best of that thread count", "this size / best")))
    print(f"peak used for MFU below: {peak:,.1f} GFLOP/s ({args.threads} thread(s), the training rows' count)")

    print("\n## 2. Model FLOPs per image (FlopCounterMode: matmul, conv, attention; element-wise not counted)")
    print(markdown([(name, f"{m['params'] / 1e6:.2f} M", f"{m['forward_flops_per_image'] / 1e6:,.1f}",
                     f"{m['train_flops_per_image'] / 1e6:,.1f}",
                     f"{m['train_flops_per_image'] / m['forward_flops_per_image']:.2f}x")
                    for name, m in results["models"].items()],
                   ("model", "parameters", "forward MFLOP/img", "train step (fwd+loss+bwd) MFLOP/img",
                    "train / forward (≈3 expected)")))

    print(f"\n## 3. Model side: training images/s on in-memory tensors, batch {batch}, {args.threads} threads "
          f"(median of {rounds} round(s), range in brackets)")
    train_rows = []
    for name, m in results["models"].items():
        base = next((r for r in m["train"] if r["variant"].startswith("eager")), None)
        base_rate = statistics.median(base["images_per_s"]) if base else float("nan")
        for r in m["train"]:
            rate = statistics.median(r["images_per_s"])
            achieved = rate * m["train_flops_per_image"] / 1e9
            train_rows.append((name, r["variant"], r["numerics"], fmt_rate(r["images_per_s"]), f"{achieved:,.1f}",
                               f"{achieved / peak:.1%}", f"{rate / base_rate:.2f}x",
                               f"{statistics.median(r['cpu_per_wall']):.2f}", f"{r['images_per_cpu_s']:,.0f}",
                               f"{r['build_seconds']:.1f}", f"{r['warmup_seconds']:.1f}"))
    print(markdown(train_rows, ("model", "variant", "numerics", "img/s", "achieved GFLOP/s",
                                f"MFU (of {peak:,.0f} GFLOP/s matmul)", "vs eager", "cpu/wall", "img per CPU-s",
                                "build s (compile: incl. 1st step)", f"warm-up s ({warmup} step(s))")))
    for name, m in results["models"].items():
        for r in m["train"]:
            if r["variant"] in ("torch threads 1", "small convs as matmul, 1 thread") and one_peak == one_peak:
                achieved = statistics.median(r["images_per_s"]) * m["train_flops_per_image"] / 1e9
                print(f"{name}, {r['variant']}, against the 1-thread matmul peak ({one_peak:,.1f} GFLOP/s): "
                      f"MFU {achieved / one_peak:.1%}")
    for name, m in results["models"].items():
        own = next((r for r in m["train"] if r["variant"] == FDSL_ROW), None)
        if own is not None:
            mfu = statistics.median(own["images_per_s"]) * m["train_flops_per_image"] / 1e9 / peak
            print(f"{name}: fdsl's own loop at its defaults, MFU {mfu:.1%} (target >= {MFU_TARGET:.0%}: "
                  f"{'met' if mfu >= MFU_TARGET else 'not met'})")

    print(f"\n## 3b. Evaluation: torch.inference_mode, batch {EVAL_BATCH}")
    eval_rows = []
    for name, m in results["models"].items():
        train_base = next((r for r in m["train"] if r["variant"].startswith("eager")), None)
        for e in m["eval"]:
            rate = statistics.median(e["images_per_s"])
            achieved = rate * m["forward_flops_per_image"] / 1e9
            train_rate = statistics.median(train_base["images_per_s"]) if train_base else float("nan")
            eval_rows.append((name, e["variant"], fmt_rate(e["images_per_s"]), f"{achieved:,.1f}",
                              f"{achieved / peak:.1%}", f"{rate / train_rate:.1f}x",
                              f"{statistics.median(e['cpu_per_wall']):.2f}"))
    print(markdown(eval_rows, ("model", "variant", "img/s", "achieved GFLOP/s", "MFU", "vs eager training img/s",
                               "cpu/wall")))

    print(f"\n## 4. Data side alone: fdsl loader (Keyed + vit-small pre-training transforms, EpochSampler), "
          f"{categories} FractalDB categories, batch {batch}; first batch (worker start-up) not timed")
    print(markdown([(f"{d['render_size']} px, {d['points']:,} points", d["workers"], d["images"],
                     f"{d['on_the_fly']:,.0f}", f"{d['rendered_once']:,.0f}", f"{d['webdataset']:,.0f}",
                     f"{d['on_the_fly'] / d['rendered_once']:.2f}x",
                     f"{d['render_once_seconds']:.1f}") for d in data],
                   ("render", "workers", "images", "on the fly img/s", "rendered once img/s",
                    "WebDataset shards img/s (PNG decode)", "on the fly / once", "render-once cost s")))

    print("\n## Bottleneck (model side: fdsl's loop at its defaults; data side: on the fly at the first render "
          "setting)")
    fly = {d["workers"]: d["on_the_fly"] for d in data if (d["render_size"], d["points"]) == renders[0]}
    bottleneck = {}
    for name, m in results["models"].items():
        base = next((r for r in m["train"] if r["variant"] == FDSL_ROW), None)
        if base is None or not fly:
            continue
        model_rate = statistics.median(base["images_per_s"])
        data_rate = fly.get(0, next(iter(fly.values())))
        slower = "model" if model_rate < data_rate else "data"
        serial = 1 / (1 / model_rate + 1 / data_rate)
        bottleneck[name] = slower
        print(f"{name}: {slower} side is slower: model {model_rate:,.0f} img/s vs data {data_rate:,.0f} img/s "
              f"(0 workers; {', '.join(f'{w} workers {r:,.0f}' for w, r in fly.items() if w)}); with 0 workers the two "
              f"take turns on the same cores: ≈ {serial:,.0f} img/s (computed from the two, not measured)")
    results["bottleneck"] = bottleneck
    print(f"\nload average at end: {load_end}; load average at start: {load_start}; "
          f"total {time.perf_counter() - started:.0f} s")
    if args.out:
        args.out.write_text(json.dumps(results, indent=2, default=str) + "\n")
        print(f"results written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
