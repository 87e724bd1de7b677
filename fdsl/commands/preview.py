"""``fdsl preview DATASET_OR_CATALOG --out sheet.png``: a contact sheet of categories x instances."""

from __future__ import annotations

from pathlib import Path

from fdsl.core.numbers import Number, between
from fdsl.preview.images import preview
from fdsl.core.checks import SEEDS, output_path


EXAMPLES = """examples:
  fdsl preview FractalDB-1k/ --out sheet.png
  fdsl preview params/ --out sheet.png --rows 4 --columns 6"""


def add_parser(verbs) -> None:
    parser = verbs.add_parser("preview", help="write a contact sheet (categories x instances) of a dataset or catalog",
                              epilog=EXAMPLES)
    parser.add_argument("source", type=Path, help="a dataset folder (fdsl render) or a catalog folder (fdsl search)")
    parser.add_argument("--out", type=output_path, required=True, help="output image (.png or .jpg)")
    parser.add_argument("--rows", type=Number(int, between(1, 1000)), default=8, help="categories shown (default: 8)")
    parser.add_argument("--columns", type=Number(int, between(1, 1000)), default=8,
                        help="instances per category (default: 8)")
    parser.add_argument("--tile", type=Number(int, between(8, 4096, unit="pixels")), default=96,
                        help="thumbnail side in pixels (default: 96)")
    parser.add_argument("--seed", type=Number(int, SEEDS), default=0,
                        help="instance seed when previewing a catalog (default: 0)")
    parser.set_defaults(run=run)


def run(args) -> int:
    out = preview(args.source, args.out, rows=args.rows, columns=args.columns, tile=args.tile, seed=args.seed)
    print(f"contact sheet -> {out}")
    return 0
