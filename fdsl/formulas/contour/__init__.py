"""The radial-contour families: RCDB and VisualAtom on one base (``base.py``)."""

from fdsl.formulas.contour import rcdb, visual_atom  # noqa: F401  (register the families)
