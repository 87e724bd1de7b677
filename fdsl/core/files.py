"""Atomic file writes: a killed process never leaves a truncated file under its final name."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from fdsl.core.png import PNG_SIGNATURE, png_bytes

# png_bytes lives in fdsl/png.py; importing it from here keeps working.
__all__ = ["PART_SUFFIX", "PNG_SIGNATURE", "atomic_open", "atomic_write_bytes", "folder_lock", "is_png", "png_bytes",
           "remove_partial_files"]

# Temporary files end in ".part": no image loader (ImageFolder included) takes them for data.
PART_SUFFIX = ".part"


@contextlib.contextmanager
def atomic_open(path: Path):
    """A binary file handle whose content appears under ``path`` only once the block has finished."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}{PART_SUFFIX}")
    try:
        with open(tmp, "wb") as handle:
            yield handle
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, path)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    with atomic_open(path) as handle:
        handle.write(data)


def remove_partial_files(folder: Path, owns=None) -> int:
    """Delete temporaries left by a killed run; returns how many there were.

    ``owns(relative path of the final file)`` limits this to one writer's files, so that
    writers sharing a folder (the shards of one split) never delete each other's temporaries.
    """
    folder, removed = Path(folder), 0
    for tmp in folder.rglob(f"*{PART_SUFFIX}"):
        final = tmp.parent / tmp.name[1:].rsplit(".", 2)[0]  # ".{name}.{pid}.part" -> name
        if owns is None or owns(final.relative_to(folder).as_posix()):
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
def folder_lock(folder: Path, verb: str, part: str = ""):
    """Hold an exclusive lock on ``folder`` (or on one ``part`` of its work, e.g. "shard 1/4") for one writer;
    a second one gets a one-line FdslError at once.

    The lock is the operating system's (released when the process dies, even by
    kill -9); the small ``.fdsl-<verb>[-<part>].lock`` file it uses may stay behind, harmlessly.
    """
    from filelock import FileLock, Timeout

    from fdsl.core.errors import FdslError

    suffix = "-" + part.replace(" ", "-").replace("/", "-of-") if part else ""
    lock = FileLock(str(Path(folder) / f".fdsl-{verb}{suffix}.lock"))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise FdslError(f"another 'fdsl {verb}'{f' of {part}' if part else ''} is writing to {folder}; wait for it "
                        "to finish (then re-run to resume), or choose another --out") from None
    try:
        yield
    finally:
        lock.release()
