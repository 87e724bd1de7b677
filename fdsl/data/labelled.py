"""The base of every labelled image source (real images, tar shards): classes, targets without decoding,
items (RGB image, class index), and one line naming the file that fails to decode."""

from __future__ import annotations

import numpy as np
import torch
import torchvision
from PIL import Image

from fdsl.core.errors import FdslError

# Decoded pixels kept by the training process (not by DataLoader workers: they end with their epoch).  A
# fine-tuning subset is decoded every epoch otherwise: 150 us of a CIFAR-10 item's 500 (JPEG in a zip).
DECODED_BYTES = 256 * 2**20


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
    keep_decoded = True  # False where loading is already an array lookup
    _decoded: dict | None = None
    _decoded_bytes = 0

    def set_transforms(self, transforms=None, transform=None, target_transform=None) -> "LabelledImages":
        torchvision.datasets.VisionDataset.__init__(self, self.root, transforms=transforms, transform=transform,
                                                    target_transform=target_transform)
        return self

    def __len__(self) -> int:
        return len(self.targets)

    def load(self, index: int) -> Image.Image:
        raise NotImplementedError

    def __getitem__(self, index: int):
        index = int(index)
        kept = self._decoded.get(index) if self._decoded is not None else None
        image = Image.fromarray(kept) if kept is not None else self._decode(index)
        target = int(self.targets[index])
        return self.transforms(image, target) if self.transforms is not None else (image, target)

    def _decode(self, index: int) -> Image.Image:
        try:
            image = self.load(index).convert("RGB")
        except Exception as exc:  # PIL raises OSError, SyntaxError, ValueError... for a damaged file
            name = self.item_name(index)
            detail = str(exc).splitlines()[0][:80] if str(exc).strip() else ""
            reason = exc.__class__.__name__ + (f": {detail}" if detail and name not in detail else "")
            raise FdslError(f"cannot decode {name} ({reason}); replace or remove that image") from None
        if self.keep_decoded and torch.utils.data.get_worker_info() is None:
            pixels = np.asarray(image)
            if self._decoded_bytes + pixels.nbytes <= DECODED_BYTES:
                if self._decoded is None:
                    self._decoded = {}
                self._decoded[index] = pixels
                self._decoded_bytes += pixels.nbytes
        return image

    def __getstate__(self):
        state = dict(self.__dict__)
        state.pop("_decoded", None)  # a worker or a copy decodes afresh; pixels are not shipped
        state.pop("_decoded_bytes", None)
        return state

    def describe(self) -> str:
        return type(self).__name__

    def item_name(self, index: int) -> str:
        """What a user can find: the file, the zip member, or the array index."""
        return f"image {index} of {self.describe()}"
