"""Segmentation datasets: image/mask pairs on disk (mmseg or plain layout) and SegRCDB on the fly.

Items are (PIL RGB image, (H, W) uint8 mask); 0 is usually the background and
255 is ignored.  Every dataset has ``classes`` (names, index = label),
``fingerprint`` and ``describe()``, like fdsl.data.real's classification sources.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import torch
import torchvision
from PIL import Image

from fdsl.catalog.params import load_catalog, read_manifest
from fdsl.core.errors import FdslError
from fdsl.core.imagefiles import IMAGE_SUFFIXES, LAYOUT_FOLDERS
from fdsl.data import IGNORE_INDEX
from fdsl.formulas.contour.segrcdb import render_pair

SPLIT_FOLDERS = {"training": "training", "validation": "validation"}


def find_pairs(image_dir: Path, mask_dir: Path) -> list[tuple[Path, Path]]:
    """(image, mask) of every image in ``image_dir``; the mask is the PNG of the same stem in ``mask_dir``."""
    images = sorted(p for p in image_dir.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith("."))
    if not images:
        raise FdslError(f"{image_dir} holds no images")
    pairs = []
    for image in images:
        mask = mask_dir / f"{image.stem}.png"
        if not mask.is_file():
            raise FdslError(f"{image} has no mask: expected {mask} (every image needs a PNG mask of the same name)")
        pairs.append((image, mask))
    return pairs


def layout_of(root: Path, split: str = "training") -> tuple[Path, Path]:
    """The (image folder, mask folder) of a dataset folder in the mmseg or the plain layout."""
    root = Path(root)
    candidates = [(root / "images" / split, root / "annotations" / split)]
    if split == "training":
        candidates.append(tuple(root / folder for folder in LAYOUT_FOLDERS["plain"]))
    for image_dir, mask_dir in candidates:
        if image_dir.is_dir():
            if not mask_dir.is_dir():
                raise FdslError(f"{root}: {image_dir.relative_to(root)} has no mask folder "
                                f"{mask_dir.relative_to(root)}")
            return image_dir, mask_dir
    raise FdslError(f"{root} is not a segmentation dataset: expected images/{split} + annotations/{split} "
                    "(mmseg layout) or image/ + mask/ (fdsl render segrcdb)")


class MaskPairs(torchvision.datasets.VisionDataset):
    """Image/mask pairs from a folder; ``classes`` from its manifest, ``num_classes``, or the largest label + 1.

    Items are (RGB image, uint8 mask), through a joint ``transforms(image, mask)`` when given (torchvision's
    VisionDataset convention; a segmentation transform must move both alike).
    """

    def __init__(self, root: Path, split: str = "training", num_classes: int | None = None, transforms=None):
        super().__init__(str(root), transforms=transforms)
        self.root = Path(root)
        if not self.root.is_dir():
            raise FdslError(f"segmentation data {root} not found; give a folder with images/training + "
                            "annotations/training (mmseg layout) or image/ + mask/")
        manifest = read_manifest(self.root)
        if manifest is not None and manifest.get("complete") is False:
            raise FdslError(f"the render in {root} is incomplete (manifest.json says complete: false); re-run the "
                            "same 'fdsl render' command to finish it")
        image_dir, mask_dir = layout_of(self.root, split)
        self.pairs = find_pairs(image_dir, mask_dir)
        self.split = split
        digest = hashlib.sha256()
        for image, mask in self.pairs:
            digest.update(f"{image.relative_to(self.root)}:{image.stat().st_size}:{mask.stat().st_size}\n".encode())
        self.fingerprint = digest.hexdigest()[:16]
        if num_classes is not None:
            self.classes = [str(i) for i in range(num_classes)]
            self.check_labels(num_classes)
        elif manifest is not None and manifest.get("classes"):
            self.classes = list(manifest["classes"])
        else:
            self.classes = [str(i) for i in range(self.largest_label() + 1)]

    def __len__(self) -> int:
        return len(self.pairs)

    def mask(self, index: int) -> np.ndarray:
        path = self.pairs[index][1]
        try:
            with Image.open(path) as mask:
                if mask.mode not in ("L", "P", "I;16", "I"):
                    raise FdslError(f"{path} is a {mask.mode} image; a mask is one channel of class ids (mode L or P)")
                return np.asarray(mask, dtype=np.int64)
        except OSError as exc:
            raise FdslError(f"cannot read mask {path} ({exc.__class__.__name__})") from None

    def largest_label(self) -> int:
        found = 0
        for index in range(len(self)):
            labels = self.mask(index)
            labels = labels[labels != IGNORE_INDEX]
            found = max(found, int(labels.max()) if labels.size else 0)
        return found

    def check_labels(self, num_classes: int) -> None:
        """Every mask value is a class of the model (or 255, ignored): the first file that is not is named."""
        for index in range(len(self)):
            labels = self.mask(index)
            bad = labels[(labels >= num_classes) & (labels != IGNORE_INDEX)]
            if bad.size:
                raise FdslError(f"{self.pairs[index][1]} holds class id {int(bad.max())}, beyond the {num_classes} "
                                f"classes (0..{num_classes - 1}; 255 is ignored); give --num-classes "
                                f"{int(bad.max()) + 1} or fix the mask")

    def __getitem__(self, index: int):
        image_path = self.pairs[index][0]
        try:
            with Image.open(image_path) as image:
                picture = image.convert("RGB")
        except OSError as exc:
            raise FdslError(f"cannot decode {image_path} ({exc.__class__.__name__}); replace or remove it") from None
        mask = self.mask(index)
        if mask.shape != (picture.height, picture.width):
            raise FdslError(f"{self.pairs[index][1]} is {mask.shape[1]}x{mask.shape[0]} but its image is "
                            f"{picture.width}x{picture.height}")
        if self.transforms is not None:
            return self.transforms(picture, mask.astype(np.uint8))
        return picture, mask.astype(np.uint8)

    def describe(self) -> str:
        return f"{self.root} ({self.split})"


class SegRCDBImages(torchvision.datasets.VisionDataset):
    """Images ``first .. first + count - 1`` of a SegRCDB dataset, rendered when asked for (nothing on disk).

    Image n is exactly what ``fdsl render segrcdb`` writes as ``n:06d.png`` with the same seed and settings.
    Items are (RGB image, mask), through a joint ``transforms(image, mask)`` when given.
    """

    def __init__(self, formula, params_dir: Path, settings, seed: int, first: int, count: int, transforms=None):
        from fdsl.formulas.contour.segrcdb import check_class_count

        super().__init__(str(params_dir), transforms=transforms)
        settings.validate()
        catalog = load_catalog(formula, Path(params_dir))
        check_class_count(len(catalog.categories))
        if count < 1:
            raise FdslError(f"a SegRCDB dataset needs at least one image, got {count}")
        self.formula, self.categories, self.settings = formula, catalog.categories, settings
        self.seed, self.first, self.count = int(seed), int(first), int(count)
        self.classes = ["background"] + catalog.names
        self.fingerprint = hashlib.sha256(json.dumps(
            [formula.name, catalog.fingerprint(), settings.to_dict(), self.seed, self.first, self.count],
            sort_keys=True).encode()).hexdigest()[:16]

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index: int):
        image, mask = render_pair(self.categories, self.settings, self.seed, self.first + int(index))
        picture = Image.fromarray(image).convert("RGB")
        return self.transforms(picture, mask) if self.transforms is not None else (picture, mask)

    def describe(self) -> str:
        return f"SegRCDB images {self.first}..{self.first + self.count - 1}"


class Items(torch.utils.data.Dataset):
    """Some items of a segmentation dataset (a split), keeping its classes."""

    def __init__(self, base, indices):
        self.base, self.indices = base, np.asarray(indices, dtype=np.int64)
        self.classes, self.fingerprint = base.classes, base.fingerprint

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index: int):
        return self.base[int(self.indices[index])]
