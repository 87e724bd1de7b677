"""The one list of image file types fdsl reads, in a module that imports nothing heavy.

`fdsl preview` and the other verbs that only look at files use it without paying the torch import
that the datasets in ``fdsl.realdata`` need.
"""

from __future__ import annotations

import os

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".ppm", ".pgm", ".tif", ".tiff", ".webp"}


def is_image_file(path: str) -> bool:
    """A visible file whose extension is one of IMAGE_SUFFIXES (any case)."""
    name = os.path.basename(path)
    return not name.startswith(".") and os.path.splitext(name)[1].lower() in IMAGE_SUFFIXES
