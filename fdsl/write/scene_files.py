"""A scene's files, byte-identical for the same scene: JSON layout, ``_pc.npz``, ``_bbox.npy``, ``_votes.npz``.

``numpy.savez`` stamps each member with the current time, so the same arrays
would give different bytes at every run: the archives are written here with
a fixed timestamp (and stored, not deflated: the float data barely compresses).
``numpy.load`` reads them as any ``.npz``.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np

from fdsl.core.files import has_signature
from fdsl.formulas.scenes.assemble import Scene

FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip entry can hold
SIGNATURES = {".json": b"{", ".npz": b"PK\x03\x04", ".npy": b"\x93NUMPY"}


def npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.ascontiguousarray(array), allow_pickle=False)
    return buffer.getvalue()


def npz_bytes(arrays: dict) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, array in arrays.items():
            archive.writestr(zipfile.ZipInfo(f"{name}.npy", date_time=FIXED_TIME), npy_bytes(array))
    return buffer.getvalue()


def json_bytes(record: dict) -> bytes:
    return (json.dumps(record, indent=1) + "\n").encode()


def scene_names(index: int, layout_only: bool) -> list[str]:
    stem = f"scene_{index:05d}"
    data = [] if layout_only else [f"{stem}_pc.npz", f"{stem}_bbox.npy", f"{stem}_votes.npz"]
    return data + [f"{stem}.json"]  # the layout last: it marks a scene whose data is all written


def scene_files(index: int, record: dict, scene: Scene | None) -> list[tuple[str, bytes]]:
    """(file name, bytes) of one scene; without ``scene`` (layout only) just the JSON."""
    data = []
    if scene is not None:
        data = [npz_bytes({"pc": scene.points, "instance_label": scene.instance, "semantic_label": scene.semantic}),
                npy_bytes(scene.boxes), npz_bytes({"point_votes": scene.votes})]
    return list(zip(scene_names(index, scene is None), data + [json_bytes(record)]))


def is_complete(path: Path) -> bool:
    return has_signature(path, SIGNATURES[Path(path).suffix])
