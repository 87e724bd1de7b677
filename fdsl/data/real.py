"""Real labelled images for fine-tuning and evaluation, from whatever form they come in.

``open_images(spec)`` accepts an ImageFolder directory, a folder of WebDataset tar shards, a zip of one (e.g. the
CIFAR-10 ``train.zip``, read in place), an ``.npz`` with ``images`` and ``labels``
arrays (e.g. Omniglot), or ``sklearn-digits`` (the 1,797 handwritten digits that
ship with scikit-learn).  Every source gives items (PIL RGB image, class index),
``classes``, ``targets`` (without decoding) and a ``fingerprint`` of its content.
``split`` carves a stratified train/validation split with a fixed seed.
"""

from __future__ import annotations

import hashlib
import io
import os
import zipfile
from pathlib import Path, PurePosixPath

import numpy as np
import torch
import torchvision
from PIL import Image

from fdsl.core.errors import FdslError
from fdsl.core.imagefiles import IMAGE_SUFFIXES, is_image_file
from fdsl.core.notes import note
from fdsl.core.seeding import rng_for
from fdsl.data.labelled import LabelledImages

BUILTIN = ("sklearn-digits",)


def _check_classes(classes: list, where: str) -> None:
    if not classes:
        raise FdslError(f"{where} holds no images in class folders (expected CLASS/IMAGE.jpg ...); "
                        "point --data at an ImageFolder tree, a zip of one, or an .npz")


class FolderImages(LabelledImages, torchvision.datasets.ImageFolder):
    """torchvision's ImageFolder (ROOT/CLASS/IMAGE) with fdsl's one list of image types and its error contract.

    Hidden folders (a writer's lock or partial files) are not classes; a class folder with no image is kept as
    a class (so indices match the folder names) as long as some class has images.
    """

    def __init__(self, root: Path, transform=None):
        self.root = Path(root)
        torchvision.datasets.ImageFolder.__init__(self, str(self.root), transform=transform,
                                                  is_valid_file=is_image_file, allow_empty=True)
        self.root = Path(root)  # torchvision keeps it as a string
        _check_classes(sorted({self.classes[t] for t in self.targets}), str(root))
        self.files = [Path(path) for path, _ in self.samples]
        self.targets = np.array(self.targets, dtype=np.int64)
        digest = hashlib.sha256()
        for path in self.files:
            digest.update(f"{path.relative_to(self.root)}:{path.stat().st_size}\n".encode())
        self.fingerprint = digest.hexdigest()[:16]

    def find_classes(self, directory: str):
        classes = sorted(entry.name for entry in os.scandir(directory) if entry.is_dir()
                         and not entry.name.startswith("."))
        _check_classes(classes, str(directory))
        return classes, {name: index for index, name in enumerate(classes)}

    def load(self, index):
        with Image.open(self.files[index]) as image:
            image.load()
            return image

    def describe(self):
        return str(self.root)

    def item_name(self, index):
        return str(self.files[index])


