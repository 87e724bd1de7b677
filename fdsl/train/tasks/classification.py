"""What a training task adds to the one engine: transforms, labels, loss and the evaluation pass.

The engine (``engine.fit``) owns the run: the data order, steps, schedule,
checkpoints, resume and logs.  A task says what an item is and how it is scored.
``Classification`` is image -> one label (and the multi-label multi-instance
variant); ``fdsl.train.tasks.segmentation.Segmentation`` is image -> label mask.
"""

from __future__ import annotations

from torchvision.datasets.vision import StandardTransform

from fdsl.data.formula import dataset_targets, noisy_labels
from fdsl.train import augment
from fdsl.train.loop import validate

FIT_SAMPLE = 1000  # pre-training has no validation split: accuracy is also measured on this many training images


class Classification:
    name = "classification"
    fit_sample = FIT_SAMPLE
    headline = "top1"  # the metric the experiments compare

    def train_transforms(self, config):
        """(image, label) -> (tensor, label), as torchvision's ``transforms`` argument takes it."""
        return StandardTransform(augment.train_transform(config))

    def labels(self, train_set, num_classes: int, config):
        """(labels training uses, mask of the ones changed by --label-noise)."""
        return noisy_labels(dataset_targets(train_set), num_classes, config.label_noise, config.seed)

    def loss(self, train_set, config, num_classes: int):
        """(criterion, Mixup/CutMix or None), from timm."""
        multi_label = bool(getattr(train_set, "multi_label", False))
        mixing = None if multi_label else augment.mixup(config, num_classes)
        return augment.loss_function(config, mixing is not None, multi_label), mixing

    def validate(self, model, dataset, config, ctx, progress: bool = False, limit: int | None = None,
                 desc: str = "eval") -> dict:
        return validate(model, dataset, config, ctx, progress, limit=limit, desc=desc)


CLASSIFICATION = Classification()
