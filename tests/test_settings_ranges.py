"""Every bound a family's settings declare (``option(within=..., choices=...)``) is enforced by ``validate``.

A family whose ``validate`` forgot ``super().validate()`` would silently accept any value of its declared
ranges; this walks every registered family's search and render settings and tries just past each bound.
"""

import dataclasses
import math

import pytest

from fdsl.core.errors import FdslError
from fdsl.formulas.base import create_formula, formula_names


def _settings_classes():
    for name in formula_names():
        formula = create_formula(name)
        for kind in ("SearchSettings", "RenderSettings"):
            cls = getattr(formula, kind, None)
            if cls is not None:
                yield pytest.param(cls, id=f"{name}-{kind}")


def _outside(span, kind):
    """Values just past each end of a range (NaN too, for floats)."""
    step = 1 if kind is int else 1e-9 * max(1.0, abs(span.high), abs(span.low))
    values = [span.low if span.open_low else span.low - step, span.high if span.open_high else span.high + step]
    if kind is float:
        values.append(math.nan)
    return [kind(v) if kind is int else float(v) for v in values]


@pytest.mark.parametrize("cls", list(dict.fromkeys(_settings_classes(), None)))
def test_declared_bounds_are_enforced(cls):
    defaults = cls()
    defaults.validate()  # the defaults are inside every bound
    checked = 0
    for field in dataclasses.fields(cls):
        span, choices = field.metadata.get("within"), field.metadata.get("choices")
        flag = f"--{field.name.replace('_', '-')}"
        if span is not None:
            assert span.holds(getattr(defaults, field.name)), f"{cls.__name__}.{field.name}: default out of range"
            for value in _outside(span, type(field.default)):
                with pytest.raises(FdslError, match=f"^{flag} must be"):
                    dataclasses.replace(defaults, **{field.name: value}).validate()
                checked += 1
        if choices is not None:
            with pytest.raises(FdslError, match=f"^{flag} must be one of"):
                dataclasses.replace(defaults, **{field.name: "no-such-choice"}).validate()
            checked += 1
    assert checked or not any(f.metadata.get("within") or f.metadata.get("choices") for f in dataclasses.fields(cls))


def test_range_descriptions_read_as_written():
    from fdsl.formulas.base import between

    assert between(1, 1000).describe() == "between 1 and 1000"
    assert between(16, 8192, unit="pixels").describe() == "between 16 and 8192 pixels"
    assert between(0.0, 1.0, open_high=True).describe() == "in [0, 1)"
    assert between(0, 10, open_low=True).describe() == "in (0, 10]"
    assert not between(0.0, 1.0).holds(math.nan)
