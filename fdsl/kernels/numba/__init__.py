"""Compiled CPU kernels (numba, no fast-math: bit-identical on every machine)."""
