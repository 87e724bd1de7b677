"""Standard PNG files, written fast: the chunks assembled here around one ISA-L deflate stream.

At the published FractalDB setting encoding was the largest cost of an image (Pillow at zlib
level 1: about 3.5 ms for a 362x362 grey image, four times the render).  Almost all of that is
Pillow's zlib and its per-row adaptive filter search.  Here every row gets filter type 0
(None), which is the best choice anyway for these images of long constant runs, and the
deflate stream comes from ISA-L (``isal``), several times faster than zlib at a similar size.
The result is a plain 8-bit PNG (IHDR, one IDAT, IEND) that Pillow, libpng and torchvision
decode to exactly the array given: only the compressed bytes differ from Pillow's.

The bytes are a function of the pixels and the ``isal`` version (pinned), so a dataset is
byte-identical at any worker count or shard split; another deflate library would give other
bytes for the same pixels.
"""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
from isal import isal_zlib

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# PNG colour types: 0 grey, 2 RGB.
_COLOUR_TYPE = {2: 0, 3: 2}
_FILTER_NONE = 0
# ISA-L levels run 0..3; level 1 is about as small as zlib's level 1 at a fraction of the time.
FAST_LEVEL = 1


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(data, zlib.crc32(kind)))


def _fast_encodable(image: np.ndarray) -> bool:
    return image.dtype == np.uint8 and (image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 3))


def png_bytes(image: np.ndarray, compress_level: int = FAST_LEVEL) -> bytes:
    """PNG of a (H, W) grey or (H, W, 3) RGB uint8 array (other arrays go through Pillow).

    Grey images are stored as 8-bit grey PNGs: ``ImageFolder``'s loader converts
    them to RGB with three equal channels, i.e. exactly the published RGB pixels.
    ``compress_level`` is ISA-L's (0..3).
    """
    if not _fast_encodable(image):
        from PIL import Image

        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, format="PNG", compress_level=1)
        return buffer.getvalue()
    height, width = image.shape[:2]
    row_bytes = image[0].size
    # Each scanline is its filter-type byte followed by the row's pixels.
    scanlines = np.empty((height, row_bytes + 1), dtype=np.uint8)
    scanlines[:, 0] = _FILTER_NONE
    scanlines[:, 1:] = image.reshape(height, row_bytes)
    header = struct.pack(">IIBBBBB", width, height, 8, _COLOUR_TYPE[image.ndim], 0, 0, 0)
    compressed = isal_zlib.compress(scanlines.data, compress_level)
    return PNG_SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"IDAT", compressed) + _chunk(b"IEND", b"")
