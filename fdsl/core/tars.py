"""WebDataset tar shards: deterministic tar bytes, image samples, and reading them back.

Which samples a tar holds is the writer's (``fdsl.write.sinks.TarSink``): tar t holds positions
[t * S, (t + 1) * S) of the producer's sample order.  Images are in *draw-major* order, position
p = ((draw * C + category) * V + view), so consecutive samples are of different categories and every
tar mixes many classes (what a streaming loader's shuffle buffer needs); a tar's content depends only on
(C, D, V, S): any worker count and any ``--shard K/N`` split write the same tars.

Each image is one WebDataset sample: ``{category:05d}/{stem}.png`` (the file
the folder layout holds, under the same relative path) and
``{category:05d}/{stem}.cls`` (the class index, decimal text).  Tar metadata is
fixed (mtime 0, uid/gid 0, mode 0644, no user names, USTAR, members sorted by
name), so equal content gives equal bytes.
"""

from __future__ import annotations

import io
import tarfile
from pathlib import Path, PurePosixPath

from fdsl.core.files import atomic_open

LABEL_EXTENSION = ".cls"
TAR_BLOCK = 512
_END_OF_ARCHIVE = 2 * TAR_BLOCK  # two zero blocks close every tar


def sample_key(category: int, file_name: str) -> str:
    """The WebDataset key of an image: its path in the folder layout without the extension."""
    return f"{category:05d}/{file_name.split('.', 1)[0]}"


def sample_members(category: int, file_name: str, data: bytes) -> list[tuple[str, bytes]]:
    """The two tar members of one image: the file under its own extension, and its class index."""
    key = sample_key(category, file_name)
    extension = file_name[len(file_name.split(".", 1)[0]):]
    return [(key + extension, data), (key + LABEL_EXTENSION, str(category).encode())]


def write_tar(path: Path, members: list[tuple[str, bytes]]) -> None:
    """Write ``members`` (name, bytes) as a tar with fixed metadata, atomically (a temporary name, then a rename)."""
    with atomic_open(path) as handle, tarfile.open(fileobj=handle, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name, data in sorted(members):
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), 0, 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(data))


def tar_index(path: Path) -> list[tuple[str, int, int]]:
    """(member name, data offset, size) of every file in a tar, from its headers only.

    Raises OSError or tarfile.TarError when the tar is unreadable, and EOFError when it
    ends inside a member (e.g. truncated by a copy that was killed).
    """
    with tarfile.open(path, mode="r:") as tar:
        members = [(m.name, m.offset_data, m.size) for m in tar.getmembers() if m.isfile()]
    if members:
        name, offset, size = members[-1]
        end = offset + -(-size // TAR_BLOCK) * TAR_BLOCK + _END_OF_ARCHIVE
        if Path(path).stat().st_size < end:
            raise EOFError(f"{path} ends inside {name}")
    return members


def is_complete_tar(path: Path, expected_names: list[str]) -> bool:
    """Is ``path`` a whole tar holding exactly ``expected_names`` (sorted)?"""
    try:
        return [name for name, _, _ in tar_index(path)] == expected_names
    except (OSError, tarfile.TarError, EOFError):
        return False


def shard_files(folder: Path) -> list[Path]:
    """The tar shards of a folder (temporaries of a running or killed render excluded)."""
    return sorted(p for p in Path(folder).glob("*.tar") if not p.name.startswith("."))


def read_member(path: Path, offset: int, size: int) -> bytes:
    """One member's bytes, by the offset ``tar_index`` gave."""
    with open(path, "rb") as handle:
        handle.seek(offset)
        return handle.read(size)


def split_member(name: str) -> tuple[str, str]:
    """(key, extension) as WebDataset splits a member name: at the first dot of its file name."""
    path = PurePosixPath(name)
    stem, dot, extension = path.name.partition(".")
    key = str(path.parent / stem) if str(path.parent) != "." else stem
    return key, (dot + extension)
