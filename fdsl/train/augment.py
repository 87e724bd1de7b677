"""Image transforms, Mixup/CutMix and the loss for a TrainConfig: torchvision's and timm's pieces, wired up."""

from __future__ import annotations

import torch
from torchvision import transforms as T

from fdsl.train.recipes import TrainConfig


def _resize_side(config: TrainConfig) -> int:
    return max(config.image_size, int(round(config.image_size / config.crop_pct)))


def train_transform(config: TrainConfig):
    if config.train_crop == "resized" or config.auto_augment or config.re_prob:
        from timm.data import create_transform

        return create_transform(config.image_size, is_training=True, hflip=config.hflip,
                                color_jitter=config.color_jitter or 0.0, auto_augment=config.auto_augment,
                                interpolation=config.interpolation, mean=config.mean, std=config.std,
                                re_prob=config.re_prob,
                                train_crop_mode="rrc" if config.train_crop == "resized" else "rkrc")
    if config.train_crop == "pad":  # the CIFAR recipe: reflect-pad by 1/8 of the side, random crop back
        steps = [T.Resize(config.image_size), T.CenterCrop(config.image_size),
                 T.RandomCrop(config.image_size, padding=max(1, config.image_size // 8), padding_mode="reflect")]
    else:  # the ResNet papers: a random crop of the (resized) image, nothing else unless asked
        steps = [T.Resize(_resize_side(config)), T.RandomCrop(config.image_size)]
    if config.hflip:
        steps.append(T.RandomHorizontalFlip(config.hflip))
    return T.Compose(steps + [T.ToTensor(), T.Normalize(config.mean, config.std)])


def eval_transform(config: TrainConfig):
    return T.Compose([T.Resize(_resize_side(config)), T.CenterCrop(config.image_size), T.ToTensor(),
                      T.Normalize(config.mean, config.std)])


def mixup(config: TrainConfig, num_classes: int):
    """timm's Mixup/CutMix (which also applies label smoothing), or None."""
    if not (config.mixup or config.cutmix):
        return None
    from timm.data import Mixup

    return Mixup(mixup_alpha=config.mixup, cutmix_alpha=config.cutmix, switch_prob=config.mixup_switch_prob,
                 label_smoothing=config.label_smoothing, num_classes=num_classes)


def loss_function(config: TrainConfig, mixing: bool, multi_label: bool = False) -> torch.nn.Module:
    from timm.loss import LabelSmoothingCrossEntropy, SoftTargetCrossEntropy

    if multi_label:  # several categories per image (Anderson & Farrell's multi-instance task)
        return _SummedBCE()
    if mixing:
        return SoftTargetCrossEntropy()
    if config.label_smoothing:
        return LabelSmoothingCrossEntropy(config.label_smoothing)
    return torch.nn.CrossEntropyLoss()


class _SummedBCE(torch.nn.Module):
    """Binary cross-entropy summed over classes, averaged over images: the per-image scale of cross-entropy,
    so the recipes' learning rates carry over (a class-averaged BCE would be 1/C as large)."""

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        losses = torch.nn.functional.binary_cross_entropy_with_logits(logits, targets, reduction="none")
        return losses.sum(dim=1).mean()
