"""``fdsl search FORMULA``: find categories and write a catalog (one parameter file each + manifest)."""

from __future__ import annotations

import json

from fdsl.core.numbers import Number, between
from fdsl.commands.options import add_formula_subparsers, add_workers_argument, settings_from_args
from fdsl.formulas import create_formula
from fdsl.catalog.search import save_catalog, search
from fdsl.catalog.specs import SearchSpec
from fdsl.core.checks import MAX_CATEGORIES, SEEDS, output_path


def _common(parser) -> None:
    parser.add_argument("--categories", type=Number(int, between(1, MAX_CATEGORIES)), default=None,
                        help=f"number of categories to find, at most {MAX_CATEGORIES:,} (default: 1000; "
                        "segrcdb: 254, as published)")
    parser.add_argument("--seed", type=Number(int, SEEDS), default=0,
                        help="seed of the candidate stream; 0 like every verb's --seed (default: 0)")
    parser.add_argument("--out", type=output_path, required=True, help="new folder for the catalog")
    add_workers_argument(parser, "testing candidates")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--json", action="store_true", help="print the result as one JSON object on stdout "
                        "(instead of the sentence), for scripts")


EXAMPLES = """examples:
  fdsl search fractal --categories 1000 --fill-rate 0.2 --seed 1 --out params/ --workers 2
  fdsl search perlin --categories 100 --seed 0 --out perlin/"""


def add_parser(verbs) -> None:
    parser = verbs.add_parser("search", help="search formula categories and write a catalog", epilog=EXAMPLES)
    add_formula_subparsers(parser, "SearchSettings", _common)
    parser.set_defaults(run=run)


def run(args) -> int:
    formula = create_formula(args.formula)
    categories = formula.default_categories if args.categories is None else args.categories
    spec = SearchSpec(formula, settings_from_args(formula.SearchSettings, args), args.seed, categories, args.workers)
    result = search(spec, progress=not args.quiet)
    manifest = save_catalog(spec, result, args.out)
    rate = len(result.categories) / max(result.candidates, 1)
    if args.json:
        print(json.dumps({"formula": formula.name, "categories": len(result.categories), "candidates": result.candidates,
                          "acceptance": round(rate, 5), "seconds": round(result.seconds, 2), "out": str(args.out),
                          "manifest": str(manifest)}))
        return 0
    print(f"{len(result.categories)} categories from {result.candidates} candidates "
          f"({rate:.1%} accepted) in {result.seconds:.1f} s -> {args.out} ({manifest.name})")
    return 0
