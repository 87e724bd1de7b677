"""Real data a machine without ``../shared/data`` can still get: CIFAR-10 through torchvision's download.

The download is cached once as an ``.npz`` (images, labels) that ``open_images`` reads like any other.  Its image
order is torchvision's, not the shared ``train.zip``'s, so splits (and results) differ from runs on that file:
the caller says so in one line.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from fdsl.core.errors import FdslError
from fdsl.core.files import atomic_open

CACHE_VARIABLE = "FDSL_CACHE"


def cache_dir() -> Path:
    return Path(os.environ.get(CACHE_VARIABLE) or Path.home() / ".cache" / "fdsl").expanduser()


def cifar10_train() -> Path:
    """The 50,000 CIFAR-10 training images as a cached .npz, downloaded by torchvision the first time."""
    target = cache_dir() / "cifar10-train.npz"
    if target.is_file():
        return target
    import torchvision

    try:
        source = torchvision.datasets.CIFAR10(str(cache_dir() / "torchvision"), train=True, download=True)
    except Exception as exc:  # no network, a proxy, a partial archive: urllib, tarfile and torchvision each raise
        detail = str(exc).splitlines()[0][:100] if str(exc).strip() else exc.__class__.__name__
        raise FdslError(f"CIFAR-10 is not in the shared data folder and torchvision could not download it "
                        f"({detail}); put cifar10/train.zip under --shared DIR or FDSL_SHARED_DATA") from None
    images, labels = np.asarray(source.data, dtype=np.uint8), np.asarray(source.targets, dtype=np.int64)
    if images.shape[1:] != (32, 32, 3) or len(images) != len(labels):
        raise FdslError(f"torchvision's CIFAR-10 has an unexpected shape {images.shape}; delete {cache_dir()}")
    target.parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(target) as handle:
        np.savez(handle, images=images, labels=labels)
    return target
