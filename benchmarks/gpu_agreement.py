"""Statistical agreement of the torch (parallel-chain) FractalDB renderer with the numba (single-chain) one.

For each category (the published FractalDB-1k CSVs) and a few draws, at the same
settings: filling rates and occupied-pixel IoU against the numba-vs-numba noise
floor (the statistics: fdsl/formulas/ifs/agreement.py).

    .venv/bin/python benchmarks/gpu_agreement.py --categories 100 --size 256 --points 100000 --draw patch-gray
    .venv/bin/python benchmarks/gpu_agreement.py --device cuda ...   # the torch side on the GPU
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from fdsl.formulas import create_formula
from fdsl.formulas.ifs.agreement import measure, summary
from fdsl.formulas.ifs.base import DRAW_MODES
from fdsl.formulas.ifs.fractal import FractalRenderSettings
from fdsl.core.shared_data import shared_data_dir

DATA = shared_data_dir() / "fractaldb1k-official-params"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--params", type=Path, default=DATA, help="folder of FractalDB CSVs (default: the official 1k)")
    parser.add_argument("--categories", type=int, default=100)
    parser.add_argument("--draws", type=int, default=2, help="draws per category")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--draw", default="patch-gray", choices=DRAW_MODES)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)
    files = sorted(args.params.glob("*.csv"))[:args.categories]
    if not files:
        print(f"no CSV files in {args.params}", file=sys.stderr)
        return 2
    formula = create_formula("fractal")
    settings = FractalRenderSettings(size=args.size, points=args.points, draw=args.draw)
    m = measure([formula.load_params(p) for p in files], settings, args.draws, args.device)
    s = summary(m)
    print(f"agreement, {len(files)} categories x {args.draws} draws, {args.size}px, {args.points} points, "
          f"{args.draw}, torch on {args.device} ({m['numba_warnings']} numba renders warned)")
    print(f"{'metric':<40}{'torch vs numba':>16}{'numba vs numba':>16}{'ratio':>8}")
    print(f"{'mean filling rate':<40}{s['mean_fill_torch']:>16.4f}{s['mean_fill_numba']:>16.4f}"
          f"{s['fill_ratio']:>8.3f}")
    print(f"{'mean |fill diff| / mean fill':<40}{s['mean_abs_fill_diff_rel']:>16.4f}"
          f"{s['mean_abs_fill_diff_rel_noise_floor']:>16.4f}"
          f"{s['mean_abs_fill_diff_rel'] / max(s['mean_abs_fill_diff_rel_noise_floor'], 1e-12):>8.2f}")
    print(f"{'mean occupied-pixel IoU':<40}{s['mean_iou_torch_numba']:>16.4f}{s['mean_iou_noise_floor']:>16.4f}"
          f"{s['mean_iou_torch_numba'] / s['mean_iou_noise_floor']:>8.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
