"""Formula families, registered by name: ``create_formula("fractal")``.

One module per family; families that share a renderer live in a subpackage
with their common base (``ifs/``: FractalDB, OFDB, 1p-frac; ``contour/``:
RCDB, VisualAtom).
"""

from fdsl.formulas.base import (Formula, Settings, create_formula, formula_info, formula_names, list_formulas, option,
                                register)
from fdsl.formulas import bezier, contour, ifs, ifs3d, perlin  # noqa: F401,E402  (register the families)

__all__ = ["Formula", "Settings", "create_formula", "formula_info", "formula_names", "list_formulas", "option", "register"]
