"""What the ViT-only kinds share: is this a Vision Transformer, its token grid, and its attention weights.

timm computes attention inside ``Attention.forward`` with fused SDPA, which never materialises
the weights.  A forward hook on each block's ``attn`` recomputes them from the block's input
with the module's own ``qkv``, ``q_norm``/``k_norm`` and ``scale``: the same numbers the fused
kernel uses, without changing the model or its output.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from fdsl.core.errors import FdslError


@dataclass
class Tokens:
    """Where a ViT's tokens sit: ``prefix`` leading tokens (class, registers) then a rows x columns patch grid."""

    prefix: int
    rows: int
    columns: int
    patch: int  # pixels per patch side
    class_token: bool

    @property
    def patches(self) -> int:
        return self.rows * self.columns


def require_vit(run, kind: str) -> torch.nn.Module:
    """The run's model when it is a timm Vision Transformer; otherwise one line saying which kinds a CNN has."""
    model = run.model()
    blocks = getattr(model, "blocks", None)
    if getattr(model, "patch_embed", None) is None or blocks is None or not all(
            hasattr(getattr(b, "attn", None), "qkv") for b in blocks):
        raise FdslError(f"{kind} needs a Vision Transformer, but {run.label} is {run.model_name} (not a ViT); "
                        "for a CNN use 'fdsl viz filters', 'cam' or 'curves'")
    return model


def tokens(model: torch.nn.Module) -> Tokens:
    embed = model.patch_embed
    rows, columns = (int(v) for v in embed.grid_size)
    patch = embed.patch_size
    patch = int(patch[0] if isinstance(patch, (tuple, list)) else patch)
    prefix = int(getattr(model, "num_prefix_tokens", 1 if getattr(model, "cls_token", None) is not None else 0))
    return Tokens(prefix, rows, columns, patch, getattr(model, "cls_token", None) is not None)


def _weights(attn: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """softmax(q k^T * scale) of one timm Attention for its input x: (batch, heads, tokens, tokens)."""
    batch, count, _ = x.shape
    heads = attn.num_heads
    qkv = attn.qkv(x).reshape(batch, count, 3, heads, -1).permute(2, 0, 3, 1, 4)
    q, k = attn.q_norm(qkv[0]), attn.k_norm(qkv[1])
    return ((q * attn.scale) @ k.transpose(-2, -1)).softmax(dim=-1)


@torch.no_grad()
def attention_maps(model: torch.nn.Module, inputs: torch.Tensor, batch_size: int = 32) -> np.ndarray:
    """Attention weights of every block: (layers, images, heads, tokens, tokens), float32, rows summing to 1."""
    captured: list[list[torch.Tensor]] = [[] for _ in model.blocks]
    hooks = [block.attn.register_forward_hook(
        lambda module, args, output, i=i: captured[i].append(_weights(module, args[0])))
        for i, block in enumerate(model.blocks)]
    try:
        for start in range(0, len(inputs), batch_size):
            model(inputs[start:start + batch_size])
    finally:
        for hook in hooks:
            hook.remove()
    return np.stack([torch.cat(layer).float().numpy() for layer in captured])
