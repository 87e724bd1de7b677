"""The base of every labelled image source (real images, tar shards): classes, targets without decoding,
items (RGB image, class index), and one line naming the file that fails to decode."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from fdsl.core.errors import FdslError


class LabelledImages(torch.utils.data.Dataset):
    """Base: ``classes``, ``targets`` and ``load(i)`` -> PIL image; items are (RGB image, target).

    ``transform``, as in torchvision, is applied to each RGB image (e.g. ``transforms.ToTensor()``).
    """

    classes: list
    targets: np.ndarray
    fingerprint: str
    transform = None

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
        if self.transform is not None:
            image = self.transform(image)
        return image, int(self.targets[index])

    def describe(self) -> str:
        return type(self).__name__

    def item_name(self, index: int) -> str:
        """What a user can find: the file, the zip member, or the array index."""
        return f"image {index} of {self.describe()}"
