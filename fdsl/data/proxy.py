"""A small real segmentation task with no download: Fashion-MNIST items pasted on a canvas.

Each canvas (64 x 64 by default) receives 2-4 Fashion-MNIST items (28 x 28,
rescaled by U(0.8, 1.6)) at uniform positions, later items over earlier ones.
An item's pixels brighter than ``INK`` are its pixels: they overwrite the canvas
and are labelled with the item's class + 1 in the mask (0 is the background).
So the task is real images with per-pixel labels of 11 classes.

Fixed and seeded: canvas i of a split is drawn from ``rng_for(seed, "canvas",
split, i)``.  The train and validation canvases take items from disjoint parts
of Fashion-MNIST's training set, the held-out canvases from its test set, so
no item is shared between splits.  This is a small proxy to compare
initialisations, not a segmentation benchmark.
"""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from fdsl.core.errors import FdslError
from fdsl.core.seeding import rng_for

NAME = "fashion-canvas"
CLASSES = ["background", "t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag",
           "ankle-boot"]
INK = 40             # pixel value above which a pixel belongs to the item
ITEMS = (2, 4)       # items per canvas, inclusive
SCALE = (0.8, 1.6)   # item size factor
VAL_ITEM_SHARE = 0.2  # the last fifth of Fashion-MNIST's training items feed the validation canvases
FILES = {"train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
         "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")}


def read_idx(path: Path) -> np.ndarray:
    """An idx file (the MNIST format): big-endian magic, dimensions, then uint8 data."""
    try:
        with gzip.open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise FdslError(f"cannot read {path} ({exc.__class__.__name__}); is the Fashion-MNIST copy complete?") from None
    dims = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * k:8 + 4 * k], "big") for k in range(dims))
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def check_fashion_mnist(folder: Path, hint: str = "set FDSL_SHARED_DATA", parts=tuple(FILES)) -> None:
    """One line when ``folder`` lacks the Fashion-MNIST ``parts`` a caller reads; ``hint`` is the caller's way to
    point at another folder (each command has its own option for it)."""
    for part in parts:
        images_name = FILES[part][0]
        if not (Path(folder) / images_name).is_file():
            raise FdslError(f"Fashion-MNIST not found in {folder} (expected {images_name}); {hint}")


def fashion_mnist(folder: Path, part: str) -> tuple[np.ndarray, np.ndarray]:
    images_name, labels_name = FILES[part]
    check_fashion_mnist(folder, parts=(part,))
    return read_idx(Path(folder) / images_name), read_idx(Path(folder) / labels_name)


def compose(items: np.ndarray, labels: np.ndarray, rng: np.random.Generator, size: int):
    """One canvas and its mask from a pool of items: (size, size) uint8 each."""
    canvas = np.zeros((size, size), dtype=np.uint8)
    mask = np.zeros((size, size), dtype=np.uint8)
    for _ in range(int(rng.integers(ITEMS[0], ITEMS[1] + 1))):
        pick = int(rng.integers(len(items)))
        side = int(round(items.shape[1] * rng.uniform(*SCALE)))
        side = min(side, size)
        item = np.asarray(Image.fromarray(items[pick]).resize((side, side), Image.Resampling.BILINEAR))
        top, left = (int(v) for v in rng.integers(0, size - side + 1, size=2))
        ink = item > INK
        canvas[top:top + side, left:left + side][ink] = item[ink]
        mask[top:top + side, left:left + side][ink] = labels[pick] + 1
    return canvas, mask


class FashionCanvas(torch.utils.data.Dataset):
    """``count`` canvases of one split ("train", "val" or "heldout"), built once in memory."""

    def __init__(self, folder: Path, split: str, count: int, seed: int = 0, size: int = 64):
        if split not in ("train", "val", "heldout"):
            raise FdslError(f"unknown split '{split}'; use train, val or heldout")
        if count < 1 or not (32 <= size <= 1024):
            raise FdslError(f"{NAME}: need at least 1 canvas and a size of 32..1024, got {count} and {size}")
        items, labels = fashion_mnist(folder, "test" if split == "heldout" else "train")
        if split != "heldout":
            cut = int(len(items) * (1 - VAL_ITEM_SHARE))
            items, labels = (items[cut:], labels[cut:]) if split == "val" else (items[:cut], labels[:cut])
        pairs = [compose(items, labels, rng_for(seed, "canvas", split, i), size) for i in range(count)]
        self.images = np.stack([p[0] for p in pairs])
        self.masks = np.stack([p[1] for p in pairs])
        self.classes = list(CLASSES)
        self.split, self.seed, self.size = split, seed, size
        self.fingerprint = hashlib.sha256(self.images.tobytes() + self.masks.tobytes()).hexdigest()[:16]

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int):
        return Image.fromarray(self.images[index]).convert("RGB"), self.masks[index]

    def describe(self) -> str:
        return f"{NAME} {self.split} ({len(self)} canvases, seed {self.seed})"
