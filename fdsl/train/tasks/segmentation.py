"""The segmentation task for the training engine: joint transforms, a per-pixel loss, mIoU and pixel accuracy.

Plugged into ``fdsl.train.engine.fit(..., task=Segmentation())``: the engine's
data order, schedule, checkpoints, resume and logs are the classification
runs' own.  Scores (``validate``): mean IoU over the classes present in the
predictions or the labels of the evaluated set, pixel accuracy, and the mean
per-pixel loss; label 255 is ignored everywhere.
"""

from __future__ import annotations

import numpy as np
import torch

from fdsl.core.errors import FdslError
from fdsl.data import mask_transforms as transforms
from fdsl.data import IGNORE_INDEX
from fdsl.train.loop import evaluation_batches

LOSSES = ("ce", "ce+dice")


class CrossEntropyDice(torch.nn.Module):
    """Cross-entropy plus smp's multi-class Dice loss (the usual pair for segmentation)."""

    def __init__(self, label_smoothing: float = 0.0):
        super().__init__()
        from segmentation_models_pytorch.losses import DiceLoss

        self.ce = torch.nn.CrossEntropyLoss(ignore_index=IGNORE_INDEX, label_smoothing=label_smoothing)
        self.dice = DiceLoss("multiclass", ignore_index=IGNORE_INDEX)

    def forward(self, logits, targets):
        return self.ce(logits, targets) + self.dice(logits, targets)


def scores(confusion: np.ndarray) -> dict:
    """mIoU (%) over classes that occur (in labels or predictions) and pixel accuracy (%) from a confusion matrix."""
    hits = np.diag(confusion).astype(np.float64)
    union = confusion.sum(0) + confusion.sum(1) - hits
    present = union > 0
    total = confusion.sum()
    return {"miou": 100.0 * float(np.mean(hits[present] / union[present])) if present.any() else 0.0,
            "pixel_acc": 100.0 * float(hits.sum() / total) if total else 0.0}


class Segmentation:
    name = "segmentation"
    fit_sample = 0        # pre-training measures held-out SegRCDB images instead of a training sample
    headline = "miou"

    def __init__(self, loss: str = "ce", scale_range: tuple = (0.5, 2.0)):
        if loss not in LOSSES:
            raise FdslError(f"unknown --seg-loss '{loss}'; choose one of: {', '.join(LOSSES)}")
        self.loss_name, self.scale_range = loss, tuple(scale_range)

    def describe(self) -> dict:
        return {"task": self.name, "loss": self.loss_name, "scale_range": list(self.scale_range)}

    def train_transforms(self, config):
        """(image, mask) -> (tensor, label tensor): the mask moves with its image."""
        return transforms.train_transform(config, self.scale_range)

    def labels(self, train_set, num_classes: int, config):
        if config.label_noise:
            raise FdslError("--label-noise replaces image labels; it has no meaning for segmentation masks")
        return None, np.zeros(0, dtype=bool)

    def loss(self, train_set, config, num_classes: int):
        if config.mixup or config.cutmix:
            raise FdslError("Mixup/CutMix mix image labels, not masks: add --mixup 0 --cutmix 0 for segmentation")
        if self.loss_name == "ce+dice":
            return CrossEntropyDice(config.label_smoothing), None
        return torch.nn.CrossEntropyLoss(ignore_index=IGNORE_INDEX, label_smoothing=config.label_smoothing), None

    @torch.inference_mode()
    def validate(self, model, dataset, config, ctx, progress: bool = False, limit: int | None = None,
                 desc: str = "eval") -> dict:
        classes = len(dataset.classes)
        confusion = torch.zeros(classes * classes, dtype=torch.int64)
        loss_sum = pixels = 0.0
        for logits, targets in evaluation_batches(model, dataset, transforms.eval_transform(config), config, ctx,
                                                  progress, limit, desc):
            valid = targets != IGNORE_INDEX
            if bool((targets[valid] >= classes).any()):
                raise FdslError(f"{dataset.describe() if hasattr(dataset, 'describe') else 'the data'} has mask "
                                f"values beyond its {classes} classes; give --num-classes")
            loss_sum += torch.nn.functional.cross_entropy(logits, targets, ignore_index=IGNORE_INDEX,
                                                          reduction="sum").item()
            pixels += valid.sum().item()
            predicted = logits.argmax(1)
            confusion += torch.bincount((targets[valid] * classes + predicted[valid]).cpu(),
                                        minlength=classes * classes)
        totals = ctx.sum(confusion.double().tolist() + [loss_sum, pixels])
        if totals[-1] == 0:
            raise FdslError("the evaluation set has no labelled pixel")
        matrix = np.asarray(totals[:-2]).reshape(classes, classes)
        return {**scores(matrix), "loss": totals[-2] / totals[-1], "count": len(dataset) if limit is None
                else min(limit, len(dataset))}
