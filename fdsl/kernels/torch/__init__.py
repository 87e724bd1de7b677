"""Batched PyTorch kernels (CUDA or CPU).  Importing this package needs torch; nothing else in fdsl's core does."""
