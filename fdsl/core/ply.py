"""Point clouds as PLY files (via plyfile): binary little endian, float32 x, y, z, nothing else in the header.

The header holds no comment, date or tool name, so the same cloud is always the
same bytes.  open3d (the published writer) stores doubles; the clouds are
normalised to [-1, 1], where float32 keeps 7 significant digits, and half the size
is what VoteNet-style loaders read anyway (they work in float32).
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from fdsl.core.errors import FdslError
from fdsl.core.files import has_signature

PLY_SIGNATURE = b"ply\n"
VERTEX = np.dtype([("x", "<f4"), ("y", "<f4"), ("z", "<f4")])


def ply_bytes(points: np.ndarray) -> bytes:
    """The PLY file of an (n, 3) cloud."""
    from plyfile import PlyData, PlyElement

    vertices = np.empty(len(points), dtype=VERTEX)
    vertices["x"], vertices["y"], vertices["z"] = points[:, 0], points[:, 1], points[:, 2]
    buffer = io.BytesIO()
    PlyData([PlyElement.describe(vertices, "vertex")], text=False, byte_order="<").write(buffer)
    return buffer.getvalue()


def read_ply(path: Path) -> np.ndarray:
    """The (n, 3) float32 vertices of a PLY file (any PLY with x, y, z vertex properties)."""
    from plyfile import PlyData, PlyParseError

    try:
        vertex = PlyData.read(str(path))["vertex"].data
        return np.column_stack([vertex["x"], vertex["y"], vertex["z"]]).astype(np.float32)
    except (OSError, KeyError, ValueError, PlyParseError) as exc:
        raise FdslError(f"cannot read point cloud {path}: {exc}") from None


def is_ply(path: Path) -> bool:
    """Does ``path`` start with the PLY signature?  (Our writes are atomic, so a PLY we wrote is whole.)"""
    return has_signature(path, PLY_SIGNATURE)
