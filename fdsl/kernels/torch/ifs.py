"""Batched chaos-game rendering of 2D IFS with PyTorch: thousands of images per call, CUDA or CPU.

Arrays in, arrays out: nothing here knows about categories, files or formulas.

Why parallel chains: one chaos-game chain is strictly sequential, so a GPU
needs parallelism *inside* an image.  Each image runs ``chains`` short chains
in lock-step (about 1,000 chains x about 100 points, plus ``burn_in`` discarded
steps; the restart experiment in the reference doc shows this keeps the image
statistics).  Every chain starts at the origin; chain 0 keeps its points from
the origin on, exactly as the single published chain does (so the origin and
the transient towards the attractor are in the box, as on the CPU), the other
chains keep theirs only after the burn-in.

Why counter-based randomness: the random word of step ``i`` of chain ``c`` of
an image is a hash of (image key, c, i), so an image is the same whatever
else shares its batch, whatever the batch size and whatever the chunking.
The hash is 32-bit (lowbias32, done on int32 tensors with wrap-around
multiplies and masked shifts), because int32 is native on GPUs and every op
used is exact integer arithmetic on every device.  One word per step gives
both the map choice (its top 23 bits) and the point's 3x3 mask (its low 9).

Why "max order key" splatting: on one CPU chain a later patch overwrites an
earlier one.  Parallel chains have no single "later", so we define the order
of point (kept step t, chain c) as t * chains + c and let, in every pixel, the
covering cell with the largest order win: a scatter of amax over the int32
key ``order * 2 + bit``.  The max is order-independent, hence deterministic
on any device, and it keeps the statistics of sequential overwriting (a pixel
is lit when the last cell written there was set).

Floating point: coordinates are float32 and every step uses separate
multiply and add kernels (no fused multiply-add, no fast math), so results
are bit-identical across runs and batch compositions on one device type.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

# A point farther than this from the origin counts as divergent (float32 overflows at 3.4e38).
DIVERGENCE_LIMIT = 1e30
# As the published renderer (and fdsl.kernels.numba.ifs): drop the 100 steps before a chain's divergence.
STEPS_DROPPED_BEFORE_DIVERGENCE = 100

_UINT32 = 1 << 32


def _int32(value: int) -> int:
    """An unsigned 32-bit constant as the int32 with the same bits."""
    value &= _UINT32 - 1
    return value - _UINT32 if value >= 1 << 31 else value


_MUL1 = _int32(0x7FEB352D)
_MUL2 = _int32(0x846CA68B)
_GOLDEN = _int32(0x9E3779B9)
_TO_UNIT = 2.0 ** -23
MASK_BITS = 9
_MASK = (1 << MASK_BITS) - 1


def _shift_right(x: torch.Tensor, bits: int) -> torch.Tensor:
    """Logical right shift of int32 bits (torch's >> on int32 is arithmetic)."""
    return (x >> bits) & ((1 << (32 - bits)) - 1)


def mix32(x: torch.Tensor) -> torch.Tensor:
    """lowbias32 (C. Wellons): a 32-bit bijective hash with good avalanche, on int32 tensors."""
    x = x ^ _shift_right(x, 16)
    x = x * _MUL1
    x = x ^ _shift_right(x, 15)
    x = x * _MUL2
    return x ^ _shift_right(x, 16)


def absorb(state: torch.Tensor, word: torch.Tensor | int) -> torch.Tensor:
    """Fold one more key word into a hash state (the counter-based key schedule)."""
    return mix32(state ^ mix32(torch.as_tensor(word, dtype=torch.int32, device=state.device) + _GOLDEN))


def split_key(key: int) -> tuple[int, int]:
    """A 64-bit host key (fdsl.core.seeding.kernel_key) as two int32 words."""
    return _int32(key), _int32(key >> 32)


def stream_keys(base_key: int, *words: torch.Tensor) -> torch.Tensor:
    """(B, 2) int32 keys from a 64-bit base key and (B,) integer tensors (e.g. category, instance)."""
    low, high = split_key(base_key)
    device = words[0].device
    shape = words[0].shape
    state_a = torch.full(shape, low, dtype=torch.int32, device=device)
    state_b = torch.full(shape, high, dtype=torch.int32, device=device)
    for word in words:
        word = word.to(torch.int32)
        state_a = absorb(state_a, word)
        state_b = absorb(state_b, word ^ _GOLDEN)
    return torch.stack([state_a, state_b], dim=-1)


def uniform_from_word(word: torch.Tensor) -> torch.Tensor:
    """A float32 in [0, 1) from the top 23 bits of a random word."""
    return _shift_right(word, MASK_BITS).to(torch.float32) * _TO_UNIT


def patch_mask_from_word(word: torch.Tensor) -> torch.Tensor:
    """A 3x3 mask in 1..511 from the low 9 bits (0 is read as 511: a patch is never empty)."""
    mask = word & _MASK
    return torch.where(mask == 0, _MASK, mask)


@dataclass(frozen=True)
class ChainLayout:
    """How an image's points are split into parallel chains."""

    chains: int = 1024  # at most this many chains per image
    burn_in: int = 20  # discarded steps per chain (chain 0 excepted)
    min_chain_points: int = 100  # fewer, longer chains for small point counts: burn-in stays a small overhead

    def shape(self, points: int) -> tuple[int, int]:
        """(chains, kept steps per chain) for ``points`` points: chains x steps >= points."""
        chains = max(1, min(self.chains, points // max(1, self.min_chain_points)))
        return chains, math.ceil(points / chains)


@dataclass
class RenderedBatch:
    canvas: torch.Tensor  # (B, H, W, channels) uint8, y growing downwards (row = rescaled y)
    valid_points: torch.Tensor  # (B,) int64: points kept (divergent chains are dropped)
    degenerate: torch.Tensor  # (B,) bool: the kept points span a line (an axis of zero range)


def chain_step(x, y, counter, chain_a, chain_b, cumulative, last_map, table, row_offset):
    """One step of every chain: (3x3 mask of the current point, next x, next y).

    A pure function of tensors so that torch.compile can fuse its ~35 element-wise
    ops into a couple of kernels.  Eager, the multiplies and adds are separate
    kernels (no fused multiply-add): identical rounding on every device.  Compiled
    code may contract them into FMAs: still deterministic, but not bit-equal to eager.
    """
    batch, chains = x.shape
    word = mix32((chain_a + counter) ^ chain_b)
    # The published rule: the first map j with u <= cumsum(p)_j; rounding past the end -> last map.
    # Counting the cumulative values below u is that index (torch.searchsorted is far slower here).
    below = uniform_from_word(word)[:, :, None] > cumulative[:, None, :]
    choice = torch.minimum(below.sum(dim=2), last_map)
    coef = table.index_select(0, (choice + row_offset).reshape(-1)).reshape(batch, chains, 6)
    new_x = coef[..., 0] * x + coef[..., 1] * y + coef[..., 4]
    new_y = coef[..., 2] * x + coef[..., 3] * y + coef[..., 5]
    return patch_mask_from_word(word).to(torch.int16), new_x, new_y


_COMPILED: dict = {}


def _compiled_step():
    if "step" not in _COMPILED:
        _COMPILED["step"] = torch.compile(chain_step, dynamic=False)
    return _COMPILED["step"]


def iterate_chains(maps: torch.Tensor, cumulative: torch.Tensor, map_counts: torch.Tensor, keys: torch.Tensor,
                   points: int, layout: ChainLayout, compiled: bool = False):
    """Run every chain of every image; return kept (x, y, mask, order, valid), each (B, T, C).

    maps: (B, N, 6) float32 rows a, b, c, d, e, f (x' = a x + b y + e, y' = c x + d y + f),
    rows past an image's map count are ignored; cumulative: (B, N) float32 cumulative
    probabilities; map_counts: (B,) int64; keys: (B, 2) int32 image keys.
    compiled: run each step through torch.compile (fused kernels; see chain_step).
    """
    batch, device = maps.shape[0], maps.device
    chains, kept = layout.shape(points)
    steps = layout.burn_in + kept
    chain_ids = torch.arange(chains, dtype=torch.int32, device=device)
    chain_a = absorb(keys[:, :1].expand(batch, chains), chain_ids)
    chain_b = absorb(keys[:, 1:].expand(batch, chains), chain_ids ^ _GOLDEN)
    # Map j of image b is row b * N + j of one flat table: one index_select per step fetches all six.
    n_maps = maps.shape[1]
    table = maps.reshape(batch * n_maps, 6)
    row_offset = (torch.arange(batch, device=device) * n_maps)[:, None]
    last_map = (map_counts - 1)[:, None]
    # Pad past the map count with +inf so a padded map is never chosen.
    padded = torch.arange(n_maps, device=device)[None, :] >= map_counts[:, None]
    cumulative = torch.where(padded, torch.inf, cumulative)

    xs = torch.empty(batch, steps, chains, dtype=torch.float32, device=device)
    ys = torch.empty_like(xs)
    masks = torch.empty(batch, steps, chains, dtype=torch.int16, device=device)
    x = torch.zeros(batch, chains, dtype=torch.float32, device=device)
    y = torch.zeros_like(x)
    step_fn = _compiled_step() if compiled else chain_step
    for step in range(steps):
        xs[:, step] = x
        ys[:, step] = y
        counter = torch.tensor(_int32(step * _GOLDEN), dtype=torch.int32, device=device)
        masks[:, step], x, y = step_fn(x, y, counter, chain_a, chain_b, cumulative, last_map, table, row_offset)

    # Kept window: chain 0 from the origin on (like the single published chain), others after burn-in.
    def window(buffer):
        return torch.cat([buffer[:, :kept, :1], buffer[:, layout.burn_in:, 1:]], dim=2)

    xs, ys, masks = window(xs), window(ys), window(masks)
    slot = torch.arange(kept, device=device)[None, :, None]
    order = slot * chains + torch.arange(chains, device=device)[None, None, :]
    bad = ~((xs.abs() <= DIVERGENCE_LIMIT) & (ys.abs() <= DIVERGENCE_LIMIT))  # NaN is bad too
    first_bad = torch.where(bad, slot, kept).amin(dim=1, keepdim=True)
    diverged = first_bad < kept
    valid = (order < points) & ~(diverged & (slot >= first_bad - STEPS_DROPPED_BEFORE_DIVERGENCE))
    return xs, ys, masks, order.expand_as(xs), valid


def _to_pixel(v: torch.Tensor, vmin: torch.Tensor, vrange: torch.Tensor, span: int, pad: int) -> torch.Tensor:
    # The published rescale in its order of operations: shift, divide by range, scale, add pad, truncate.
    # A zero range (a degenerate axis) puts every point on the pad line, as the CPU kernel does.
    flat = vrange == 0
    scaled = ((v - vmin) / torch.where(flat, 1.0, vrange)) * span + pad
    return torch.where(flat, float(pad), scaled).to(torch.int64)


def splat(xs, ys, masks, order, valid, size: int, pad: int, patch: bool, colours: torch.Tensor) -> RenderedBatch:
    """Rescale the kept points to pixels (per-axis box, as published) and draw them.

    colours: (K, channels) uint8; a point of order t takes colours[t % K].  Patch mode
    puts a 3x3 mask with its top-left corner at (col + 1, row + 1); clear cells are black.
    """
    batch, device = xs.shape[0], xs.device
    xs, ys, masks, order, valid = (t.reshape(batch, -1) for t in (xs, ys, masks, order, valid))
    inf = torch.tensor(torch.inf, device=device)
    # The box of the kept points (the origin is chain 0's first point, as on the CPU).
    x0 = torch.where(valid, xs, inf).amin(dim=1, keepdim=True)
    x1 = torch.where(valid, xs, -inf).amax(dim=1, keepdim=True)
    y0 = torch.where(valid, ys, inf).amin(dim=1, keepdim=True)
    y1 = torch.where(valid, ys, -inf).amax(dim=1, keepdim=True)
    any_valid = valid.any(dim=1, keepdim=True)
    x0, x1, y0, y1 = (torch.where(any_valid, v, 0.0) for v in (x0, x1, y0, y1))
    xr, yr = x1 - x0, y1 - y0
    col = _to_pixel(xs, x0, xr, size - 2 * pad, pad)
    row = _to_pixel(ys, y0, yr, size - 2 * pad, pad)

    cells = size * size
    dump = cells  # an extra slot per image takes every write that falls outside the canvas
    canvas = torch.full((batch, cells + 1), -1, dtype=torch.int32, device=device)
    key = order.to(torch.int32) * 2
    offsets = [(0, 0, None)] if not patch else [(r + 1, c + 1, 8 - (3 * r + c)) for r in range(3) for c in range(3)]
    masks = masks.to(torch.int32)
    for dr, dc, bit in offsets:
        r, c = row + dr, col + dc
        inside = valid & (r < size) & (c < size)
        index = torch.where(inside, r * size + c, dump)
        on = 1 if bit is None else (masks >> bit) & 1
        canvas.scatter_reduce_(1, index, key + on, reduce="amax", include_self=True)
    canvas = canvas[:, :cells]
    lit = (canvas >= 0) & ((canvas & 1) == 1)
    colour_index = torch.where(lit, (canvas >> 1) % colours.shape[0], 0).to(torch.int64)
    pixels = colours[colour_index] * lit[..., None].to(torch.uint8)
    return RenderedBatch(canvas=pixels.reshape(batch, size, size, colours.shape[1]),
                         valid_points=valid.sum(dim=1),
                         degenerate=(any_valid & ((xr == 0) | (yr == 0))).reshape(-1))


def render_batch(maps, cumulative, map_counts, keys, *, size: int, pad: int, points: int, patch: bool,
                 colours: torch.Tensor, layout: ChainLayout = ChainLayout(), max_slots: int | None = None,
                 compiled: bool = False) -> RenderedBatch:
    """Render B images; images are processed in chunks of at most ``max_slots`` chain steps.

    Chunking only bounds memory: each image is computed independently of the others.
    """
    chains, kept = layout.shape(points)
    per_image = chains * (kept + layout.burn_in)
    if max_slots is None:
        max_slots = 1 << (27 if maps.device.type == "cuda" else 23)
    chunk = max(1, max_slots // per_image)
    parts = []
    for start in range(0, maps.shape[0], chunk):
        part = slice(start, start + chunk)
        kept_points = iterate_chains(maps[part], cumulative[part], map_counts[part], keys[part], points, layout,
                                     compiled)
        parts.append(splat(*kept_points, size=size, pad=pad, patch=patch, colours=colours))
    if len(parts) == 1:
        return parts[0]
    return RenderedBatch(canvas=torch.cat([p.canvas for p in parts]),
                         valid_points=torch.cat([p.valid_points for p in parts]),
                         degenerate=torch.cat([p.degenerate for p in parts]))
