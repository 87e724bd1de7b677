"""``fdsl experiment``: the evidence that formula pre-training helps, at a scale a CPU can run.

``reproduce``: formula pre-training vs scratch on CIFAR-10 / Omniglot / any labelled data, reported on a
held-out split no setting was chosen on (docs/training.md has the tables).
``digits-demo``: the same comparison in about three minutes on scikit-learn's handwritten digits.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from fdsl.core.notes import warn
from fdsl.core.shared_data import ENVIRONMENT_VARIABLE, shared_data_dir
from fdsl.core.checks import output_path
from fdsl.core.numbers import number_type


def _flag_type(field):
    if isinstance(field.default, bool):
        def parse_bool(text: str) -> bool:
            import argparse

            if text.lower() not in ("true", "false", "1", "0", "yes", "no"):
                raise argparse.ArgumentTypeError(f"expected true or false, got '{text}'")
            return text.lower() in ("true", "1", "yes")
        return parse_bool
    if type(field.default) in (int, float):
        return number_type(field)
    return type(field.default)


def _help(field) -> str:
    default = f"'{field.default}'" if isinstance(field.default, str) else field.default
    return f"{field.metadata['help']} (default: {default})".replace("%", "%%")


def _add_plan_options(parser, plan) -> None:
    """One option per setting of an experiment plan, its type, range and help from the setting."""
    for field in dataclasses.fields(plan):
        # A true/false setting is also a bare flag (--colourise alone means true), as in 'fdsl pretrain'.
        flag = {"nargs": "?", "const": True} if isinstance(field.default, bool) else {}
        parser.add_argument(f"--{field.name.replace('_', '-')}", type=_flag_type(field), default=None,
                            metavar=type(field.default).__name__.upper(), help=_help(field), **flag)


EXAMPLES = """examples:
  fdsl experiment digits-demo --out runs/demo
  fdsl experiment reproduce --out runs/reproduce --data cifar10
  fdsl experiment segmentation --out runs/segmentation"""


def add_parser(verbs) -> None:
    parser = verbs.add_parser("experiment", help="pre-trained vs scratch comparisons (reproduce, digits-demo, "
                              "segmentation)", epilog=EXAMPLES)
    kinds = parser.add_subparsers(dest="experiment", metavar="EXPERIMENT", parser_class=type(parser))
    kinds.required = True
    from fdsl.experiments.reproduce import Plan

    reproduce = kinds.add_parser(
        "reproduce", help="formula pre-training vs scratch on real data (about 12 min on 2 idle cores)",
        description="Pre-train a model (default: resnet10t on 20 Perlin-noise categories) on formula images, "
        "fine-tune it and the same model from scratch on real data (3 seeds each), report top-1 on a held-out "
        "split no setting was chosen on.",
        epilog="example: fdsl experiment reproduce --out runs/reproduce --data cifar10 --data omniglot")
    reproduce.add_argument("--data", action="append", default=None,
                           help="cifar10, omniglot, or a labelled dataset path (ImageFolder, zip, npz); "
                           "repeatable (default: cifar10)")
    reproduce.add_argument("--shared", type=Path, default=None,
                           help=f"folder of the real data (default: ${ENVIRONMENT_VARIABLE}, else ../shared/data "
                           "beside the repository)")
    _add_plan_options(reproduce, Plan)
    demo = kinds.add_parser("digits-demo", help="a 3-minute demo: formula pre-training vs scratch on sklearn digits",
                            description="The reproduce experiment shrunk to sklearn's 8x8 digits (bundled, no "
                            "download): Perlin pre-training of a tiny ViT vs the same model from scratch, 3 seeds.",
                            epilog="example: fdsl experiment digits-demo --out runs/demo")
    segmentation = kinds.add_parser(
        "segmentation", help="SegRCDB vs FractalDB-classification pre-training vs scratch for segmentation "
        "(about 30 min on 2 cores)",
        description="Pre-train an FPN on SegRCDB masks and the same encoder on FractalDB classification, fine-tune "
        "them and a scratch model on Fashion-MNIST canvases, report held-out mIoU over seeds.")
    segmentation.add_argument("--shared", type=Path, default=None,
                              help=f"folder of the real data (default: ${ENVIRONMENT_VARIABLE}, else ../shared/data)")
    from fdsl.experiments.segmentation import SegmentationPlan

    _add_plan_options(segmentation, SegmentationPlan)
    for sub in (reproduce, demo, segmentation):
        sub.add_argument("--out", type=output_path, required=True, help="experiment folder (re-run to resume)")
        sub.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.set_defaults(run=run)


def run(args) -> int:
    if args.experiment == "segmentation":
        return run_segmentation(args)
    from fdsl.experiments import reproduce as experiment

    if args.experiment == "digits-demo":
        plan, datasets, shared = dataclasses.replace(experiment.DEMO), ["sklearn-digits"], shared_data_dir()
    else:
        overrides = {f.name: getattr(args, f.name) for f in dataclasses.fields(experiment.Plan)
                     if getattr(args, f.name) is not None}
        plan = experiment.plan_from(overrides)
        datasets, shared = args.data or ["cifar10"], args.shared or shared_data_dir()
    report = experiment.run(plan, datasets, args.out, shared, progress=not args.quiet)
    print(experiment.table(report))
    seconds = report["seconds"]
    print(f"total {seconds['total'] / 60:.1f} min (search {seconds['search']:.0f} s, pre-training "
          f"{seconds['pretrain']:.0f} s); curves: {args.out}/comparison-*.png; details: {args.out}/results.json")
    for line in report.get("pretrain_diagnosis", []):
        warn(line)
    return 0


def run_segmentation(args) -> int:
    from fdsl.experiments import segmentation as experiment

    overrides = {f.name: getattr(args, f.name) for f in dataclasses.fields(experiment.SegmentationPlan)
                 if getattr(args, f.name) is not None}
    plan = dataclasses.replace(experiment.SegmentationPlan(), **overrides)
    report = experiment.run(plan, args.out, args.shared or shared_data_dir(), progress=not args.quiet)
    print(experiment.table(report))
    print(f"total {report['seconds']['total'] / 60:.1f} min (pre-training {report['seconds']['pretrain']:.0f} s); "
          f"curves: {args.out}/comparison.png; details: {args.out}/results.json")
    return 0
