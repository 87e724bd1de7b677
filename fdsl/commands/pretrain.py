"""``fdsl pretrain``: train a timm model to classify formula categories (rendered on the fly or from a folder)."""

from __future__ import annotations

import argparse
from pathlib import Path

from fdsl.core.numbers import Number, at_least, between
from fdsl.core.checks import SEEDS
from fdsl.commands.ignored import refuse_ignored, remember_defaults
from fdsl.commands.results import json_alone_on_stdout, say_result
from fdsl.core.errors import FdslError
from fdsl.core.notes import plural, warn
from fdsl.commands.segmentation_options import add_segmentation_arguments, segmentation_summary, task_from_args
from fdsl.train.options import add_training_arguments, config_from_args, parse_key_values


EXAMPLES = """examples:
  fdsl pretrain --params params/ --out runs/pre --model resnet50
  fdsl pretrain --images shards/ --out runs/pre --recipe deit"""


def add_parser(verbs) -> None:
    parser = verbs.add_parser("pretrain", help="pre-train a timm model on formula images",
                              description="Pre-train any timm model to classify formula categories. Data: --params "
                              "(a catalog from 'fdsl search', rendered on the fly) or --images (an ImageFolder, e.g. "
                              "from 'fdsl render', or a folder of its --format webdataset shards).", epilog=EXAMPLES)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--params", type=Path, help="catalog folder: images are rendered inside the data loader")
    source.add_argument("--images", type=Path, help="an ImageFolder tree (or zip) of formula images")
    parser.add_argument("--formula", default=None, help="formula of --params (default: read from its manifest)")
    parser.add_argument("--render", action="append", metavar="KEY=VALUE",
                        help="render setting for on-the-fly data, repeatable (e.g. --render size=64 --render points=20000)")
    parser.add_argument("--instances", type=Number(int, at_least(1)), default=None,
                        help="images per category (default: all the render settings define, e.g. 1000 for fractal)")
    parser.add_argument("--data-seed", type=Number(int, SEEDS), default=0,
                        help="seed of the rendered images, as 'fdsl render --seed'")
    parser.add_argument("--label-noise", type=Number(float, between(0, 1)), default=None,
                        help="replace this fraction of labels at random")
    parser.add_argument("--render-once", action="store_true",
                        help="render the --params images once, up front, and augment them anew every epoch "
                        "(the few-images recipes: OFDB, 1p-frac)")
    parser.add_argument("--repeat", type=Number(int, at_least(1)), default=1,
                        help="show each image this many times per epoch, each "
                        "time augmented anew (default: 1)")
    parser.add_argument("--task", default="classification",
                        help="classification (one category per image), multi-instance (Anderson & Farrell: "
                        "several categories per image on a random colour background, multi-label loss) or "
                        "segmentation (SegRCDB masks: --params a segrcdb catalog, --instances training images, "
                        "--heldout-per-category held-out images; or --images a folder of image/mask pairs)")
    parser.add_argument("--objects", default="1-5",
                        help="multi-instance: shapes per image, N or LOW-HIGH (default: 1-5)")
    parser.add_argument("--colourise", action="store_true",
                        help="tint each shape with a random colour on a random colour background (Anderson & Farrell)")
    parser.add_argument("--heldout-per-category", type=Number(int, at_least(1)), default=None,
                        help="unseen formula images per category measured each epoch (default: 10; with --task "
                        "segmentation, the held-out images in all)")
    parser.add_argument("--learnability-check", action=argparse.BooleanOptionalAction, default=True,
                        help="before training, measure how well learners that train nothing (pixel 1-NN, a ridge "
                        "probe on the model's random features) tell the unseen images apart, so a pretext accuracy "
                        "near chance can be blamed on the data or on the model (default: on; classification only)")
    parser.add_argument("--learnability-only", action="store_true",
                        help="run the learnability check, print it and stop: nothing is trained or written")
    add_training_arguments(parser)
    add_segmentation_arguments(parser)
    parser.set_defaults(run=run)
    remember_defaults(parser)


# What each task reads no further than the command line (given, they would be dropped in silence).
IGNORED = {
    "segmentation": ("formula", "render_once", "repeat", "objects", "colourise", "label_noise"),
    "classification": ("objects", "decoder", "seg_loss", "scale_range"),
    "multi-instance": ("decoder", "seg_loss", "scale_range"),
}


@json_alone_on_stdout
def run(args) -> int:
    if args.task not in IGNORED:
        raise FdslError(f"unknown --task '{args.task}'; choose one of: {', '.join(sorted(IGNORED))}")
    refuse_ignored(args, IGNORED[args.task], f"by --task {args.task}")
    if args.images is not None:
        refuse_ignored(args, ("formula", "render", "render_once", "heldout_per_category", "instances"),
                       "with --images (the images are rendered already; a tenth of each class is held out)")
    if args.task == "segmentation":
        if args.learnability_only:
            raise FdslError("--learnability-only measures classification tasks; --task segmentation has masks")
        return run_segmentation(args)
    from fdsl.train.stages import HELDOUT_PER_CATEGORY, pretrain

    config = config_from_args(args, "pretrain")
    meta = pretrain(config, args.out, args.recipe, params=args.params, images=args.images, formula=args.formula,
                    render_options=parse_key_values(args.render, "--render"), data_seed=args.data_seed,
                    instances=args.instances, render_once=args.render_once, repeat=args.repeat,
                    heldout_per_category=HELDOUT_PER_CATEGORY if args.heldout_per_category is None else
                    args.heldout_per_category, task=args.task, objects=args.objects,
                    colourise=args.colourise, check_learnability=args.learnability_check,
                    learnability_only=args.learnability_only, resume=args.resume, progress=not args.quiet)
    from fdsl.train.context import is_main_process

    metrics = meta.get("metrics", {})
    if not is_main_process() or args.learnability_only:
        return 0
    say_result(args, meta, f"pre-trained {meta['model']} on {len(meta['classes'])} categories for "
               f"{plural(meta['epoch'], 'epoch')}: top-1 {metrics.get('heldout_top1', float('nan')):.2f}% on unseen "
               f"formula images "
               f"({metrics.get('fit_top1', float('nan')):.2f}% on training images) -> {args.out}")
    for line in meta.get("diagnosis", []):  # said during training already, unless this run was resumed complete
        warn(line)
    return 0


def run_segmentation(args) -> int:
    from fdsl.train.segmentation_stages import HELDOUT_IMAGES, pretrain
    from fdsl.train.context import is_main_process

    config = config_from_args(args, "pretrain", default_recipe="segmentation")
    heldout = HELDOUT_IMAGES if args.heldout_per_category is None else args.heldout_per_category
    meta = pretrain(config, args.out, args.recipe, params=args.params, images=args.images,
                    render_options=parse_key_values(args.render, "--render"), data_seed=args.data_seed,
                    instances=args.instances, heldout=heldout, decoder=args.decoder, task=task_from_args(args),
                    resume=args.resume, progress=not args.quiet)
    if is_main_process():
        say_result(args, meta, segmentation_summary(meta, "pre-trained", f"{len(meta['classes'])} classes",
                                                    "heldout", "unseen images", args.out))
    return 0
