"""Joint image + mask transforms (torchvision.transforms.v2): the mask is resized nearest and padded with 255.

Training follows the SegRCDB / mmsegmentation pipeline at small scale: resize
the shorter side to a random factor of the model size (``scale_range``, 0.5-2 as
published), a random crop of the model size (padded when smaller: image 0, mask
255 = ignored), a horizontal flip.  Evaluation resizes to the model size.
Items are (float image tensor (3, S, S), int64 mask (S, S)).
"""

from __future__ import annotations

import numpy as np
import torch
from torchvision import tv_tensors
from torchvision.transforms import v2

from fdsl.data import IGNORE_INDEX


class JointTransform:
    """A v2 pipeline applied to (PIL image, uint8 mask array) together: a ``transforms(image, target)``."""

    def __init__(self, steps: list, mean, std):
        self.pipeline = v2.Compose([*steps, v2.ToDtype(torch.float32, scale=True), v2.Normalize(mean, std)])

    def __call__(self, image, mask):
        picture = v2.functional.to_image(image)
        labels = tv_tensors.Mask(torch.from_numpy(np.asarray(mask, dtype=np.uint8).copy()))
        picture, labels = self.pipeline(picture, labels)
        return picture, labels.to(torch.int64)


def train_transform(config, scale_range: tuple = (0.5, 2.0)) -> JointTransform:
    size = int(config.image_size)
    low, high = (max(1, int(round(size * factor))) for factor in scale_range)
    steps = [v2.RandomResize(low, high + 1),
             v2.RandomCrop(size, pad_if_needed=True, fill={tv_tensors.Mask: IGNORE_INDEX, "others": 0})]
    if config.hflip:
        steps.append(v2.RandomHorizontalFlip(config.hflip))
    return JointTransform(steps, config.mean, config.std)


def eval_transform(config) -> JointTransform:
    size = int(config.image_size)
    return JointTransform([v2.Resize((size, size))], config.mean, config.std)
