"""The base of every labelled image source (real images, tar shards): classes, targets without decoding,
items (RGB image, class index), and one line naming the file that fails to decode."""

from __future__ import annotations

import numpy as np
import torchvision
from PIL import Image

from fdsl.core.errors import FdslError


class LabelledImages(torchvision.datasets.VisionDataset):
    """Base: ``classes``, ``targets`` and ``load(i)`` -> PIL image; items are (RGB image, target).

    torchvision's ``VisionDataset`` convention (``set_transforms``): a joint ``transforms(image, target)``, or
    ``transform`` of the image (e.g. ``transforms.ToTensor()``) and ``target_transform`` of the target.
    """

    classes: list
    targets: np.ndarray
    fingerprint: str
    # Until set_transforms: sources build themselves without VisionDataset.__init__ (a zip, an array).
    root = None
    transforms = transform = target_transform = None

    def set_transforms(self, transforms=None, transform=None, target_transform=None) -> "LabelledImages":
        torchvision.datasets.VisionDataset.__init__(self, self.root, transforms=transforms, transform=transform,
                                                    target_transform=target_transform)
        return self

    def __len__(self) -> int:
        return len(self.targets)

    def load(self, index: int) -> Image.Image:
        raise NotImplementedError

    def __getitem__(self, index: int):
        try:
            image = self.load(int(index)).convert("RGB")
        except Exception as exc:  # PIL raises OSError, SyntaxError, ValueError... for a damaged file
            name = self.item_name(int(index))
            detail = str(exc).splitlines()[0][:80] if str(exc).strip() else ""
            reason = exc.__class__.__name__ + (f": {detail}" if detail and name not in detail else "")
            raise FdslError(f"cannot decode {name} ({reason}); replace or remove that image") from None
        target = int(self.targets[index])
        return self.transforms(image, target) if self.transforms is not None else (image, target)

    def describe(self) -> str:
        return type(self).__name__

    def item_name(self, index: int) -> str:
        """What a user can find: the file, the zip member, or the array index."""
        return f"image {index} of {self.describe()}"