class ZipImages(LabelledImages):
    """An ImageFolder tree inside a zip, read in place; the class folder is each image's parent."""

    def __init__(self, path: Path):
        self.path = Path(path)
        try:
            with zipfile.ZipFile(self.path) as archive:
                infos = [i for i in archive.infolist() if not i.is_dir()
                         and PurePosixPath(i.filename).suffix.lower() in IMAGE_SUFFIXES
                         and not PurePosixPath(i.filename).name.startswith(".")]
        except (zipfile.BadZipFile, OSError) as exc:
            raise FdslError(f"cannot read {path} as a zip ({exc.__class__.__name__}); give an intact zip of an "
                            "ImageFolder tree") from None
        infos = [i for i in infos if len(PurePosixPath(i.filename).parts) >= 2]
        infos.sort(key=lambda i: i.filename)
        parents = [str(PurePosixPath(i.filename).parent) for i in infos]
        classes = sorted({PurePosixPath(p).name for p in parents})
        _check_classes(classes, str(path))
        if len(set(parents)) != len(classes):
            raise FdslError(f"{path}: two class folders share a name at different depths; "
                            "zip a single ImageFolder tree")
        index = {name: i for i, name in enumerate(classes)}
        self.classes = classes
        self.members = [i.filename for i in infos]
        self.targets = np.array([index[PurePosixPath(p).name] for p in parents], dtype=np.int64)
        digest = hashlib.sha256()
        for info in infos:
            digest.update(f"{info.filename}:{info.CRC}:{info.file_size}\n".encode())
        self.fingerprint = digest.hexdigest()[:16]
        self._archive, self._pid = None, None

    def __getstate__(self):
        state = super().__getstate__()
        state["_archive"] = None  # each worker process opens its own handle
        return state

    def load(self, index):
        if self._archive is None or self._pid != os.getpid():
            self._archive, self._pid = zipfile.ZipFile(self.path), os.getpid()
        with Image.open(io.BytesIO(self._archive.read(self.members[index]))) as image:
            image.load()
            return image

    def describe(self):
        return str(self.path)

    def item_name(self, index):
        return f"{self.members[index]} in {self.path}"


