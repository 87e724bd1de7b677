"""``fdsl viz KIND RUN [RUN ...] --out FILE.png``: pictures of what pre-training taught, several runs side by side."""

from __future__ import annotations

import importlib

from fdsl.commands.ignored import refuse_ignored, remember_defaults
from fdsl.core.numbers import Number, at_least
from fdsl.viz import KINDS, NEEDS_IMAGES
from fdsl.core.checks import output_path

HELP = {
    "filters": "first-layer filters (a ViT's patch embedding), one tile per filter",
    "pos-embed": "ViT: cosine similarity of the positional embeddings, one map per patch position",
    "attention-distance": "ViT: mean attention distance per head and layer, in pixels, over --data",
    "attention": "ViT: last-layer attention and attention rollout over --data images",
    "cam": "CNN or ViT: Grad-CAM of the predicted class over --data images (pytorch-grad-cam)",
    "curves": "training loss and accuracy of the runs on one figure",
}


EXAMPLES = """examples:
  fdsl viz filters runs/pre runs/scratch --out filters.png
  fdsl viz attention runs/pre --data sklearn-digits --out attention.png"""


def add_parser(verbs) -> None:
    parser = verbs.add_parser(
        "viz", help="pictures of what a model learned: filters, pos-embed, attention, Grad-CAM, curves",
        description="Draw one kind of picture for one or more runs side by side. Kinds: "
        + "; ".join(f"{k}: {v}" for k, v in HELP.items()) + ".", epilog=EXAMPLES)
    parser.add_argument("kind", choices=list(KINDS), metavar="KIND", help=f"one of: {', '.join(KINDS)}")
    parser.add_argument("runs", nargs="+", metavar="RUN",
                        help="run folder written by 'fdsl pretrain'/'fdsl finetune' (or a timm model name whose "
                        "pretrained weights are cached, as a natural-image reference)")
    parser.add_argument("--out", type=output_path, required=True, help="figure file (.png, .pdf, .svg)")
    parser.add_argument("--data", help="images for attention-distance, attention, cam: a folder of images, an image, "
                        "an ImageFolder tree, a .zip of one, an .npz, or sklearn-digits")
    parser.add_argument("--images", type=Number(int, at_least(1)), default=None,
                        help="how many images of --data, spread evenly over it (default: 32 for attention-distance, "
                        "4 otherwise)")
    parser.add_argument("--label", action="append", dest="labels", metavar="NAME",
                        help="name of a run in the figure, once per RUN in order (default: the folder names)")
    parser.add_argument("--max-filters", type=Number(int, at_least(1)), default=256,
                        help="filters: show at most this many per run")
    parser.set_defaults(run=run)
    remember_defaults(parser)


def run(args) -> int:
    from fdsl.core.errors import FdslError
    from fdsl.viz import images as viz_images
    from fdsl.viz.runs import load_runs

    from fdsl.viz.figure import check_out

    check_out(args.out)
    if args.kind not in NEEDS_IMAGES:
        refuse_ignored(args, ("data", "images"), f"by viz {args.kind} (it draws no images of data)")
    if args.kind != "filters":
        refuse_ignored(args, ("max_filters",), f"by viz {args.kind} (it draws no filters)")
    if args.max_filters < 1:
        raise FdslError(f"--max-filters must be at least 1, got {args.max_filters}")
    # Everything is read and computed before the figure is saved: a bad input writes nothing.
    runs = load_runs(args.runs, args.labels, need_model=args.kind != "curves")
    module, name = KINDS[args.kind]
    draw = getattr(importlib.import_module(module), name)
    if args.kind in NEEDS_IMAGES:
        count = args.images if args.images is not None else (32 if args.kind == "attention-distance" else 4)
        images, names = viz_images.load_images(args.data, count)
        picture = draw(runs, images) if args.kind == "attention-distance" else draw(runs, images, names)
    elif args.kind == "filters":
        picture = draw(runs, max_filters=args.max_filters)
    else:
        picture = draw(runs)
    try:
        out = picture.save(args.out)
    finally:
        picture.close()
    print(f"{picture.caption} of {len(runs)} run{'s' if len(runs) > 1 else ''} -> {out}")
    return 0
