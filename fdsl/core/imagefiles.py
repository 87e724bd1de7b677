"""The one list of image file types fdsl reads, in a module that imports nothing heavy.

`fdsl preview` and the other verbs that only look at files use it without paying the torch import
that the datasets in ``fdsl.data.real`` need.
"""

from __future__ import annotations

import os

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".ppm", ".pgm", ".tif", ".tiff", ".webp"}


def is_image_file(path: str) -> bool:
    """A visible file whose extension is one of IMAGE_SUFFIXES (any case)."""
    name = os.path.basename(path)
    return not name.startswith(".") and os.path.splitext(name)[1].lower() in IMAGE_SUFFIXES

# (image folder, mask folder) of each image/mask pair layout, relative to the dataset folder: ``plain`` is the
# published SegRCDB layout, ``mmseg`` what mmsegmentation's custom datasets read.
LAYOUT_FOLDERS = {"plain": ("image", "mask"), "mmseg": ("images/training", "annotations/training")}
