"""Compiled chaos-game kernels for 2D iterated function systems.

Arrays in, arrays out: these functions know nothing about categories, files or
formulas.  Per image:

1. ``iterate``: run the chain (a lean loop: the x, y dependency is the only
   latency, so the map choice of each step is drawn inside it, off that path,
   by a table lookup on the draw's top bits; divergence is read off the box,
   not checked per step; compat sequences and many-map systems take their
   choices from a vectorised pass), then find the first divergent point and
   the bounding box of the kept points;
2. ``splat_*``: a vectorised pass turns points into pixel indices with the
   per-axis rescale of the published code, another draws the patch masks,
   then a store pass writes them (single pixels or random 3x3 patches).

Randomness inside kernels is counter-based: SplitMix64 of (key, t // 2) gives
two draws, used by steps (or points) 2k and 2k+1: 31-bit draws for the map
choice (so that the comparisons vectorise 8 to a register), 32-bit ones for
the patch masks.  The value used at
step t depends only on (key, t), so nothing here depends on the order or the
batch in which images are rendered.  No ``fastmath``: results must be
bit-identical on every machine.
"""

from __future__ import annotations

import sys

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

from fdsl.kernels.numba.counter_rng import mix64

# A point farther than this from the origin is treated as divergent: past it the
# rescale loses all structure (and a few steps later the chain overflows to inf).
DIVERGENCE_LIMIT = 1e150
# The published renderer drops the 100 points before the first NaN; we apply the
# same rule to any divergent point.
POINTS_DROPPED_BEFORE_DIVERGENCE = 100
# The chain stops this many steps after a divergence at the latest (only the kept points matter).
DIVERGENCE_CHECK_EVERY = 4096
# Up to this many maps the map choice is an unrolled, vectorised comparison.
FAST_CHOICE_MAPS = 7

_S32 = np.uint64(32)
_LOW32 = np.uint64(0xFFFFFFFF)
_S33 = np.uint64(33)
_ONE = np.uint64(1)
_TWO_POW_31 = 2147483648.0
_511 = np.uint64(511)
# No 31-bit draw exceeds it: pads the unrolled comparison for systems with few maps.
_NEVER = np.int32(2**31 - 1)
# The 4-byte read-modify-write of a patch row is only valid where memory is little-endian.
_LITTLE_ENDIAN = sys.byteorder == "little"




@njit(inline="always")
def draw32(key, t):
    """The 32-bit draw of step t: the high (t even) or low (t odd) half of mix64(key, t // 2)."""
    h = mix64(key, t >> 1)
    return (h >> _S32) if (t & 1) == 0 else (h & _LOW32)


@njit(inline="always")
def choice_draw(key, t):
    """The 31-bit map-choice draw of step t (from the same hash pair as draw32)."""
    h = mix64(key, t >> 1)
    return np.int32((h >> _S33) if (t & 1) == 0 else ((h & _LOW32) >> _ONE))


@njit(cache=True, nogil=True)
def integer_thresholds(cumulative):
    """T_k = floor(cumsum(p)_k * 2**31) (at most 2**31 - 1), padded to 6 entries no draw exceeds.

    For a draw m and u = m / 2**31, ``u > cumsum_k`` holds exactly when ``m > T_k``
    (scaling by a power of two is exact; a cumsum >= 1 is never below u), so
    integer comparisons pick the same map as the published float rule
    "first j with u <= cumsum(p)_j".
    """
    last = cumulative.shape[0] - 1
    out = np.full(max(last, FAST_CHOICE_MAPS - 1), _NEVER, dtype=np.int32)
    for k in range(last):
        out[k] = np.int32(min(np.floor(cumulative[k] * _TWO_POW_31), 2147483647.0))
    return out


