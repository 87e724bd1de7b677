"""``fdsl finetune``: train a pre-trained checkpoint (new head) or the same model from scratch on real images."""

from __future__ import annotations

from pathlib import Path

from fdsl.core.numbers import Number, at_least, between
from fdsl.core.checks import SEEDS
from fdsl.commands.ignored import refuse_ignored, remember_defaults
from fdsl.commands.results import json_alone_on_stdout, say_result
from fdsl.commands.segmentation_options import add_segmentation_arguments, segmentation_summary, task_from_args
from fdsl.train.options import add_training_arguments, config_from_args, inherit_from_checkpoint
from fdsl.core.notes import plural


def add_data_arguments(parser, explicit_val: bool = True) -> None:
    parser.add_argument("--data", required=True,
                        help="ImageFolder directory, a zip of one, an .npz (images, labels), or sklearn-digits")
    if explicit_val:
        parser.add_argument("--val", default=None, help="explicit validation set (same forms as --data)")
    parser.add_argument("--val-fraction", type=Number(float, between(0, 1, open_low=True, open_high=True)), default=0.1,
                        help="without --val: stratified fraction of --data held out for validation (default: 0.1)")
    parser.add_argument("--split-seed", type=Number(int, SEEDS), default=0,
                        help="seed of the validation split and subset (default: 0)")
    parser.add_argument("--max-classes", type=Number(int, at_least(2)), default=None,
                        help="keep only the first N classes")


EXAMPLES = """examples:
  fdsl finetune --checkpoint runs/pre --data ../shared/data/cifar10/train.zip --out runs/c10 --val-fraction 0.1
  fdsl finetune --scratch --model resnet50 --data path/to/ImageFolder --out runs/scratch"""


def add_parser(verbs) -> None:
    parser = verbs.add_parser("finetune", help="fine-tune a checkpoint (or train from scratch) on real images",
                              description="Replace the classifier head of a pre-training checkpoint and train on "
                              "real images; --scratch trains the same model from random weights.", epilog=EXAMPLES)
    init = parser.add_mutually_exclusive_group(required=True)
    init.add_argument("--checkpoint", type=Path, help="run folder written by 'fdsl pretrain'")
    init.add_argument("--scratch", action="store_true", help="random initial weights (needs --model)")
    add_data_arguments(parser)
    parser.add_argument("--train-images", type=Number(int, at_least(1)), default=None,
                        help="use a fixed class-balanced subset of this many training images")
    parser.add_argument("--freeze", type=Number(int, at_least(0)), default=None, metavar="K",
                        help="freeze the stem and the first K stages (0: the stem only)")
    parser.add_argument("--task", default="classification",
                        help="classification, or segmentation: --data is a folder of image/mask pairs (mmseg "
                        "layout images/training + annotations/training, or image/ + mask/) or 'fashion-canvas' "
                        "(the built-in Fashion-MNIST proxy); --checkpoint may be a classification run (its "
                        "weights start the encoder) or a segmentation run")
    parser.add_argument("--num-classes", type=Number(int, at_least(2)), default=None,
                        help="segmentation: classes of the masks (default: the dataset's manifest, else the "
                        "largest label + 1)")
    add_training_arguments(parser)
    add_segmentation_arguments(parser)
    parser.set_defaults(run=run)
    remember_defaults(parser)


# What each task reads no further than the command line (given, they would be dropped in silence): segmentation
# fine-tuning has its own crops and flips of image/mask pairs, and its smp models no drop path or layer groups.
IGNORED = {
    "classification": ("decoder", "seg_loss", "scale_range"),
    "segmentation": ("auto_augment", "re_prob", "train_crop", "crop_pct", "drop_path", "layer_decay", "max_classes"),
}


@json_alone_on_stdout
def run(args) -> int:
    from fdsl.core.errors import FdslError

    refuse_ignored(args, IGNORED.get(args.task, ()), f"by --task {args.task}")
    if args.val is not None:
        refuse_ignored(args, ("val_fraction",), "with --val (the validation images are given, none is split off)")
    if args.scratch and args.model is None:
        raise FdslError("--scratch needs --model NAME (the model to train from random weights)")
    if args.task == "segmentation":
        return run_segmentation(args)
    if args.task != "classification":
        raise FdslError(f"unknown --task '{args.task}'; choose classification or segmentation")
    if args.num_classes is not None:
        raise FdslError("--num-classes is for --task segmentation; classification takes its classes from --data")
    from fdsl.train.stages import FinetuneData, finetune

    from fdsl.train.checkpoint import read_meta

    # A missing checkpoint is said first; what is taken from it is said (and recorded) when training starts.
    source = read_meta(args.checkpoint) if args.checkpoint is not None else None
    if source is not None and source.get("task") == "segmentation":
        raise FdslError(f"{args.checkpoint} is a segmentation run; fine-tune it with --task segmentation (or give a "
                        "classification run)")
    inherited = inherit_from_checkpoint(args, source) if source is not None else []
    config = config_from_args(args, "finetune")
    data = FinetuneData(args.data, val=args.val, val_fraction=args.val_fraction, split_seed=args.split_seed,
                        train_images=args.train_images, max_classes=args.max_classes)
    meta = finetune(config, args.out, args.recipe, data, checkpoint_path=args.checkpoint, scratch=args.scratch,
                    freeze=args.freeze, resume=args.resume, progress=not args.quiet,
                    model_given=args.model is not None, inherited=inherited)
    from fdsl.train.context import is_main_process

    metrics = meta.get("metrics", {})
    if not is_main_process():
        return 0
    epochs = plural(meta['epoch'], 'epoch')
    say_result(args, meta, f"fine-tuned {meta['model']} ({meta['init']}) for {epochs}: validation "
               f"top-1 {metrics.get('val_top1', float('nan')):.2f}%, top-5 {metrics.get('val_top5', float('nan')):.2f}% "
               f"-> {args.out}")
    return 0


def run_segmentation(args) -> int:
    from fdsl.core.errors import FdslError
    from fdsl.train.segmentation_stages import finetune
    from fdsl.train.context import is_main_process

    if args.freeze is not None:
        raise FdslError("--freeze is not supported with --task segmentation yet")
    config = config_from_args(args, "finetune", default_recipe="segmentation")
    if args.checkpoint is not None and args.model is None:
        from fdsl.train.checkpoint import read_meta

        source = read_meta(args.checkpoint)  # the encoder of the checkpoint, unless --model names another
        config.model = source["model_kwargs"].get("encoder_name", "tu-" + source["model"])[3:] \
            if source.get("task") == "segmentation" else source["model"]
    meta = finetune(config, args.out, args.recipe, args.data, checkpoint_path=args.checkpoint, scratch=args.scratch,
                    val=args.val, val_fraction=args.val_fraction, split_seed=args.split_seed,
                    train_images=args.train_images, num_classes=args.num_classes, decoder=args.decoder,
                    task=task_from_args(args), resume=args.resume, progress=not args.quiet)
    if is_main_process():
        say_result(args, meta, segmentation_summary(meta, "fine-tuned", meta["init"], "val", "validation", args.out))
    return 0
