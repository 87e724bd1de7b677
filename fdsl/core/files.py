"""Atomic file writes (a killed process never leaves a truncated file under its final name) and the one lock."""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path

from fdsl.core.png import PNG_SIGNATURE, png_bytes

# png_bytes lives in fdsl/core/png.py; importing it from here keeps working.
__all__ = ["PART_SUFFIX", "PNG_SIGNATURE", "acquire_lock", "atomic_open", "atomic_write_bytes", "folder_lock",
           "published_folder",
           "is_png", "png_bytes", "remove_partial_files", "sync_folder"]

# Temporary files end in ".part": no image loader (ImageFolder included) takes them for data.
PART_SUFFIX = ".part"


@contextlib.contextmanager
def atomic_open(path: Path, durable: bool = False):
    """A binary file handle whose content appears under ``path`` only once the block has finished.

    ``durable``: also on disk before the rename, and the rename itself synced (checkpoints: a power cut
    must not leave a run pointing at a file the disk never got).
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}{PART_SUFFIX}")
    try:
        with open(tmp, "wb") as handle:
            yield handle
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, path)
    if durable:
        sync_folder(path.parent)


def atomic_write_bytes(path: Path, data: bytes, durable: bool = False) -> None:
    with atomic_open(path, durable) as handle:
        handle.write(data)


def sync_folder(folder: Path) -> None:
    """fsync a folder, so that renames inside it survive a crash (where the filesystem allows it)."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass  # some filesystems cannot fsync a directory; the rename is still atomic
    finally:
        os.close(descriptor)


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


# The last 12 bytes of every PNG: the empty IEND chunk (length 0, type, CRC).
PNG_END = b"\x00\x00\x00\x00IEND\xaeB`\x82"


def is_png(path: Path) -> bool:
    """Does ``path`` start with the PNG signature and end with its IEND chunk?  Our writes are atomic, so a PNG we
    wrote is whole; the end catches one cut short by something else (a copy, a full disk, a user's ``head``)."""
    try:
        with open(path, "rb") as handle:  # one open per file: resume and status check every file of a dataset
            if handle.read(len(PNG_SIGNATURE)) != PNG_SIGNATURE:
                return False
            handle.seek(-len(PNG_END), os.SEEK_END)
            return handle.read() == PNG_END
    except OSError:  # shorter than the chunk, or unreadable
        return False


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
    suffix = "-" + part.replace(" ", "-").replace("/", "-of-") if part else ""
    lock = acquire_lock(Path(folder) / f".fdsl-{verb}{suffix}.lock",
                        f"another 'fdsl {verb}'{f' of {part}' if part else ''} is writing to {folder}; wait for it "
                        "to finish (then re-run to resume), or choose another --out")
    from fdsl.core.notes import work_starts

    work_starts()  # the folder is this writer's: its checks passed, the held notes are said before the work
    try:
        yield
    finally:
        lock.release()


def acquire_lock(path: Path, busy: str):
    """The operating system's exclusive lock on ``path`` (a ``filelock.FileLock``, held until ``release()`` or
    the process dies), or a one-line FdslError ``busy`` at once when another process holds it."""
    from filelock import FileLock, Timeout

    from fdsl.core.errors import FdslError

    lock = FileLock(str(path))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise FdslError(busy) from None
    return lock


@contextlib.contextmanager
def published_folder(out: Path, what: str):
    """A hidden staging folder beside ``out`` to write ``what`` (e.g. "the export") into; renamed to ``out`` when
    the block ends, removed (with the parents it made) when it fails or is killed: a refused or interrupted write
    leaves no ``out``.  ``out`` must be absent or an empty folder, below no file: FdslError otherwise."""
    from fdsl.core.errors import FdslError

    out = Path(out)
    if out.exists() or out.is_symlink():
        if not out.is_dir():
            raise FdslError(f"{out} already exists and is not a folder; choose a new --out for {what}")
        if any(out.iterdir()):
            raise FdslError(f"{out} already exists and is not empty; choose a new --out for {what}")
    parent = out.parent
    made = [folder for folder in [parent, *parent.parents] if not folder.exists()][::-1]
    try:
        parent.mkdir(parents=True, exist_ok=True)
        staging = parent / f".{out.name}.{os.getpid()}{PART_SUFFIX}"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir()
    except OSError as exc:
        raise FdslError(f"cannot write to {out} ({exc.strerror or exc}); choose a writable --out") from None
    try:
        yield staging
        sync_folder(staging)
        try:
            if out.is_dir() and not out.is_symlink():
                out.rmdir()  # checked empty at the start; fails if something appeared there since
            os.rename(staging, out)
        except OSError as exc:
            raise FdslError(f"cannot create {out} ({exc.strerror or exc}); choose a new --out for {what}") from None
        sync_folder(parent)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        for folder in reversed(made):  # innermost first, if still empty
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise
