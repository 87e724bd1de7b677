"""Anderson & Farrell's improved fractal pre-training data ("Improving Fractal Pre-training", WACV 2022).

Two changes to the formula images, for any family whose images are grey shapes on black:

- **colour on random backgrounds**: each shape is tinted with a random colour (its grey level is
  the opacity) and pasted on a random smooth colour field instead of black;
- **multi-instance**: several shapes of different categories per image, each at a random scale
  and position, and the target is the set of categories present (multi-hot, a multi-label loss).

Every choice for item ``index`` comes from ``rng_for(seed, stream, index)``, so an item is the
same in any worker, rank or epoch; only the augmentation applied on top changes per epoch.
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from fdsl.core.errors import FdslError
from fdsl.core.seeding import rng_for

# A&F paste 1-5 fractals at 15-60 % of the image side; a single tinted shape fills 50-100 % of it.
MULTI_SCALE = (0.15, 0.6)
SINGLE_SCALE = (0.5, 1.0)
BACKGROUND_GRID = 4  # the background is a bilinear upsampling of a 4x4 grid of random colours: smooth, varied


class Composite(torch.utils.data.Dataset):
    """Shapes of a base formula dataset, tinted, scaled and pasted on random colour backgrounds.

    ``objects`` (low, high): shapes per image, drawn uniformly (without repeating a category).
    With ``objects == (1, 1)`` items are (image, category); otherwise (image, multi-hot float vector).
    """

    def __init__(self, base, objects: tuple[int, int] = (1, 1), seed: int = 0, stream: str = "composite"):
        low, high = objects
        categories = len(base.classes)
        if not (1 <= low <= high):
            raise FdslError(f"--objects must be LOW-HIGH with 1 <= LOW <= HIGH, got {low}-{high}")
        if high > categories:
            raise FdslError(f"--objects {low}-{high}: up to {high} categories per image, but the data has only "
                            f"{categories}; lower --objects or use more categories")
        self.base, self.objects, self.seed, self.stream = base, (int(low), int(high)), int(seed), stream
        self.classes, self.fingerprint = base.classes, base.fingerprint
        self.per_category = len(base) // categories
        self.multi_label = high > 1
        self.scale = MULTI_SCALE if self.multi_label else SINGLE_SCALE
        self.size = int(np.asarray(base.render(0)).shape[0])
        self.targets = np.asarray(base.targets, dtype=np.int64)  # the first shape's category, for samplers

    def __len__(self) -> int:
        return len(self.base)

    def layout(self, index: int) -> list[tuple[int, int, float, float, float, np.ndarray]]:
        """The shapes of item ``index``: (category, base index, scale, x, y, colour) in paste order.

        The first shape is the item's own category and instance, so every base image is used; the
        others are drawn from the seed.
        """
        rng = rng_for(self.seed, self.stream, int(index))
        own = int(self.targets[index])
        count = int(rng.integers(self.objects[0], self.objects[1] + 1))
        others = rng.permutation(np.delete(np.arange(len(self.classes)), own))[: count - 1]
        shapes = []
        for position, category in enumerate([own, *others.tolist()]):
            instance = int(index) if position == 0 else int(category) * self.per_category + int(
                rng.integers(self.per_category))
            scale = float(rng.uniform(*self.scale))
            x, y = (float(v) for v in rng.uniform(0, 1, size=2))
            colour = _bright_colour(rng)
            shapes.append((int(category), instance, scale, x, y, colour))
        return shapes

    def compose(self, index: int) -> tuple[np.ndarray, list[int]]:
        rng = rng_for(self.seed, self.stream, "background", int(index))
        canvas = background(rng, self.size)
        present = []
        for category, instance, scale, x, y, colour in self.layout(index):
            shape = _grey(self.base.render(instance))
            side = max(2, int(round(scale * self.size)))
            alpha = np.asarray(Image.fromarray(shape).resize((side, side), Image.BILINEAR), dtype=np.float32) / 255
            top, left = int(round(y * (self.size - side))), int(round(x * (self.size - side)))
            region = canvas[top:top + side, left:left + side]
            region[:] = region * (1 - alpha[..., None]) + colour * alpha[..., None]
            present.append(category)
        return np.clip(np.round(canvas), 0, 255).astype(np.uint8), present

    def __getitem__(self, index: int):
        image, present = self.compose(int(index))
        if not self.multi_label:
            return Image.fromarray(image), present[0]
        target = torch.zeros(len(self.classes), dtype=torch.float32)
        target[present] = 1.0
        return Image.fromarray(image), target


def background(rng: np.random.Generator, size: int) -> np.ndarray:
    """A smooth random colour field (float32 H x W x 3, 0..255), darkened so that tinted shapes stand out."""
    grid = rng.uniform(0, 160, size=(BACKGROUND_GRID, BACKGROUND_GRID, 3)).astype(np.float32)
    channels = [np.asarray(Image.fromarray(np.ascontiguousarray(grid[..., c])).resize((size, size), Image.BILINEAR))
                for c in range(3)]
    return np.stack(channels, axis=-1).astype(np.float32)


def _bright_colour(rng: np.random.Generator) -> np.ndarray:
    """A random saturated colour: a random hue at full value, as A&F's HSV colourisation."""
    import colorsys

    hue, saturation = float(rng.uniform()), float(rng.uniform(0.5, 1.0))
    return np.array(colorsys.hsv_to_rgb(hue, saturation, 1.0), dtype=np.float32) * 255


def _grey(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    return image if image.ndim == 2 else image.max(axis=-1)


def parse_objects(text: str) -> tuple[int, int]:
    """'3' -> (3, 3); '1-5' -> (1, 5)."""
    try:
        parts = [int(p) for p in str(text).split("-")]
    except ValueError:
        raise FdslError(f"--objects takes N or LOW-HIGH (e.g. 1-5), got '{text}'") from None
    if len(parts) == 1:
        parts = parts * 2
    if len(parts) != 2:
        raise FdslError(f"--objects takes N or LOW-HIGH (e.g. 1-5), got '{text}'")
    return parts[0], parts[1]
