"""The radial-contour families: RCDB, SegRCDB and VisualAtom on one base (``base.py``)."""

from fdsl.formulas.contour import rcdb, segrcdb, visual_atom  # noqa: F401  (register the families)