class ArrayImages(LabelledImages):
    """Images held in memory: uint8 (N, H, W) or (N, H, W, 3) with integer labels."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, classes: list, fingerprint: str, name: str):
        if len(images) == 0:
            raise FdslError(f"{name} holds no images")
        if len(images) != len(labels):
            raise FdslError(f"{name}: {len(images)} images but {len(labels)} labels")
        if not (images.ndim == 3 or (images.ndim == 4 and images.shape[-1] == 3)):
            # e.g. flattened (N, H*W) rows: each would become a 1-pixel-high image, and training would "work"
            raise FdslError(f"{name}: images must be an N x H x W (grey) or N x H x W x 3 (RGB) array, got shape "
                            f"{tuple(images.shape)}; reshape them before saving")
        self.images, self.targets = images, np.asarray(labels, dtype=np.int64)
        self.classes, self.fingerprint, self.name = classes, fingerprint, name
        self.keep_decoded = images.ndim == 3  # RGB arrays load as they are; grey ones are converted once

    def load(self, index):
        return Image.fromarray(self.images[index])

    def describe(self):
        return self.name


def _npz_images(path: Path) -> ArrayImages:
    try:
        with np.load(path) as data:
            images, labels = data["images"], data["labels"]
    except KeyError:
        raise FdslError(f"{path} needs two arrays named 'images' and 'labels'") from None
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise FdslError(f"cannot read {path} as .npz ({exc.__class__.__name__})") from None
    if labels.ndim > 1 and images.shape[:labels.ndim] == labels.shape:
        # e.g. Omniglot's (characters, drawings, H, W) with (characters, drawings) labels
        images = images.reshape(labels.size, *images.shape[labels.ndim:])
        labels = labels.reshape(-1)
    if images.dtype == bool:
        # Omniglot's convention: True = white background, False = ink.
        images = np.where(images, 255, 0).astype(np.uint8)
    elif images.dtype != np.uint8:
        raise FdslError(f"{path}: images must be uint8 or bool, got {images.dtype}")
    if labels.dtype.kind not in "iub" and not (labels.dtype.kind == "f" and np.all(np.isfinite(labels))
                                              and np.all(labels == np.round(labels))):
        raise FdslError(f"{path}: 'labels' must be integer class indices, got {labels.dtype} values")
    labels = np.asarray(labels, dtype=np.int64)
    if labels.ndim != 1:
        raise FdslError(f"{path}: 'labels' must be one index per image, got shape {labels.shape}")
    if labels.size and labels.min() < 0:
        raise FdslError(f"{path}: labels must be >= 0")
    count = int(labels.max()) + 1 if labels.size else 0
    empty = np.setdiff1d(np.arange(count), labels)
    if empty.size:  # class i is label i: a gap in the labels is a class with no image, trained as one
        shown = ", ".join(map(str, empty[:5])) + (", ..." if empty.size > 5 else "")
        note(f"{path}: labels run 0..{count - 1} and {empty.size} of those classes have no image ({shown}); they "
             "stay classes of the model (renumber the labels 0..N-1 to drop them)")
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]
    return ArrayImages(images, labels, [str(i) for i in range(count)], digest, str(path))


def _sklearn_digits() -> ArrayImages:
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise FdslError("sklearn-digits needs scikit-learn: pip install scikit-learn") from None
    import sklearn

    digits = load_digits()
    # 8x8 images with values 0..16, ink bright: scale to 0..255.
    images = np.round(digits.images * (255 / 16)).astype(np.uint8)
    return ArrayImages(images, digits.target, [str(i) for i in range(10)], f"sklearn-{sklearn.__version__}",
                       "sklearn-digits")


def open_images(spec: str, transform=None, transforms=None, target_transform=None) -> LabelledImages:
    """An ImageFolder directory, a zip of one, an .npz, or a built-in name (``sklearn-digits``).

    The transforms follow torchvision's VisionDataset: ``transform`` of each RGB image, ``target_transform`` of
    its class index, or one joint ``transforms(image, target)``.
    """
    return _open(spec).set_transforms(transforms=transforms, transform=transform, target_transform=target_transform)


def _open(spec: str) -> LabelledImages:
    if spec in BUILTIN:
        return _sklearn_digits()
    path = Path(spec)
    if not path.exists():
        raise FdslError(f"dataset {spec} not found; give an ImageFolder directory, a .zip of one, an .npz, "
                        f"or one of: {', '.join(BUILTIN)}")
    if path.is_dir():
        from fdsl.data.shards import ShardImages  # a folder of tar shards: fdsl render --format webdataset
        from fdsl.core.tars import shard_files

        return ShardImages(path) if shard_files(path) else FolderImages(path)
    if path.suffix.lower() == ".npz":
        return _npz_images(path)
    if path.suffix.lower() == ".zip" or zipfile.is_zipfile(path):
        return ZipImages(path)
    raise FdslError(f"{spec} is neither a folder, a .zip nor an .npz")


class Subset(torch.utils.data.Dataset):
    """Some items of a labelled dataset, optionally with the class indices renumbered."""

    def __init__(self, base: LabelledImages, indices, classes=None, relabel=None):
        self.base, self.indices = base, np.asarray(indices, dtype=np.int64)
        self.classes = classes if classes is not None else base.classes
        self.relabel = relabel
        targets = base.targets[self.indices]
        self.targets = relabel[targets] if relabel is not None else targets
        self.fingerprint = base.fingerprint

    def __len__(self):
        return len(self.indices)

    def __getitem__(self, index):
        image, _ = self.base[int(self.indices[index])]
        return image, int(self.targets[index])


def keep_classes(dataset: LabelledImages, count: int | None) -> LabelledImages | Subset:
    """The first ``count`` classes only (e.g. 100 of Omniglot's 964), renumbered 0..count-1."""
    if count is None:
        return dataset
    if count < 1:
        raise FdslError(f"--max-classes must be at least 1, got {count}")
    if count >= len(dataset.classes):
        return dataset
    indices = np.flatnonzero(dataset.targets < count)
    return Subset(dataset, indices, classes=dataset.classes[:count])


def split(dataset, val_fraction: float, seed: int, train_limit: int | None = None):
    """Stratified (train, val) with a fixed seed: each class gives round(fraction * n) images to val.

    ``train_limit`` keeps a fixed, class-balanced subset of the training part.
    """
    if not (0.0 < val_fraction < 1.0):
        raise FdslError(f"--val-fraction must be strictly between 0 and 1, got {val_fraction}")
    targets = np.asarray(dataset.targets)
    rng = rng_for(seed, "split")
    train, val = [], []
    for label in np.unique(targets):
        members = rng.permutation(np.flatnonzero(targets == label))
        cut = max(1, int(round(val_fraction * len(members)))) if len(members) > 1 else 0
        val.extend(members[:cut])
        train.extend(members[cut:])
    train = np.array(sorted(train), dtype=np.int64)
    if train_limit is not None:
        check_train_images(train_limit, len(train), "after the validation split")
        train = balanced_subset(targets, train, train_limit, seed)
    val = np.array(sorted(val), dtype=np.int64)
    if len(train) == 0 or len(val) == 0:
        raise FdslError(f"the split left {len(train)} training and {len(val)} validation images; "
                        "the dataset is too small for --val-fraction")
    return take(dataset, train), take(dataset, val)


def three_way_split(dataset, heldout: float, val: float, seed: int):
    """Stratified (train pool, validation, held-out) index arrays with a fixed seed.

    ``heldout`` and ``val`` are fractions of each class (< 1) or image counts (>= 1, spread over the
    classes in proportion).  The held-out part is carved first, from its own stream, so that it stays
    the same whatever validation size is chosen later: it is the split no choice is ever made on.
    """
    targets = np.asarray(dataset.targets)
    total = len(targets)
    fractions = [amount / total if amount >= 1 else amount for amount in (heldout, val)]
    if not (0 < fractions[0] < 1 and 0 < fractions[1] < 1 and sum(fractions) < 1):
        raise FdslError(f"held-out ({heldout}) and validation ({val}) must each be a fraction in (0, 1) or a count, "
                        f"and leave training images among the {total}")
    parts = ([], [], [])
    for label in np.unique(targets):
        members = rng_for(seed, "three-way-split", int(label)).permutation(np.flatnonzero(targets == label))
        cut_heldout = int(round(fractions[0] * len(members)))
        cut_val = cut_heldout + int(round(fractions[1] * len(members)))
        for part, chosen in zip(parts, (members[cut_val:], members[cut_heldout:cut_val], members[:cut_heldout])):
            part.extend(chosen)
    train, val_part, heldout_part = (np.array(sorted(part), dtype=np.int64) for part in parts)
    if min(len(train), len(val_part), len(heldout_part)) == 0:
        raise FdslError(f"the split left {len(train)} training, {len(val_part)} validation and {len(heldout_part)} "
                        "held-out images; the dataset is too small for these sizes")
    return train, val_part, heldout_part


def check_train_images(limit: int, available: int, where: str) -> None:
    """``--train-images`` asks for a subset: more images than there are is a mistake, not a request for all."""
    if limit > available:
        raise FdslError(f"--train-images {limit} is more than the {available} training images {where}; "
                        f"give at most {available}")


def balanced_subset(targets: np.ndarray, candidates: np.ndarray, limit: int, seed: int) -> np.ndarray:
    """``limit`` of ``candidates``, drawn class by class in round-robin (a fixed, balanced subset)."""
    if limit < 1:
        raise FdslError(f"--train-images must be at least 1, got {limit}")
    if limit >= len(candidates):
        return candidates
    rng = rng_for(seed, "subset")
    per_class = [rng.permutation(candidates[targets[candidates] == c]) for c in np.unique(targets[candidates])]
    chosen, depth = [], 0
    while len(chosen) < limit:
        for members in per_class:
            if depth < len(members) and len(chosen) < limit:
                chosen.append(members[depth])
        depth += 1
    return np.array(sorted(chosen), dtype=np.int64)


def take(dataset, indices):
    """Items ``indices`` of a dataset or of a Subset (flattened to one level)."""
    if isinstance(dataset, Subset):
        return Subset(dataset.base, dataset.indices[indices], classes=dataset.classes, relabel=dataset.relabel)
    return Subset(dataset, indices)


def check_same_classes(train, val, where: str) -> None:
    if list(train.classes) != list(val.classes):
        raise FdslError(f"{where}: the validation classes differ from the training classes "
                        f"({len(val.classes)} vs {len(train.classes)}); give both the same class folders")
