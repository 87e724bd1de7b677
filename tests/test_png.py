"""The PNG encoder: standard files that Pillow, libpng (torchvision) and zlib read back to the exact array."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from fdsl.core.files import png_bytes
from fdsl.formulas import create_formula
from fdsl.core.seeding import rng_for


def _images():
    rng = np.random.default_rng(0)
    sparse = np.zeros((37, 53), np.uint8)
    sparse[rng.integers(0, 37, 200), rng.integers(0, 53, 200)] = 127
    return {
        "grey sparse, odd size": sparse,
        "grey noise": rng.integers(0, 256, (17, 29), dtype=np.uint8),
        "rgb noise": rng.integers(0, 256, (19, 23, 3), dtype=np.uint8),
        "one pixel": np.full((1, 1), 255, np.uint8),
        "black": np.zeros((64, 64), np.uint8),
        "non-contiguous view": rng.integers(0, 256, (40, 40), dtype=np.uint8)[::-1, ::2],
    }


@pytest.mark.filterwarnings("ignore:The image decoding:DeprecationWarning")
@pytest.mark.parametrize("name", list(_images()))
def test_pillow_and_torchvision_decode_the_exact_array(name):
    import torch
    from torchvision.io import decode_png

    image = _images()[name]
    data = png_bytes(image)
    with Image.open(io.BytesIO(data)) as decoded:
        assert decoded.format == "PNG" and decoded.mode == ("L" if image.ndim == 2 else "RGB")
        assert np.array_equal(np.asarray(decoded), image)
    tensor = decode_png(torch.frombuffer(bytearray(data), dtype=torch.uint8))
    expected = image[None] if image.ndim == 2 else image.transpose(2, 0, 1)
    assert np.array_equal(tensor.numpy(), expected)


def test_chunks_are_well_formed():
    data = png_bytes(_images()["rgb noise"])
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    position, kinds = 8, []
    while position < len(data):
        length, = struct.unpack(">I", data[position:position + 4])
        kind, body = data[position + 4:position + 8], data[position + 8:position + 8 + length]
        crc, = struct.unpack(">I", data[position + 8 + length:position + 12 + length])
        assert crc == zlib.crc32(kind + body)  # every chunk's CRC checks, as libpng requires
        kinds.append(kind)
        position += 12 + length
    assert kinds == [b"IHDR", b"IDAT", b"IEND"]


def test_other_arrays_still_encode_through_pillow():
    wide = (np.arange(64, dtype=np.uint16).reshape(8, 8) * 1000)
    with Image.open(io.BytesIO(png_bytes(wide))) as decoded:
        assert np.array_equal(np.asarray(decoded).astype(np.uint16), wide)


def test_a_published_setting_image_round_trips_and_is_smaller_than_pillows():
    formula = create_formula("fractal")
    settings = formula.RenderSettings(size=128, points=20_000)
    params = formula.sample_category(rng_for(0, "candidate", 3), formula.SearchSettings(fill_rate=0.0, size=64,
                                                                                         points=2000), None)[0]
    image, _ = formula.render_draw(params, 0, rng_for(0, "render", 0, 0), settings, None)
    ours = png_bytes(image)
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(ours))), image)
    pillow = io.BytesIO()
    Image.fromarray(image).save(pillow, format="PNG", compress_level=1)
    assert len(ours) < len(pillow.getvalue())  # no size price for the speed
