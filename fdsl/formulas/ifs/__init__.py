"""The 2D IFS families: FractalDB, OFDB and 1p-frac on one base (``base.py``), their shared maths
(``maps.py``) and FractalDB's batched torch renderer (``torch_renderer.py``, imported only when asked for)."""

from fdsl.formulas.ifs import fractal, ofdb, onepfrac  # noqa: F401  (register the families)
