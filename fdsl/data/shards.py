"""A folder of WebDataset tar shards as a labelled, indexable dataset (``pretrain --images SHARDS/``).

The training engine orders, splits and seeds samples by index, so the shards
are read in place by random access: the tar headers give each member's offset
once, and an image is one seek and one read.  The classes are the samples'
folders (``{category:05d}/`` in the keys ``fdsl render --format webdataset``
writes), so a shard folder and the ImageFolder tree of the same render give the
same classes, targets and images.  Keys without a folder take their ``.cls``
text as the class name.  A streaming pipeline over the same shards, for
training loops of one's own, is ``fdsl.webdataset_pipeline``.
"""

from __future__ import annotations

import hashlib
import io
import tarfile
from pathlib import Path, PurePosixPath

import numpy as np
from PIL import Image

from fdsl.catalog.params import read_manifest
from fdsl.core.errors import FdslError
from fdsl.core.imagefiles import IMAGE_SUFFIXES
from fdsl.data.labelled import LabelledImages
from fdsl.core.tars import LABEL_EXTENSION, read_member, shard_files, split_member, tar_index


def _check_render_finished(folder: Path) -> None:
    """A render split into shards is usable once every shard of its split has finished."""
    manifests = [read_manifest(folder, p.name) for p in sorted(folder.glob("manifest-shard-*.json"))]
    manifests = [m for m in manifests if m and m.get("kind") == "dataset"]
    if not manifests:
        return
    count = int(manifests[0]["shard"].split("/")[1])
    finished = {m["shard"] for m in manifests if m.get("complete")}
    unfinished = [f"{k}/{count}" for k in range(count) if f"{k}/{count}" not in finished]
    if unfinished:
        raise FdslError(f"the render in {folder} is incomplete: shard(s) {', '.join(unfinished[:5])} not finished "
                        f"('fdsl status {folder}' says what is missing); finish them, then pre-train")


class ShardImages(LabelledImages):
    """Every sample (an image member, and its ``.cls``) of the tar shards in ``folder``."""

    def __init__(self, folder: Path):
        self.root = Path(folder)
        _check_render_finished(self.root)
        samples, labels = [], {}
        digest = hashlib.sha256()
        for path in shard_files(self.root):
            try:
                members = tar_index(path)
            except (OSError, tarfile.TarError, EOFError) as exc:
                raise FdslError(f"cannot read {path} as a whole tar ({exc.__class__.__name__}); if a render was "
                                "killed, re-run it (it rewrites damaged shards), or remove that file") from None
            for name, offset, size in members:
                key, extension = split_member(name)
                if extension == LABEL_EXTENSION:
                    labels[(path, key)] = (offset, size)
                elif extension.lower() in IMAGE_SUFFIXES:
                    samples.append((path, key, name, offset, size))
                digest.update(f"{path.name}:{name}:{size}\n".encode())
        if not samples:
            raise FdslError(f"{folder} holds no image samples in its .tar shards; give a folder written by "
                            "'fdsl render --format webdataset'")
        names = [self._class_name(path, key, labels) for path, key, *_ in samples]
        self.classes = sorted(set(names))
        index = {name: i for i, name in enumerate(self.classes)}
        self.targets = np.array([index[name] for name in names], dtype=np.int64)
        self.samples = [(path, name, offset, size) for path, _, name, offset, size in samples]
        self.fingerprint = digest.hexdigest()[:16]

    @staticmethod
    def _class_name(path: Path, key: str, labels: dict) -> str:
        folder = str(PurePosixPath(key).parent)
        if folder != ".":
            return folder
        if (path, key) not in labels:
            raise FdslError(f"{path}: sample {key} has neither a class folder in its key nor a .cls member")
        return read_member(path, *labels[(path, key)]).decode().strip()

    def load(self, index):
        path, _, offset, size = self.samples[index]
        with Image.open(io.BytesIO(read_member(path, offset, size))) as image:
            image.load()
            return image

    def describe(self):
        return str(self.root)

    def item_name(self, index):
        path, name, _, _ = self.samples[index]
        return f"{path}:{name}"
