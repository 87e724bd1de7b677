"""Counter-based randomness for compiled kernels: the value for (key, counter) never depends on
what was drawn before, so kernels can consume random numbers in any order, on any worker."""

from __future__ import annotations

import numpy as np
from numba import njit

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_TO_UNIT = 1.0 / 9007199254740992.0  # 2**-53


@njit(inline="always")
def mix64(key, counter):
    """SplitMix64 finaliser of key + (counter + 1) * golden: a counter-based 64-bit hash."""
    z = key + (np.uint64(counter) + np.uint64(1)) * _GOLDEN
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@njit(inline="always")
def uniform01(key, counter):
    """A float64 in [0, 1) from (key, counter)."""
    return float(mix64(key, counter) >> _S11) * _TO_UNIT
