"""Where the bare render's time goes, and how far one core can go without changing a seeded byte.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_render_bound.py            # about a minute on one core
    PYTHONPATH=. .venv/bin/python benchmarks/bench_render_bound.py --quick    # a smoke run

The bare render (256x256, 100k points, patch-gray) is timed whole and in its two parts: the chain
(``iterate``) and the pixel work (``splat_patches``: pixel indices, patch masks, stores).  Beside them:

- the latency floor of one chain: 100k steps of the published update ``(a x + b y) + e`` with nothing
  else in the loop.  Bit-identical output rules out fused multiply-adds and reordering, so each step is a
  multiply, then two dependent adds: this is the least time a single chain can take on this core;
- the route that keeps every seeded byte and could beat that floor: two images' chains advanced in one
  loop (each on its own stream, checked identical to ``iterate``), so that one waits while the other works;
- the route that could hide the pixel work in a chain's waits: one image's patch stores in the loop of the
  next image's chain (checked identical to ``splat_patches`` and ``iterate``).

Each row is compared with the issue's target of 3,000 images/s per core (0.333 ms per image).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from numba import njit

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine_info, systems, table, timed  # noqa: E402

from fdsl.formulas.ifs.base import cumulative_probabilities, render_system  # noqa: E402
from fdsl.formulas.ifs.fractal import FractalRenderSettings  # noqa: E402
from fdsl.kernels.numba import ifs as kernel  # noqa: E402
from fdsl.kernels.numba.counter_rng import mix64  # noqa: E402
from fdsl.kernels.numba.workspace import chain_arrays, mask_scratch  # noqa: E402

TARGET_PER_SECOND = 3000
POINTS = 100_000
SIZE = 256
# The draw's bit fields, as the kernel reads them.
_S33, _LOW32, _ONE = kernel._S33, kernel._LOW32, kernel._ONE


@njit(nogil=True)
def latency_floor(a, b, e, n):
    """n dependent steps of x' = (a x + b y) + e (y follows x one step behind): the chain's bare latency."""
    x = y = 0.0
    for _ in range(n):
        x, y = a * x + b * y + e, x
    return x + y


@njit(nogil=True)
def two_chains(maps0, maps1, n, table0, padded0, table1, padded1, key0, key1, xs0, ys0, xs1, ys1):
    """The chains of two images in one loop, each exactly as ``kernel._run_chain_drawing`` draws it."""
    a0, b0, c0, d0, e0, f0 = kernel._map_columns(maps0)
    a1, b1, c1, d1, e1, f1 = kernel._map_columns(maps1)
    x0 = y0 = x1 = y1 = 0.0
    for pair in range((n - 1) // 2):
        h0 = mix64(key0, pair)
        h1 = mix64(key1, pair)
        i0 = kernel._table_choice(np.int32(h0 >> _S33), table0, padded0)
        i1 = kernel._table_choice(np.int32((h0 & _LOW32) >> _ONE), table0, padded0)
        j0 = kernel._table_choice(np.int32(h1 >> _S33), table1, padded1)
        j1 = kernel._table_choice(np.int32((h1 & _LOW32) >> _ONE), table1, padded1)
        x0, y0 = kernel._affine(a0, b0, c0, d0, e0, f0, i0, x0, y0)
        x1, y1 = kernel._affine(a1, b1, c1, d1, e1, f1, j0, x1, y1)
        xs0[2 * pair + 1] = x0
        ys0[2 * pair + 1] = y0
        xs1[2 * pair + 1] = x1
        ys1[2 * pair + 1] = y1
        x0, y0 = kernel._affine(a0, b0, c0, d0, e0, f0, i1, x0, y0)
        x1, y1 = kernel._affine(a1, b1, c1, d1, e1, f1, j1, x1, y1)
        xs0[2 * pair + 2] = x0
        ys0[2 * pair + 2] = y0
        xs1[2 * pair + 2] = x1
        ys1[2 * pair + 2] = y1
    if n % 2 == 0:  # an odd number of steps: the last one alone, as iterate does it
        t = n - 1
        i0 = kernel._table_choice(kernel.choice_draw(key0, t - 1), table0, padded0)
        j0 = kernel._table_choice(kernel.choice_draw(key1, t - 1), table1, padded1)
        xs0[t], ys0[t] = kernel._affine(a0, b0, c0, d0, e0, f0, i0, x0, y0)
        xs1[t], ys1[t] = kernel._affine(a1, b1, c1, d1, e1, f1, j0, x1, y1)


@njit(nogil=True)
def chain_beside_stores(maps, n, table, padded, key, xs, ys, box, flat, indices, masks, valid, rows, width):
    """One image's chain (as ``kernel._run_chain_drawing``, box included) in the loop that writes the
    previous image's patches (as ``kernel.splat_patches``' grey path, from its indices and masks).

    The pipeline that could hide the stores in the chain's waits: an image's pixels need its whole box,
    so only another image's chain can run beside them.  Assumes valid == n (no divergent chain).
    """
    a, b, c, d, e, f = kernel._map_columns(maps)
    x = y = xmin = xmax = ymin = ymax = 0.0
    w = np.uint32(width)
    for pair in range((n - 1) // 2):
        h = mix64(key, pair)
        j0 = kernel._table_choice(np.int32(h >> _S33), table, padded)
        j1 = kernel._table_choice(np.int32((h & _LOW32) >> _ONE), table, padded)
        x, y = kernel._affine(a, b, c, d, e, f, j0, x, y)
        xs[2 * pair + 1] = x
        ys[2 * pair + 1] = y
        xmin, xmax, ymin, ymax = kernel._widen(x, y, xmin, xmax, ymin, ymax)
        x, y = kernel._affine(a, b, c, d, e, f, j1, x, y)
        xs[2 * pair + 2] = x
        ys[2 * pair + 2] = y
        xmin, xmax, ymin, ymax = kernel._widen(x, y, xmin, xmax, ymin, ymax)
        for t in (2 * pair, 2 * pair + 1):  # the previous image's points, in their order
            kernel.store_grey_patch(flat, np.uint32(indices[t]), np.uint32(masks[t]), rows, w)
    for t in range(2 * ((n - 1) // 2), valid):  # the points the paired loop left
        kernel.store_grey_patch(flat, np.uint32(indices[t]), np.uint32(masks[t]), rows, w)
    if n % 2 == 0:
        t = n - 1
        j = kernel._table_choice(kernel.choice_draw(key, t - 1), table, padded)
        x, y = kernel._affine(a, b, c, d, e, f, j, x, y)
        xs[t] = x
        ys[t] = y
        xmin, xmax, ymin, ymax = kernel._widen(x, y, xmin, xmax, ymin, ymax)
    box[0] = xmin
    box[1] = xmax
    box[2] = ymin
    box[3] = ymax


def prepared(pool):
    """(maps, cumulative, choice table, padded thresholds) of each system."""
    out = []
    for system in pool:
        maps = np.ascontiguousarray(system[:, :6])
        cumulative = cumulative_probabilities(system[:, 6])
        out.append((maps, cumulative, *kernel.choice_table(kernel.integer_thresholds(cumulative))))
    return out


def cycling(function, count):
    state = {"k": 0}

    def one():
        state["k"] += 1
        return function(state["k"] % count, state["k"])
    return one


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    args = parser.parse_args()
    repeats = 100 if args.quick else 1000
    print(machine_info())
    settings = FractalRenderSettings(size=SIZE, points=POINTS, draw="patch-gray", flips=1)
    pool = systems(50)
    systems_ready = prepared(pool)
    xs, ys, choices = chain_arrays(POINTS)
    xs1, ys1 = np.empty(POINTS), np.empty(POINTS)
    no_uniforms = np.empty(0)

    whole = timed(cycling(lambda i, k: render_system(systems_ready[i][0], pool[i][:, 6], settings, k, k + 7),
                          len(pool)), repeats)
    chain = timed(cycling(lambda i, k: kernel.iterate(systems_ready[i][0], systems_ready[i][1], POINTS,
                                                      np.uint64(k), no_uniforms, xs, ys, choices), len(pool)),
                  repeats)
    valid, x0, x1, y0, y1 = kernel.iterate(systems_ready[0][0], systems_ready[0][1], POINTS, np.uint64(1),
                                           no_uniforms, xs, ys, choices)
    canvas = np.zeros((SIZE, SIZE, 1), dtype=np.uint8)
    grey = np.full((1, 1), 127, dtype=np.uint8)
    masks = mask_scratch(POINTS)
    pixels = timed(cycling(lambda i, k: kernel.splat_patches(xs, ys, valid, x0, x1, y0, y1, settings.pad, grey,
                                                             np.uint64(k), canvas, choices, masks), len(pool)),
                   repeats)
    floor = timed(lambda: latency_floor(0.5, 0.25, 0.125, POINTS - 1), repeats)

    def pair_of_chains(i, k):
        first, second = systems_ready[i], systems_ready[(i + 1) % len(pool)]
        two_chains(first[0], second[0], POINTS, first[2], first[3], second[2], second[3], np.uint64(k),
                   np.uint64(k + 1), xs, ys, xs1, ys1)
    interleaved = timed(cycling(pair_of_chains, len(pool)), repeats // 2) / 2

    # The interleaved loop must give iterate's points, byte for byte, for both images.
    pair_of_chains(3, 11)
    both = xs[1:POINTS].copy(), ys[1:POINTS].copy(), xs1[1:POINTS].copy(), ys1[1:POINTS].copy()
    identical = True
    for image, (i, key) in enumerate(((3, 11), (4, 12))):
        kernel.iterate(systems_ready[i][0], systems_ready[i][1], POINTS, np.uint64(key), no_uniforms, xs, ys,
                       choices)
        identical &= np.array_equal(xs[1:POINTS], both[2 * image]) and np.array_equal(ys[1:POINTS],
                                                                                    both[2 * image + 1])
    if not identical:
        raise SystemExit("the interleaved chains differ from iterate: the comparison below would be meaningless")

    # The pipeline: image k's pixel indices and masks, then image k+1's chain in the loop of image k's stores.
    buffers = [(np.empty(POINTS), np.empty(POINTS), np.zeros(4)) for _ in range(2)]
    indices = np.empty(POINTS, dtype=np.int32)
    rows = kernel._grey_patch_rows(grey[0, 0])
    pad = settings.pad

    def pipelined(i, k):
        (pxs, pys, pbox), (nxs, nys, nbox) = buffers[k % 2], buffers[(k + 1) % 2]
        kernel.pixel_indices(pxs, pys, POINTS, pbox[0], pbox[1], pbox[2], pbox[3], SIZE, SIZE, pad, 1, indices)
        kernel.patch_masks(np.uint64(max(k - 1, 0)), POINTS, masks)
        canvas[:] = 0
        nxs[0] = nys[0] = 0.0
        ready = systems_ready[i]
        chain_beside_stores(ready[0], POINTS, ready[2], ready[3], np.uint64(k), nxs, nys, nbox, canvas.reshape(-1),
                            indices, masks, POINTS, rows, SIZE)
    pipelined(0, 0)  # fills the first buffer, so that every timed call has a previous image
    beside = timed(cycling(pipelined, len(pool)), repeats)

    # The pipeline must give splat_patches' canvas and iterate's points, byte for byte.
    for k in (20, 21):
        pipelined(k % len(pool), k)
    piped_canvas = canvas.copy()
    piped_next = buffers[(21 + 1) % 2][0][:POINTS].copy(), buffers[(21 + 1) % 2][1][:POINTS].copy()
    valid, x0, x1, y0, y1 = kernel.iterate(systems_ready[20 % len(pool)][0], systems_ready[20 % len(pool)][1],
                                           POINTS, np.uint64(20), no_uniforms, xs, ys, choices)
    if valid != POINTS:
        raise SystemExit("system 20 diverged: pick systems that do not, or the pipeline check is meaningless")
    canvas[:] = 0
    kernel.splat_patches(xs, ys, valid, x0, x1, y0, y1, pad, grey, np.uint64(20), canvas, choices, masks)
    kernel.iterate(systems_ready[21 % len(pool)][0], systems_ready[21 % len(pool)][1], POINTS, np.uint64(21),
                   no_uniforms, xs, ys, choices)
    if not (np.array_equal(piped_canvas, canvas) and np.array_equal(piped_next[0], xs[:POINTS])
            and np.array_equal(piped_next[1], ys[:POINTS])):
        raise SystemExit("the pipelined render differs from render_system's kernels: its figure would be meaningless")

    target_ms = 1e3 / TARGET_PER_SECOND
    rows = []
    for case, timing in (("whole render_system (chain + pixels)", whole), ("chain alone (iterate)", chain),
                         ("pixel work alone (splat_patches)", pixels),
                         ("latency floor of one chain (mul, add, add per step)", floor),
                         ("two images' chains in one loop, per image (same bytes)", interleaved),
                         ("pipeline: pixels of one image beside the next one's chain (same bytes)", beside)):
        ms = timing.cpu * 1e3
        rows.append((case, f"{ms:.3f} ms", f"{1e3 / ms:,.0f} img/s", f"{target_ms:.3f} ms",
                     f"{target_ms / ms:.2f}x of the target"))
    print(table(rows, ("case (256², 100k points, patch-gray; CPU time, one core)", "fdsl", "per core",
                       "target", "fdsl / target speed")))
    print(f"chain {chain.cpu / whole.cpu:.0%} and pixel work {pixels.cpu / whole.cpu:.0%} of the whole render; "
          f"interleaving two chains: {chain.cpu / interleaved.cpu:.2f}x on the chain; the chain's floor alone "
          f"allows at most {1 / floor.cpu:,.0f} img/s per core; the pipeline against chain then pixels: "
          f"{(chain.cpu + pixels.cpu) / beside.cpu:.2f}x")


if __name__ == "__main__":
    main()