@njit(cache=True, nogil=True)
def choose_maps(cumulative, n_steps, key, fixed_uniforms, choices):
    """Map index of every step: the first map j with u <= cumsum(p)_j, as published.

    The uniform of step t is fixed_uniforms[t] when given (compat mode: the
    published global-RNG sequence), else the 31-bit draw of (key, t) over 2**31.
    Rounding that leaves cumsum(p)[-1] just below u falls back to the last map.
    """
    last = cumulative.shape[0] - 1
    if fixed_uniforms.shape[0] > 0:
        for t in range(n_steps):
            u = fixed_uniforms[t]
            j = 0
            for k in range(last):
                j += u > cumulative[k]
            choices[t] = j
        return
    thr = integer_thresholds(cumulative)
    if last >= FAST_CHOICE_MAPS:
        for t in range(n_steps):
            m = choice_draw(key, t)
            j = 0
            for k in range(last):
                j += m > thr[k]
            choices[t] = j
        return
    t0, t1, t2, t3, t4, t5 = thr[0], thr[1], thr[2], thr[3], thr[4], thr[5]
    # One hash feeds two steps; branch-free comparisons: this loop vectorises.
    for s in range(n_steps // 2):
        h = mix64(key, s)
        hi = np.int32(h >> _S33)
        lo = np.int32((h & _LOW32) >> _ONE)
        choices[2 * s] = _count_above(hi, t0, t1, t2, t3, t4, t5)
        choices[2 * s + 1] = _count_above(lo, t0, t1, t2, t3, t4, t5)
    if n_steps & 1:
        choices[n_steps - 1] = _count_above(choice_draw(key, n_steps - 1), t0, t1, t2, t3, t4, t5)


@njit(inline="always")
def _count_above(m, t0, t1, t2, t3, t4, t5):
    # int32 sums (not bool -> int64) keep the loop 8 lanes wide.
    return (np.int32(m > t0) + np.int32(m > t1) + np.int32(m > t2) + np.int32(m > t3)
            + np.int32(m > t4) + np.int32(m > t5))


@njit(inline="always")
def _map_columns(maps):
    # One contiguous array per coefficient: the chain's loads stay unit-stride.
    return (maps[:, 0].copy(), maps[:, 1].copy(), maps[:, 2].copy(), maps[:, 3].copy(), maps[:, 4].copy(),
            maps[:, 5].copy())


@njit(inline="always")
def _affine(a, b, c, d, e, f, j, x, y):
    """Map j applied to (x, y): x' = a x + b y + e, y' = c x + d y + f."""
    return a[j] * x + b[j] * y + e[j], c[j] * x + d[j] * y + f[j]


@njit(inline="always")
def _widen(x, y, xmin, xmax, ymin, ymax):
    # Selects, not min/max: branch-free on the chain's critical path, and an inf widens the box.
    return (x if x < xmin else xmin, x if x > xmax else xmax, y if y < ymin else ymin, y if y > ymax else ymax)


@njit(cache=True, nogil=True)
def _run_chain(maps, n_points, choices, xs, ys, box):
    """Steps 1.. of the chain (point 0, the origin, is the caller's) and the box of all points (into ``box``).

    Returns (points computed, diverged): all of them, or up to the end of the
    block holding the first divergent point (the points after it are never used).
    """
    a, b, c, d, e, f = _map_columns(maps)
    x = y = xmin = xmax = ymin = ymax = 0.0
    start = 1
    while start < n_points:
        stop = min(start + DIVERGENCE_CHECK_EVERY, n_points)
        finite = True
        # The chain is latency-bound on x, y: the box and the divergence flag are
        # off that path and branch-free, so they cost (almost) nothing here.
        for t in range(start, stop):
            j = choices[t - 1]
            x, y = _affine(a, b, c, d, e, f, j, x, y)
            xs[t] = x
            ys[t] = y
            xmin, xmax, ymin, ymax = _widen(x, y, xmin, xmax, ymin, ymax)
            finite &= (abs(x) <= DIVERGENCE_LIMIT) & (abs(y) <= DIVERGENCE_LIMIT)
        if not finite:
            return stop, True
        start = stop
    box[0] = xmin
    box[1] = xmax
    box[2] = ymin
    box[3] = ymax
    return n_points, False


# The map choice of the in-loop chain: a table lookup on the top bits of the 31-bit draw, then a compare or two.
CHOICE_BUCKET_BITS = 10
_BUCKET_SHIFT = np.uint32(31 - CHOICE_BUCKET_BITS)


@njit(cache=True, nogil=True)
def choice_table(thresholds):
    """(table, padded): the map of each draw is ``j = table[m >> shift]``, then ``j += 1`` while ``m > padded[j]``.

    table[b] is the map of the lowest draw of bucket b (the number of thresholds below it), so the
    walk only crosses the thresholds inside the bucket: none for almost every draw, which makes the
    branch predictable.  padded ends with a threshold no draw exceeds, so the walk always stops.
    The result is the map ``_count_above`` gives, for every draw.
    """
    n_buckets = 1 << CHOICE_BUCKET_BITS
    padded = np.full(thresholds.shape[0] + 1, _NEVER, dtype=np.int32)
    padded[:thresholds.shape[0]] = thresholds
    table = np.empty(n_buckets, dtype=np.uint8)
    j = 0
    for bucket in range(n_buckets):
        lowest = np.int32(bucket << (31 - CHOICE_BUCKET_BITS))
        while lowest > padded[j]:
            j += 1
        table[bucket] = j
    return table, padded


@njit(inline="always")
def _table_choice(m, table, padded):
    j = np.int32(table[np.uint32(m) >> _BUCKET_SHIFT])
    while m > padded[j]:
        j += 1
    return j


@njit(cache=True, nogil=True)
def _run_chain_drawing(maps, n_points, table, padded, key, xs, ys, box):
    """``_run_chain`` with the map of each step drawn inside the loop, exactly as ``choose_maps`` draws it
    (at most FAST_CHOICE_MAPS maps, no compat sequence; finite maps).

    The chain is latency-bound on x, y; the hash and the table choice of the draws are off that
    path and fill cycles the chain waits anyway, where a separate pass over them cost extra.
    One hash serves two steps.  It runs to the end (a divergent chain is cut by ``iterate``) and
    checks nothing per step: with finite maps the first non-finite value is an overflow to +-inf,
    never a NaN (that needs an inf first), and any point past DIVERGENCE_LIMIT, inf included, widens
    the box past it; so the box alone tells whether the chain diverged.
    Returns (points computed, diverged).
    """
    a, b, c, d, e, f = _map_columns(maps)
    x = y = xmin = xmax = ymin = ymax = 0.0
    for pair in range((n_points - 1) // 2):
        h = mix64(key, pair)  # the draws of steps 2 pair + 1 (high half) and 2 pair + 2 (low half)
        j0 = _table_choice(np.int32(h >> _S33), table, padded)
        j1 = _table_choice(np.int32((h & _LOW32) >> _ONE), table, padded)
        x, y = _affine(a, b, c, d, e, f, j0, x, y)
        xs[2 * pair + 1] = x
        ys[2 * pair + 1] = y
        xmin, xmax, ymin, ymax = _widen(x, y, xmin, xmax, ymin, ymax)
        x, y = _affine(a, b, c, d, e, f, j1, x, y)
        xs[2 * pair + 2] = x
        ys[2 * pair + 2] = y
        xmin, xmax, ymin, ymax = _widen(x, y, xmin, xmax, ymin, ymax)
    if n_points % 2 == 0:  # an odd number of steps: the last one alone
        t = n_points - 1
        j = _table_choice(choice_draw(key, t - 1), table, padded)
        x, y = _affine(a, b, c, d, e, f, j, x, y)
        xs[t] = x
        ys[t] = y
        xmin, xmax, ymin, ymax = _widen(x, y, xmin, xmax, ymin, ymax)
    box[0] = xmin
    box[1] = xmax
    box[2] = ymin
    box[3] = ymax
    inside = (-xmin <= DIVERGENCE_LIMIT) & (xmax <= DIVERGENCE_LIMIT) & (-ymin <= DIVERGENCE_LIMIT) \
        & (ymax <= DIVERGENCE_LIMIT)
    return n_points, not inside


@njit(cache=True, nogil=True)
def iterate(maps, cumulative, n_points, key, fixed_uniforms, xs, ys, choices):
    """Run the chaos game from (0, 0), keeping (0, 0) as point 0.

    maps: (N, 6) float64 rows a, b, c, d, e, f with x' = a x + b y + e, y' = c x + d y + f.
    cumulative: (N,) cumulative map probabilities; step t >= 1 uses uniform t - 1.
    Returns the number of valid points (divergence truncates) and their bounding box.
    """
    box = np.zeros(4)
    xs[0] = 0.0
    ys[0] = 0.0
    if fixed_uniforms.shape[0] == 0 and cumulative.shape[0] - 1 < FAST_CHOICE_MAPS and np.isfinite(maps).all():
        table, padded = choice_table(integer_thresholds(cumulative))
        computed, diverged = _run_chain_drawing(maps, n_points, table, padded, key, xs, ys, box)
    else:
        choose_maps(cumulative, n_points - 1, key, fixed_uniforms, choices)
        computed, diverged = _run_chain(maps, n_points, choices, xs, ys, box)
    if not diverged:
        return n_points, box[0], box[1], box[2], box[3]
    # Diverged: keep the points before the 100 that precede the first divergent one.
    valid = computed
    for t in range(computed):
        if not (abs(xs[t]) <= DIVERGENCE_LIMIT and abs(ys[t]) <= DIVERGENCE_LIMIT):
            valid = max(0, t - POINTS_DROPPED_BEFORE_DIVERGENCE)
            break
    xmin = xmax = ymin = ymax = 0.0
    for t in range(valid):
        xmin = min(xmin, xs[t])
        xmax = max(xmax, xs[t])
        ymin = min(ymin, ys[t])
        ymax = max(ymax, ys[t])
    return valid, xmin, xmax, ymin, ymax


# Added to an index whose pixel falls off the canvas: the sum stays negative (sizes are <= 8192).
_OFF_CANVAS = np.int32(-(1 << 30))


@njit(cache=True, nogil=True)
def pixel_indices(xs, ys, valid, xmin, xmax, ymin, ymax, width, height, pad, offset, out):
    """out[t] = (row + offset) * width + (col + offset) for the published per-axis rescale.

    The rescale keeps the published order of operations: shift by the minimum,
    divide by the range, multiply by (size - 2 pad), add pad, truncate.  A
    degenerate axis (range 0) puts every point on the pad line.  A pixel past
    the edge (only possible with a small pad) gets a negative index: callers
    skip it, as an image paste clips.  One pass per axis, so that each vectorises.
    """
    _axis_pixels(xs, valid, xmin, xmax, width, pad, offset, 1, width, False, out)
    _axis_pixels(ys, valid, ymin, ymax, height, pad, offset, width, height, True, out)


@njit(inline="always")
def _axis_pixels(vs, valid, vmin, vmax, size, pad, offset, stride, limit, accumulate, out):
    vr = vmax - vmin
    span = size - 2 * pad
    # The largest pixel is size - pad + offset: only a small pad can push it past the edge.
    may_fall_off = size - pad + offset >= limit
    if vr == 0.0:
        for t in range(valid):
            out[t] = (out[t] if accumulate else 0) + (pad + offset) * stride
        return
    if may_fall_off:
        for t in range(valid):
            p = np.int32(((vs[t] - vmin) / vr) * span + pad) + offset
            out[t] = (out[t] if accumulate else 0) + (p * stride if p < limit else _OFF_CANVAS)
        return
    for t in range(valid):
        out[t] = (out[t] if accumulate else 0) + (np.int32(((vs[t] - vmin) / vr) * span + pad) + offset) * stride


@njit(cache=True, nogil=True)
def splat_points(xs, ys, valid, xmin, xmax, ymin, ymax, pad, colours, canvas, indices):
    """One pixel per point on a (H, W, C) canvas; point t takes colours[t % K].

    indices: int32 scratch of at least ``valid`` entries.
    """
    height = canvas.shape[0]
    width = canvas.shape[1]
    channels = canvas.shape[2]
    n_colours = colours.shape[0]
    pixel_indices(xs, ys, valid, xmin, xmax, ymin, ymax, width, height, pad, 0, indices)
    flat = canvas.reshape(-1)
    if channels == 1:
        value = colours[0, 0]
        for t in range(valid):
            i = indices[t]
            if i >= 0:
                flat[np.uint32(i)] = value
        return
    for t in range(valid):
        i = indices[t]
        if i >= 0:
            k = t % n_colours
            for ch in range(channels):
                flat[np.uint32(i * channels + ch)] = colours[k, ch]


@njit(inline="always")
def patch_mask(mask_key, t):
    """Point t's 3x3 mask, uniform in 1..511 (never empty), from the 32-bit draw (mask_key, t)."""
    return np.uint32(((draw32(mask_key, t) * _511) >> _S32) + _ONE)


@intrinsic
def _load_u32(typingctx, array, offset):
    """4 bytes of a uint8 array at any offset, as one little-endian word (an unaligned load)."""
    sig = types.uint32(array, offset)

    def codegen(context, builder, signature, args):
        data = context.make_array(signature.args[0])(context, builder, args[0]).data
        pointer = builder.bitcast(builder.gep(data, [args[1]]), ir.IntType(32).as_pointer())
        value = builder.load(pointer)
        value.align = 1
        return value
    return sig, codegen


@intrinsic
def _store_u32(typingctx, array, offset, value):
    """Write one word as 4 bytes of a uint8 array at any offset (an unaligned store)."""
    sig = types.void(array, offset, types.uint32)

    def codegen(context, builder, signature, args):
        data = context.make_array(signature.args[0])(context, builder, args[0]).data
        pointer = builder.bitcast(builder.gep(data, [args[1]]), ir.IntType(32).as_pointer())
        builder.store(args[2], pointer).align = 1
        return context.get_dummy_value()
    return sig, codegen


@njit(cache=True, nogil=True)
def _grey_patch_rows(value):
    """Word of a 3-cell patch row for each 3-bit pattern (MSB = left cell), 4th byte clear."""
    rows = np.empty(8, dtype=np.uint32)
    v = np.uint32(value)
    for bits in range(8):
        left = v * np.uint32((bits >> 2) & 1)
        middle = v * np.uint32((bits >> 1) & 1)
        right = v * np.uint32(bits & 1)
        rows[bits] = left | (middle << np.uint32(8)) | (right << np.uint32(16))
    return rows


@njit(inline="always")
def store_grey_patch(flat, i, mask, rows, width):
    """One point's 3x3 grey patch at flat index i: three 4-byte read-modify-writes that keep each 4th byte.

    rows: ``_grey_patch_rows`` of the colour; mask: the point's 9 bits, row-major, most significant first.
    """
    keep = np.uint32(0xFF000000)
    _store_u32(flat, i, (_load_u32(flat, i) & keep) | rows[mask >> np.uint32(6)])
    i += width
    _store_u32(flat, i, (_load_u32(flat, i) & keep) | rows[(mask >> np.uint32(3)) & np.uint32(7)])
    i += width
    _store_u32(flat, i, (_load_u32(flat, i) & keep) | rows[mask & np.uint32(7)])


@njit(cache=True, nogil=True)
def patch_masks(mask_key, n, masks):
    """masks[t] = patch_mask(mask_key, t) for t < n, one hash per two points.

    A pass of its own: the splat loop is bound by its memory writes, and the hashes inside it
    cost more than this pass and the 2-byte read per point together.
    """
    for pair in range(n // 2):
        h = mix64(mask_key, pair)  # draw32 of points 2 pair (high half) and 2 pair + 1 (low half)
        masks[2 * pair] = np.uint16((((h >> _S32) * _511) >> _S32) + _ONE)
        masks[2 * pair + 1] = np.uint16((((h & _LOW32) * _511) >> _S32) + _ONE)
    if n & 1:
        masks[n - 1] = np.uint16(patch_mask(mask_key, n - 1))


@njit(cache=True, nogil=True)
def splat_patches(xs, ys, valid, xmin, xmax, ymin, ymax, pad, colours, mask_key, canvas, indices, masks):
    """A random 3x3 patch per point, top-left corner at (col + 1, row + 1).

    Each point's 9-bit mask is read row-major, most significant bit first; set
    cells take the point's colour, clear cells are written black, so later
    patches overwrite earlier ones (as the published PIL paste does).
    indices: int32 and masks: uint16 scratch of at least ``valid`` entries.
    """
    height = canvas.shape[0]
    width = canvas.shape[1]
    channels = canvas.shape[2]
    n_colours = colours.shape[0]
    pixel_indices(xs, ys, valid, xmin, xmax, ymin, ymax, width, height, pad, 1, indices)
    patch_masks(mask_key, valid, masks)
    flat = canvas.reshape(-1)
    # The hot path: grey, and pad >= 5 so that every patch row plus one byte stays inside
    # its row: each patch row is then one 4-byte read-modify-write that keeps the 4th byte.
    if channels == 1 and pad >= 5 and _LITTLE_ENDIAN:
        rows = _grey_patch_rows(colours[0, 0])
        w = np.uint32(width)
        for t in range(valid):
            store_grey_patch(flat, np.uint32(indices[t]), np.uint32(masks[t]), rows, w)
        return
    for t in range(valid):
        mask = np.uint32(masks[t])
        i = indices[t]
        if i < 0:
            continue
        row = i // width
        col = i - row * width
        k = t % n_colours
        for cell in range(9):
            r = row + cell // 3
            c = col + cell % 3
            if r < height and c < width:
                on = (mask >> np.uint32(8 - cell)) & np.uint32(1)
                for ch in range(channels):
                    canvas[r, c, ch] = colours[k, ch] * on


@njit(cache=True, nogil=True)
def count_lit_points(xs, ys, valid, xmin, xmax, ymin, ymax, size, pad, needed, scratch, indices):
    """Lit pixels of a single-pixel render on a size x size canvas.

    Stops early (returning a number below ``needed``) once even lighting a new
    pixel with every remaining point could not reach ``needed``.
    scratch: (size, size) uint8, zeroed here; indices: int32 scratch of at least ``valid`` entries.
    """
    if valid < needed:
        return valid  # cannot reach it; lit <= valid
    scratch[:, :] = 0
    flat = scratch.reshape(-1)
    pixel_indices(xs, ys, valid, xmin, xmax, ymin, ymax, size, size, pad, 0, indices)
    lit = 0
    for t in range(valid):
        i = indices[t]
        if i >= 0:
            fresh = flat[np.uint32(i)] == 0
            flat[np.uint32(i)] = 1
            lit += fresh
        if lit + (valid - 1 - t) < needed:
            return lit
    return lit
