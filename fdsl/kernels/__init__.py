"""Hot loops only: compiled array kernels that know nothing about formulas or files."""
