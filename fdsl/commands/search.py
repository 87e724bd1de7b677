"""``fdsl search FORMULA``: find categories and write a catalog (one parameter file each + manifest)."""

from __future__ import annotations

from pathlib import Path

from fdsl.commands.options import add_formula_subparsers, check_workers, settings_from_args
from fdsl.formulas import create_formula
from fdsl.search import search_categories, write_catalog


def _common(parser) -> None:
    parser.add_argument("--categories", type=int, default=1000, help="number of categories to find (default: 1000)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the candidate stream (default: 1)")
    parser.add_argument("--out", type=Path, required=True, help="new folder for the catalog")
    parser.add_argument("--workers", type=int, default=1, help="processes testing candidates (default: 1)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def add_parser(verbs) -> None:
    parser = verbs.add_parser("search", help="search formula categories and write a catalog")
    add_formula_subparsers(parser, "SearchSettings", _common)
    parser.set_defaults(run=run)


def run(args) -> int:
    formula = create_formula(args.formula)
    settings = settings_from_args(formula.SearchSettings, args)
    if args.seed < 0:
        from fdsl.errors import FdslError
        raise FdslError(f"--seed must be >= 0, got {args.seed}")
    result = search_categories(args.formula, settings, args.seed, args.categories, check_workers(args.workers),
                               progress=not args.quiet)
    manifest = write_catalog(args.formula, settings, args.seed, result, args.out)
    rate = len(result.categories) / max(result.candidates, 1)
    print(f"{len(result.categories)} categories from {result.candidates} candidates "
          f"({rate:.1%} accepted) in {result.seconds:.1f} s -> {args.out} ({manifest.name})")
    return 0
