"""Formula families, registered by name: ``create_formula("fractal")``."""

from fdsl.formulas.base import Formula, Settings, create_formula, formula_names, option, register
from fdsl.formulas import fractal  # noqa: F401  (registers the family)
from fdsl.formulas import bezier, ofdb, onepfrac, perlin, rcdb, visual_atom  # noqa: F401,E402  (the other families)

__all__ = ["Formula", "Settings", "create_formula", "formula_names", "option", "register"]
