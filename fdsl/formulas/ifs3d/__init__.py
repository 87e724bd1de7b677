"""The 3D IFS families: MV-FractalDB / ExFractalDB (``fractal3d``) and PC-FractalDB (``pc-fractal``) on one
base (``base.py``: variance search, clouds, camera views, PLY files), their maths (``systems.py``) and the
published camera (``camera.py``).  Scenes of PC-FractalDB objects are ``fdsl.scenes``."""

from fdsl.formulas.ifs3d import fractal3d, pc_fractal  # noqa: F401  (register the families)
