"""fdsl: Formula-Driven Supervised Learning.

Formulas turn a seed into categories (parameter sets) and each category into
images; the rest of the package moves those images to disk or into a model.
"""

__version__ = "0.1.0"
