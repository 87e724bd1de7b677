"""Previews of segmentation data: each image beside its mask in a colour map, for a dataset or a catalog.

A dataset folder (``fdsl render segrcdb``, or any image/mask folder in the mmseg
or plain layout) shows evenly spread pairs; a SegRCDB catalog renders its first
images on the fly.  Label 0 (background) is black, 255 (ignored) white, and
every other label gets a fixed colour (hues spread by the golden ratio, so
neighbouring labels differ).
"""

from __future__ import annotations

import colorsys
from pathlib import Path

import numpy as np
from PIL import Image

from fdsl.catalog.params import load_catalog
from fdsl.core.errors import FdslError
from fdsl.formulas import create_formula
from fdsl.data import IGNORE_INDEX

GOLDEN = 0.618033988749895


def palette() -> np.ndarray:
    """(256, 3) uint8 colours of the labels."""
    colours = np.zeros((256, 3), dtype=np.uint8)
    for label in range(1, 255):
        colours[label] = [round(255 * c) for c in colorsys.hsv_to_rgb((label * GOLDEN) % 1.0, 0.75, 1.0)]
    colours[IGNORE_INDEX] = 255
    return colours


def colour_mask(mask: np.ndarray) -> Image.Image:
    return Image.fromarray(palette()[np.asarray(mask, dtype=np.uint8)])


def is_segmentation(source: Path, manifest: dict | None) -> bool:
    """A segmentation dataset folder, or a catalog of a formula whose datasets are segmentation ones."""
    if manifest is not None and manifest.get("kind") == "segmentation-dataset":
        return True
    if manifest is not None and manifest.get("kind") == "catalog" and manifest.get("formula"):
        return create_formula(manifest["formula"]).dataset_kind == "segmentation"
    return (Path(source) / "annotations").is_dir() or (Path(source) / "mask").is_dir()


def pairs_from_dataset(folder: Path, count: int) -> list:
    from fdsl.data.masks import MaskPairs

    pairs = MaskPairs(folder)
    picks = np.linspace(0, len(pairs) - 1, num=min(count, len(pairs))).round().astype(int)
    return [pairs[int(i)] for i in picks]


def pairs_from_catalog(folder: Path, manifest: dict, count: int, size: int, seed: int) -> list:
    from fdsl.formulas.contour.segrcdb import render_pair

    formula = create_formula(manifest["formula"])
    settings = formula.RenderSettings(size=size)
    settings.validate()
    categories = load_catalog(formula, folder).categories
    return [tuple(Image.fromarray(a) if k == 0 else a for k, a in
                  enumerate(render_pair(categories, settings, seed, index))) for index in range(count)]


def sheet(pairs: list, columns: int, tile: int, gap: int = 2) -> Image.Image:
    """Rows of (image, coloured mask) pairs, ``columns`` pairs per row."""
    if not pairs:
        raise FdslError("nothing to preview: no image/mask pairs found")
    rows = -(-len(pairs) // columns)
    width = columns * (2 * tile + 3 * gap)
    canvas = Image.new("RGB", (width, rows * (tile + gap)), (40, 40, 40))
    for n, (image, mask) in enumerate(pairs):
        x, y = (n % columns) * (2 * tile + 3 * gap), (n // columns) * (tile + gap)
        canvas.paste(image.convert("RGB").resize((tile, tile), Image.Resampling.BILINEAR), (x, y))
        canvas.paste(colour_mask(mask).resize((tile, tile), Image.Resampling.NEAREST), (x + tile + gap, y))
    return canvas


def segmentation_sheet(source: Path, manifest: dict | None, rows: int, columns: int, tile: int,
                       seed: int) -> Image.Image:
    count = rows * columns
    if manifest is not None and manifest.get("kind") == "catalog":
        pairs = pairs_from_catalog(source, manifest, count, size=max(tile * 2, 64), seed=seed)
    else:
        pairs = pairs_from_dataset(source, count)
    return sheet(pairs, columns, tile)
