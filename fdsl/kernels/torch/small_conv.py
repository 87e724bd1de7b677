"""2-D convolutions with a tiny output map (at most 4 pixels), computed on the CPU as one matrix product.

Why: at 32 px a ResNet's last stages see 2 x 2 and 1 x 1 maps, and there oneDNN's convolution
backward pass runs at a fifth of the machine's matmul rate: in resnet10t's training step at
batch 64 the 3 x 3, 512-channel convolution on a 1 x 1 map took 40-50 ms of the step's 160,
against 5 ms for its forward pass (torch.profiler; ``benchmarks/bench_training.py`` has the
rows).  ``unfold`` + matmul performs the same multiply-adds (zero padding included, so the
FLOP count is unchanged) as large GEMMs, forward and backward alike: per layer 1.1-3.9x
faster at batches 16-256 on 1 or 2 threads, and slower than oneDNN as soon as the output has
16 pixels or more, hence the limit.  The sums run in another order, so results equal oneDNN's
to rounding, not bit for bit; a given setting is deterministic.

``SmallConvsAsMatmul`` is a ``TorchFunctionMode``: inside it every eligible ``conv2d`` call
(float32 on the CPU, 4-D input in the default layout, ``groups == 1``, numeric padding, at most
``MAX_OUTPUT_PIXELS`` output pixels) takes this path and every other call runs unchanged.  Models and their state
dicts are untouched.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode

MAX_OUTPUT_PIXELS = 4  # 2 x 2 and 1 x 1 maps: matmul wins at every measured shape; at 4 x 4 oneDNN wins
CONV_NAMES = ("input", "weight", "bias", "stride", "padding", "dilation", "groups")
CONV_DEFAULTS = (None, None, None, 1, 0, 1, 1)


def _pair(value) -> tuple[int, int]:
    if isinstance(value, int):
        return value, value
    value = tuple(int(v) for v in value)
    return (value[0], value[0]) if len(value) == 1 else (value[0], value[1])


def output_shape(size: tuple[int, int], kernel: tuple[int, int], stride, padding, dilation) -> tuple[int, int]:
    """Height and width of a convolution's output (torch's formula)."""
    stride, padding, dilation = _pair(stride), _pair(padding), _pair(dilation)
    return tuple((size[i] + 2 * padding[i] - dilation[i] * (kernel[i] - 1) - 1) // stride[i] + 1 for i in range(2))


def matmul_conv2d(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None, stride=1, padding=0,
                  dilation=1) -> torch.Tensor:
    """``F.conv2d(x, weight, bias, stride, padding, dilation)`` (groups 1) as unfold + one matrix product."""
    kernel = tuple(weight.shape[2:])
    height, width = output_shape(tuple(x.shape[2:]), kernel, stride, padding, dilation)
    columns = F.unfold(x, kernel, dilation=_pair(dilation), padding=_pair(padding), stride=_pair(stride))
    out = weight.flatten(1) @ columns  # (N, C*kh*kw, L) -> (N, O, L)
    if bias is not None:
        out = out + bias[:, None]
    return out.view(x.shape[0], weight.shape[0], height, width)


def takes_matmul_path(x, weight, padding, groups) -> bool:
    """Whether a conv2d call is one this module computes (see the module docstring)."""
    if not (isinstance(x, torch.Tensor) and isinstance(weight, torch.Tensor)) or isinstance(padding, str):
        return False
    if groups != 1 or x.dim() != 4 or x.device.type != "cpu" or x.dtype != torch.float32 or weight.dtype != x.dtype:
        return False
    # unfold of a channels-last map is a slow gather; oneDNN takes those.  A 1 x 1 map is laid out the same
    # either way (is_contiguous holds for both formats): it takes this path.  (A whole channels-last network
    # is faster on oneDNN throughout: fdsl's forward_mode does not enter this mode for one.)
    return x.is_contiguous()


class SmallConvsAsMatmul(TorchFunctionMode):
    """Inside this mode, float32 CPU convolutions with at most ``MAX_OUTPUT_PIXELS`` output pixels are matmuls."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func is torch.conv2d or func is F.conv2d:
            values = dict(zip(CONV_NAMES, CONV_DEFAULTS))
            values.update(zip(CONV_NAMES, args))
            values.update(kwargs)
            x, weight = values["input"], values["weight"]
            if takes_matmul_path(x, weight, values["padding"], values["groups"]):
                height, width = output_shape(tuple(x.shape[2:]), tuple(weight.shape[2:]), values["stride"],
                                             values["padding"], values["dilation"])
                if 0 < height * width <= MAX_OUTPUT_PIXELS:
                    return matmul_conv2d(x, weight, values["bias"], values["stride"], values["padding"],
                                         values["dilation"])
        return func(*args, **kwargs)
