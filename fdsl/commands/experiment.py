"""``fdsl experiment``: the evidence that formula pre-training helps, at a scale a CPU can run.

``reproduce``: FractalDB pre-training vs scratch on CIFAR-10 / Omniglot (docs/training.md has the table).
``digits-demo``: the same comparison in about three minutes on scikit-learn's handwritten digits.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

SHARED = Path("..") / "shared" / "data"


def add_parser(verbs) -> None:
    parser = verbs.add_parser("experiment", help="pre-trained vs scratch comparisons (reproduce, digits-demo)")
    kinds = parser.add_subparsers(dest="experiment", metavar="EXPERIMENT", parser_class=type(parser))
    kinds.required = True
    from fdsl.train.experiment import Plan

    reproduce = kinds.add_parser("reproduce", help="FractalDB pre-training vs scratch on real data (about 30 min on 2 cores)")
    reproduce.add_argument("--data", action="append", default=None,
                           help="cifar10, omniglot, or a dataset path; repeatable (default: cifar10)")
    reproduce.add_argument("--shared", type=Path, default=SHARED, help=f"folder of the real data (default: {SHARED})")
    for field in dataclasses.fields(Plan):
        kind = {"max_classes": int, "val_fraction": float}.get(field.name, type(field.default))
        reproduce.add_argument(f"--{field.name.replace('_', '-')}", type=kind, default=None,
                               help=f"(default: {field.default})")
    demo = kinds.add_parser("digits-demo", help="a 3-minute demo: FractalDB pre-training vs scratch on sklearn digits")
    for sub in (reproduce, demo):
        sub.add_argument("--out", type=Path, required=True, help="experiment folder (re-run to resume)")
        sub.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.set_defaults(run=run)


def run(args) -> int:
    from fdsl.train import experiment

    if args.experiment == "digits-demo":
        plan, datasets, shared = experiment.DEMO, ["sklearn-digits"], SHARED
    else:
        overrides = {f.name: getattr(args, f.name) for f in dataclasses.fields(experiment.Plan)
                     if getattr(args, f.name) is not None}
        plan, datasets, shared = dataclasses.replace(experiment.Plan(), **overrides), args.data or ["cifar10"], args.shared
    report = experiment.run(plan, datasets, args.out, shared, progress=not args.quiet)
    print(experiment.table(report))
    seconds = report["seconds"]
    print(f"total {seconds['total'] / 60:.1f} min (search {seconds['search']:.0f} s, pre-training "
          f"{seconds['pretrain']:.0f} s); curves: {args.out}/comparison-*.png; details: {args.out}/results.json")
    return 0
