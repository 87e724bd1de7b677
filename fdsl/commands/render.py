"""``fdsl render FORMULA --params DIR --out DIR``: write a dataset as an ImageFolder tree or WebDataset shards."""

from __future__ import annotations

import json

from pathlib import Path

from fdsl.core.numbers import Number, at_least
from fdsl.commands.options import add_formula_subparsers, add_workers_argument, settings_from_args
from fdsl.formulas import create_formula
from fdsl.catalog.specs import DEFAULT_SHARD_SIZE, OUTPUT_FORMATS, Device, Output, RenderSpec, Shard
from fdsl.write.engine import render, warning_kinds
from fdsl.core.checks import SEEDS, output_path


def _common(parser) -> None:
    parser.add_argument("--params", type=Path, required=True, help="catalog folder written by 'fdsl search'")
    parser.add_argument("--out", type=output_path, required=True, help="dataset folder (created; re-run to resume)")
    parser.add_argument("--seed", type=Number(int, SEEDS), default=0,
                        help="seed of every instance's randomness (default: 0)")
    add_workers_argument(parser, "rendering")
    parser.add_argument("--shard", default=None, help="K/N: render only shard K of N (e.g. one per machine)")
    parser.add_argument("--device", default="cpu", help="cpu (compiled CPU kernels, default), cuda / cuda:N "
                        "(batched torch renderer; PNGs still encoded by the CPU workers), auto (cuda when torch sees "
                        "one, else cpu) or torch-cpu (the torch renderer on the CPU, for tests)")
    parser.add_argument("--format", choices=OUTPUT_FORMATS, default="folder",
                        help="folder: an ImageFolder tree of image files (default); webdataset: OUT/NNNNNN.tar "
                        "shards of .png + .cls samples, for streaming loaders")
    parser.add_argument("--shard-size", type=Number(int, at_least(1)), default=DEFAULT_SHARD_SIZE,
                        help=f"--format webdataset: images per tar (default: {DEFAULT_SHARD_SIZE})")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--json", action="store_true", help="print the result as one JSON object on stdout "
                        "(instead of the sentence), for scripts")


EXAMPLES = """examples:
  fdsl render fractal --params params/ --out FractalDB-1k/ --workers 2
  fdsl render --params params/ --out FractalDB-1k/     # the family named by the catalog's manifest
  fdsl render fractal --params params/ --out shards/ --format webdataset --shard-size 1000 --shard 0/4"""


def add_parser(verbs) -> None:
    parser = verbs.add_parser("render", help="render a catalog to an ImageFolder dataset or WebDataset shards",
                              epilog=EXAMPLES)
    add_formula_subparsers(parser, "RenderSettings", _common)
    parser.set_defaults(run=run)


def infer_formula(argv: list[str]) -> list[str]:
    """``fdsl render --params CAT ...`` without a family: the catalog's manifest names it, so take it from there
    (and say so).  A catalog without a manifest (category files gathered by hand) cannot say: one line."""
    if len(argv) < 2 or argv[0] != "render" or not argv[1].startswith("-") or argv[1] in ("-h", "--help"):
        return argv
    folder = _option_value(argv, "--params")
    if folder is None:
        return argv  # argparse names what is missing
    from fdsl.catalog.params import catalog_formula
    from fdsl.core.errors import FdslError
    from fdsl.core.notes import note

    if not Path(folder).is_dir():
        raise FdslError(f"--params {folder}: no such catalog folder")
    formula = catalog_formula(Path(folder))
    if formula is None:
        raise FdslError(f"--params {folder} has no manifest.json naming its family: name it, "
                        "e.g. 'fdsl render fractal --params ...'")
    note(f"rendering {folder} as '{formula}', the family its manifest names")
    return [argv[0], formula, *argv[1:]]


def _option_value(argv: list[str], option: str) -> str | None:
    for position, token in enumerate(argv):
        if token == option and position + 1 < len(argv):
            return argv[position + 1]
        if token.startswith(option + "="):
            return token.split("=", 1)[1]
    return None


def run(args) -> int:
    formula = create_formula(args.formula)
    shard = Shard.parse(args.shard)
    spec = RenderSpec(formula, settings_from_args(formula.RenderSettings, args), seed=args.seed,
                      workers=args.workers, shard=shard, device=Device.parse(args.device),
                      output=Output(args.format, args.shard_size))
    report = render(spec, args.params, args.out, progress=not args.quiet)  # images or image/mask pairs
    if args.json:
        print(json.dumps({"formula": formula.name, "written": report.written, "skipped": report.skipped,
                          "images": report.images, "seconds": round(report.seconds, 2),
                          "warnings": len(report.warnings or []), "out": str(args.out),
                          "manifest": str(report.manifest)}))
        return 0
    if report.written == 0:
        print(f"nothing to do: all {report.skipped} images of this {'shard' if shard.count > 1 else 'dataset'} "
              f"are already in {args.out}")
        return 0
    rate = report.written / max(report.seconds, 1e-9)
    print(f"wrote {report.written} images ({report.skipped} already there) in {report.seconds:.1f} s "
          f"({rate:.0f} img/s) -> {args.out}")
    if getattr(report, "warnings", None):
        kinds = warning_kinds(report.warnings)
        first = report.warnings[0]
        print(f"{len(report.warnings)} draws had warnings ({', '.join(f'{k} {n}' for k, n in kinds.items())}; e.g. "
              f"category {first['category']} draw {first['draw']}: {first['warning']}); see {report.manifest}")
    return 0
