"""Atomic file writes: a killed process never leaves a truncated file under its final name."""

from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path

import numpy as np
from PIL import Image

# Temporary files end in ".part": no image loader (ImageFolder included) takes them for data.
PART_SUFFIX = ".part"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}{PART_SUFFIX}")
    with open(tmp, "wb") as handle:
        handle.write(data)
    os.replace(tmp, path)


def png_bytes(image: np.ndarray, compress_level: int = 1) -> bytes:
    """PNG of a (H, W) grey or (H, W, 3) RGB uint8 array.

    Grey images are stored as 8-bit grey PNGs: ``ImageFolder``'s loader converts
    them to RGB with three equal channels, i.e. exactly the published RGB pixels.
    """
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG", compress_level=compress_level)
    return buffer.getvalue()


def remove_partial_files(folder: Path) -> int:
    """Delete temporaries left by a killed run; returns how many there were."""
    removed = 0
    for tmp in Path(folder).rglob(f"*{PART_SUFFIX}"):
        tmp.unlink(missing_ok=True)
        removed += 1
    return removed


def is_png(path: Path) -> bool:
    """Does ``path`` start with the PNG signature?  (Our writes are atomic, so a PNG we wrote is whole.)"""
    return has_signature(path, PNG_SIGNATURE)


def has_signature(path: Path, signature: bytes) -> bool:
    """Does the file at ``path`` start with ``signature`` (a format's magic bytes)?  False if unreadable."""
    try:
        with open(path, "rb") as handle:
            return handle.read(len(signature)) == signature
    except OSError:
        return False


@contextlib.contextmanager
def folder_lock(folder: Path, verb: str):
    """Hold an exclusive lock on ``folder`` for one writer; a second one gets a one-line FdslError at once.

    The lock is the operating system's (released when the process dies, even by
    kill -9); the small ``.fdsl-<verb>.lock`` file it uses may stay behind, harmlessly.
    """
    from filelock import FileLock, Timeout

    from fdsl.errors import FdslError

    lock = FileLock(str(Path(folder) / f".fdsl-{verb}.lock"))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise FdslError(f"another 'fdsl {verb}' is writing to {folder}; wait for it to finish (then re-run to "
                        "resume), or choose another --out") from None
    try:
        yield
    finally:
        lock.release()
