"""Where training runs: rank, world size and device (torchrun's environment), loaders, batches moved there."""

from __future__ import annotations

import copy
import os
import platform
from contextlib import nullcontext

import torch
import torch.distributed as dist

from fdsl.core.version import __version__
from fdsl.core.errors import FdslError
from fdsl.train.recipes import TrainConfig


def is_main_process() -> bool:
    """Rank 0 of a torchrun job, or a plain process: the one that prints and writes."""
    return int(os.environ.get("RANK", "0")) == 0


class Context:
    """Rank, world size and device, from torchrun's environment variables (or a single process)."""

    def __init__(self, device: str = "auto"):
        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        local = int(os.environ.get("LOCAL_RANK", "0"))
        if device == "auto":
            device = f"cuda:{local}" if torch.cuda.is_available() else "cpu"
        elif device == "cuda":
            device = f"cuda:{local}"
        if device.startswith("cuda") and not torch.cuda.is_available():
            raise FdslError("--device cuda asked for, but torch sees no CUDA device; use --device cpu")
        self.device = torch.device(device)
        if self.device.type == "cuda":
            torch.cuda.set_device(self.device)
        if self.world > 1 and not dist.is_initialized():
            dist.init_process_group(backend="nccl" if self.device.type == "cuda" else "gloo")

    @property
    def main(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        if self.world > 1:
            dist.barrier()

    def sum(self, values: list[float]) -> list[float]:
        if self.world == 1:
            return values
        tensor = torch.tensor(values, dtype=torch.float64, device=self.device)
        dist.all_reduce(tensor)
        return tensor.tolist()

    def environment(self) -> dict:
        import timm

        return {"fdsl": __version__, "torch": torch.__version__, "timm": timm.__version__,
                "python": platform.python_version(), "device": str(self.device), "world_size": self.world}


def loader(dataset, sampler, config: TrainConfig, batch_size: int, drop_last: bool, ctx: Context):
    return torch.utils.data.DataLoader(dataset, batch_size=batch_size, sampler=sampler, num_workers=config.workers,
                                       drop_last=drop_last, pin_memory=ctx.device.type == "cuda",
                                       persistent_workers=False)


def batches(data_loader):
    """The loader's batches; an fdsl error raised in a worker process comes out as its own one line.

    A DataLoader worker re-raises errors with the worker's traceback folded into the message;
    the last line is the original one (e.g. which image could not be decoded).
    """
    try:
        yield from data_loader
    except FdslError as exc:
        text = str(exc).strip().splitlines()
        last = text[-1] if text else ""
        raise FdslError(last.split("FdslError: ", 1)[-1]) from None


def forward_mode(config: TrainConfig, ctx: Context, layout=torch.contiguous_format):
    """How a forward pass computes: bf16 autocast on CUDA; on the CPU, tiny-map convolutions as matmuls, for a
    network in the default layout (a channels-last one, as evaluation runs, is faster with oneDNN throughout:
    3,000 against 1,900 img/s for resnet10t)."""
    if config.amp and ctx.device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    if config.small_convs == "matmul" and ctx.device.type == "cpu" and layout == torch.contiguous_format:
        from fdsl.kernels.torch.small_conv import SmallConvsAsMatmul

        return SmallConvsAsMatmul()
    return nullcontext()


def evaluation_network(model: torch.nn.Module, config: TrainConfig, ctx: Context):
    """(network, memory format) that evaluation runs.  On the CPU a channels-last copy of ``model``: oneDNN's
    NHWC forward kernels evaluate resnet10t 1.6x faster at batch 64 (benchmarks/bench_training.py); the
    training model's parameters and layout are untouched, so training takes the same steps either way."""
    if not config.channels_last:
        return model, torch.contiguous_format
    if ctx.device.type == "cpu":
        return copy.deepcopy(model).to(memory_format=torch.channels_last), torch.channels_last
    return model, torch.channels_last if ctx.device.type == "cuda" else torch.contiguous_format


def to_device(images, targets, config: TrainConfig, ctx: Context):
    images = images.to(ctx.device, non_blocking=True)
    if config.channels_last and ctx.device.type == "cuda":
        images = images.contiguous(memory_format=torch.channels_last)
    return images, targets.to(ctx.device, non_blocking=True)
