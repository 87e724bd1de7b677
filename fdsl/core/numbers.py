"""The one checker of numbers a user gives: parsed finite, held within a declared range, said in one line.

Every numeric command-line option's ``type`` is a ``Number`` (a test walks every parser and refuses a bare
``int`` or ``float``), and every dataclass of settings, training values or experiment plans declares its
ranges with ``within=between(...)`` and checks them with ``check_fields``.  So a new option cannot skip the
checks: NaN, infinities, 1e999, "3.5" for a count and values out of range are refused before any work starts,
and the same value given in a file (``--config``, ``--render KEY=VALUE``, a parameter CSV) is read the same way.
"""

from __future__ import annotations

import argparse
import dataclasses
import math

from fdsl.core.errors import FdslError


def finite_number(text, kind: type):
    """An int or float from text, finite; "3.0" and "3e2" name integers too.  A ValueError says what is wrong."""
    if kind is int:
        try:
            return int(str(text).strip())  # exact, even above 2**53 (e.g. a 63-bit table key)
        except ValueError:
            pass  # "3.0" or "3e2" still name an integer: checked below
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise ValueError("is not a number") from None
    if not math.isfinite(value):
        raise ValueError("is NaN or infinite; it must be finite")
    if kind is int:
        if value != int(value):
            raise ValueError(f"must be an integer, got {str(text).strip()}")
        return int(value)
    return value


@dataclasses.dataclass(frozen=True)
class Range:
    """The values a number may take; ``check_fields`` checks every dataclass field that declares one."""

    low: float
    high: float
    open_low: bool = False
    open_high: bool = False
    unit: str = ""  # "pixels": read after the bounds
    why: str = ""  # the reason for a bound, said in the error
    said: str = ""  # the bounds in words where the numbers would not read ("between 0 and 2**63 - 1")

    def holds(self, value) -> bool:
        # Written so that NaN fails every comparison and so fails the check; an infinite float fails too, even
        # against an open-ended range (at_least(1) holds every finite number from 1 up, never inf).
        if isinstance(value, float) and math.isinf(value):
            return False
        above = value > self.low if self.open_low else value >= self.low
        below = value < self.high if self.open_high else value <= self.high
        return bool(above and below)

    def describe(self) -> str:
        unit = f" {self.unit}" if self.unit else ""
        if self.said:
            return self.said
        if math.isinf(self.high):  # bounded below only: "at least 1", "above 0"
            return f"{'above' if self.open_low else 'at least'} {_bound(self.low)}{unit}"
        # Integer bounds read as a count ("between 1 and 1000"), float bounds as an interval ("in [0, 1)").
        if not (self.open_low or self.open_high) and all(isinstance(b, int) for b in (self.low, self.high)):
            return f"between {_bound(self.low)} and {_bound(self.high)}{unit}"
        return (f"in {'(' if self.open_low else '['}{_bound(self.low)}, {_bound(self.high)}"
                f"{')' if self.open_high else ']'}{unit}")

    def refusal(self, value) -> str:
        why = f" ({self.why})" if self.why else ""
        return f"must be {self.describe()}{why}, got {value}"


def _bound(value: float) -> str:
    return f"{int(value)}" if float(value).is_integer() else f"{value:g}"


def between(low: float, high: float, **how) -> Range:
    """``within=between(1, 1000)``: both ends allowed unless ``open_low``/``open_high``."""
    return Range(low, high, **how)


def at_least(low: float, **how) -> Range:
    """``within=at_least(1)``: a count or size with no upper bound of its own."""
    return Range(low, math.inf, **how)


def positive(**how) -> Range:
    return Range(0, math.inf, open_low=True, **how)


class Number:
    """The argparse ``type`` of every numeric option: ``Number(int, at_least(1))``, ``Number(float, between(0, 1))``.

    ``None`` as the range means "any finite number of this kind".  Errors are argparse's one line and exit 2.
    """

    def __init__(self, kind: type, within: Range | None = None):
        if kind not in (int, float):
            raise TypeError(f"Number takes int or float, not {kind!r}")
        self.kind, self.within = kind, within
        self.__name__ = kind.__name__  # argparse names the type in some of its messages

    def __call__(self, text: str):
        try:
            value = finite_number(text, self.kind)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(f"'{text}' {exc}") from None
        if self.within is not None and not self.within.holds(value):
            raise argparse.ArgumentTypeError(self.within.refusal(value))
        return value

    def __repr__(self) -> str:
        return f"Number({self.kind.__name__}, {self.within})"


def check_fields(values, flag=lambda name: "--" + name.replace("_", "-")) -> None:
    """FdslError for the first field of the dataclass ``values`` outside its declared ``choices`` or ``within``:
    the check behind ``Settings.validate``, ``TrainConfig.validate`` and an experiment plan's."""
    for field in dataclasses.fields(values):
        span, choices = field.metadata.get("within"), field.metadata.get("choices")
        value = getattr(values, field.name)
        if value is None:
            continue  # "not given": the owner fills or refuses it
        if choices is not None and value not in choices:
            raise FdslError(f"{flag(field.name)} must be one of {', '.join(map(str, choices))}, got '{value}'")
        if span is not None and not span.holds(value):
            raise FdslError(f"{flag(field.name)} {span.refusal(value)}")


def number_type(field, kind: type | None = None) -> Number:
    """The command-line type of a numeric dataclass field: its kind (that of its default unless given) and its
    declared range."""
    return Number(kind or type(field.default), field.metadata.get("within"))
