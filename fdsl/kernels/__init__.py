"""Hot loops only, by backend: ``numba/`` (compiled CPU kernels) and ``torch/`` (batched, CPU or CUDA).

Arrays in, arrays out: nothing here knows about formulas, files or processes.
"""
