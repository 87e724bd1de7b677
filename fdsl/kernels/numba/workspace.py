"""Scratch arrays for the IFS kernels, owned here so that formula objects hold no state.

A chain of n points needs x, y and map-choice arrays of n entries, and the
filling-rate count a size x size scratch canvas.  Allocating them per image
would cost more than some renders, so each thread keeps the largest it has
needed and reuses it.  Thread-local, because the kernels release the GIL.
"""

from __future__ import annotations

import threading

import numpy as np

_local = threading.local()


def chain_arrays(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """x, y (float64) and map-choice (int32) arrays of at least n entries; the contents are garbage."""
    arrays = getattr(_local, "chain", None)
    if arrays is None or arrays[0].shape[0] < n:
        arrays = (np.empty(n), np.empty(n), np.empty(n, dtype=np.int32))
        _local.chain = arrays
    return arrays


def mask_scratch(n: int) -> np.ndarray:
    """A uint16 array of at least n entries (one 3x3 patch mask per point); the contents are garbage."""
    masks = getattr(_local, "masks", None)
    if masks is None or masks.shape[0] < n:
        masks = _local.masks = np.empty(n, dtype=np.uint16)
    return masks


def square_scratch(size: int) -> np.ndarray:
    """A (size, size) uint8 array; the contents are garbage."""
    scratch = getattr(_local, "scratch", None)
    if scratch is None:
        scratch = _local.scratch = {}
    if size not in scratch:
        scratch[size] = np.empty((size, size), dtype=np.uint8)
    return scratch[size]


def cloud_scratch(n: int) -> np.ndarray:
    """An (n, 3) float64 array for a 3D chain that is tested and dropped (the search); the contents are garbage."""
    cloud = getattr(_local, "cloud", None)
    if cloud is None or cloud.shape[0] < n:
        cloud = _local.cloud = np.empty((n, 3))
    return cloud[:n]
