"""``fdsl evaluate``: top-1/top-5 of a checkpoint on an ImageFolder, a zip of one, or an .npz."""

from __future__ import annotations

import json
from pathlib import Path

from fdsl.core.numbers import Number, at_least
from fdsl.commands.finetune import add_data_arguments


EXAMPLES = """examples:
  fdsl evaluate --checkpoint runs/c10 --data ../shared/data/cifar10/train.zip --split val
  fdsl evaluate --checkpoint runs/pre --data path/to/ImageFolder --split val --val-fraction 0.1 --split-seed 0"""

SPLIT_HELP = {
    "--val-fraction": "with --split val/train: the fraction of each class on the validation side (default: the "
                      "fraction the checkpoint's fine-tuning carved from this --data; needed, with --split-seed, "
                      "when it records none)",
    "--split-seed": "with --split val/train: the seed of that split (default: the fine-tuning's, as --val-fraction)",
}


def add_parser(verbs) -> None:
    parser = verbs.add_parser("evaluate", help="top-1/top-5 accuracy of a checkpoint on labelled images",
                              description="Score a run folder of 'fdsl pretrain' or 'fdsl finetune' on labelled "
                              "images: top-1 and top-5 accuracy, with --split the validation split that fine-tuning "
                              "carved (its --val-fraction and --split-seed, read from the run folder).",
                              epilog=EXAMPLES)
    parser.add_argument("--checkpoint", type=Path, required=True, help="run folder written by pretrain or finetune")
    add_data_arguments(parser, explicit_val=False)
    # None: not given, so the split the checkpoint's fine-tuning recorded (fdsl.train.stages.evaluate).
    parser.set_defaults(val_fraction=None, split_seed=None)
    for action in parser._actions:
        for option in set(action.option_strings) & set(SPLIT_HELP):
            action.help = SPLIT_HELP[option]
    parser.add_argument("--split", choices=("all", "train", "val"), default="all",
                        help="evaluate all of --data (default), or one side of the split the checkpoint's fine-tuning "
                        "carved from it (or of --val-fraction/--split-seed when it records none)")
    parser.add_argument("--batch-size", type=Number(int, at_least(1)), default=256,
                        help="images per evaluation step (default: 256)")
    parser.add_argument("--workers", type=Number(int, at_least(0)), default=0,
                        help="DataLoader worker processes (default: 0, images loaded in this process)")
    parser.add_argument("--device", default="auto", help="auto (CUDA when available), cpu, cuda or cuda:N "
                        "(default: auto)")
    parser.add_argument("--match-classes-by-index", action="store_true",
                        help="score class i of --data as class i of the checkpoint even when their names differ "
                        "(default: the class names must be the checkpoint's)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(run=run)


def run(args) -> int:
    from fdsl.train.stages import evaluate

    result = evaluate(args.checkpoint, args.data, split_name=args.split, val_fraction=args.val_fraction,
                      split_seed=args.split_seed, max_classes=args.max_classes, batch_size=args.batch_size,
                      workers=args.workers, device=args.device, progress=not args.quiet,
                      match_by_index=args.match_classes_by_index)
    if args.json:
        print(json.dumps(result))
    else:
        print(f"top-1 {result['top1']:.2f}%  top-5 {result['top5']:.2f}%  loss {result['loss']:.4f}  "
              f"({result['count']} images)")
    return 0
