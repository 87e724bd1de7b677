"""Command-line options of the segmentation task, shared by ``fdsl pretrain`` and ``fdsl finetune``."""

from __future__ import annotations
from fdsl.core.notes import plural



def add_segmentation_arguments(parser) -> None:
    group = parser.add_argument_group("segmentation (--task segmentation)")
    group.add_argument("--decoder", default="fpn", help="smp decoder on the timm encoder --model: fpn (cheapest on "
                       "a CPU), upernet or segformer (default: fpn)")
    group.add_argument("--seg-loss", default="ce", help="ce (cross-entropy) or ce+dice (default: ce)")
    group.add_argument("--scale-range", default="0.5-2", help="random resize factors of the training crops, "
                       "LOW-HIGH (default: 0.5-2, as published)")


def task_from_args(args):
    from fdsl.core.checks import parse_scale_range
    from fdsl.train.tasks.segmentation import Segmentation

    return Segmentation(loss=args.seg_loss, scale_range=parse_scale_range(args.scale_range))


def segmentation_summary(meta: dict, verb: str, detail: str, split: str, split_name: str, out) -> str:
    """The one line a segmentation run ends with: what was trained, and its mIoU and pixel accuracy on a split."""
    metrics = meta.get("metrics", {})
    miou, pixel = (metrics.get(f"{split}_{name}", float("nan")) for name in ("miou", "pixel_acc"))
    return (f"{verb} {meta['model']} on {meta['model_kwargs']['encoder_name']} ({detail}) for "
            f"{plural(meta['epoch'], 'epoch')}: "
            f"{split_name} mIoU {miou:.2f}%, pixel accuracy {pixel:.2f}% -> {out}")
