"""The one place randomness is derived.

Every random choice in fdsl comes from ``rng_for(seed, *keys)``: a generator
whose stream depends only on the seed and the keys (e.g. category and instance
index), never on which worker, shard, epoch or machine asks for it.  That is
what makes a dataset byte-identical at any ``--workers`` or ``--shard``.
"""

from __future__ import annotations

import zlib

import numpy as np


def _entropy(seed: int, keys: tuple) -> list[int]:
    words = [int(seed)]
    for key in keys:
        if isinstance(key, str):
            # Strings (e.g. "search", a formula name) separate streams; crc32 is stable across runs.
            words.append(zlib.crc32(key.encode()))
        else:
            words.append(int(key))
    if any(w < 0 for w in words):
        raise ValueError(f"seeds and keys must be non-negative integers, got {words}")
    return words


def rng_for(seed: int, *keys) -> np.random.Generator:
    """A NumPy Generator for the stream named by (seed, *keys)."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(_entropy(seed, keys))))


def kernel_key(seed: int, *keys) -> int:
    """A 64-bit key for the counter-based generators inside compiled kernels."""
    state = np.random.SeedSequence(_entropy(seed, keys)).generate_state(2, np.uint32)
    return int(state[0]) | (int(state[1]) << 32)
