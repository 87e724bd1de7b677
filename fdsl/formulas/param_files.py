"""Key,value parameter files (the published RCDB format), read into and written from dataclasses.

One ``key,value`` row per field of a frozen dataclass; integer fields must hold
integers.  Anything else (a FractalDB row, a missing or unknown key, NaN) is a
one-line FdslError naming the file and the fix.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from fdsl.core.errors import FdslError
from fdsl.core.files import atomic_write_bytes
from fdsl.core.numbers import finite_number


def row_order(cls) -> list[str]:
    """The file's keys in order: the class's ``row_order()`` if it has one, else its field order."""
    if hasattr(cls, "row_order"):
        return cls.row_order()
    return [f.name for f in dataclasses.fields(cls)]


def write_key_values(params, path: Path) -> None:
    """``key,value`` rows in file order; floats with repr() so they read back bit-identical."""
    rows = [f"{name},{getattr(params, name)!r}" for name in row_order(type(params))]
    atomic_write_bytes(Path(path), ("\n".join(rows) + "\n").encode())


def _number(text: str, kind: type, path: Path, number: int, key: str):
    try:
        return finite_number(text, kind)
    except ValueError as exc:
        raise FdslError(f"{path} line {number}: '{key}' {exc} ('{str(text).strip()[:40]}')") from None


def read_key_values(cls, path: Path, family: str):
    """An instance of the dataclass ``cls`` from ``path``; its ``check(path)`` then validates ranges."""
    path = Path(path)
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise FdslError(f"cannot read parameter file {path}: {exc.__class__.__name__}") from None
    types = {f.name: f.type if isinstance(f.type, type) else {"int": int, "float": float}[f.type]
             for f in dataclasses.fields(cls)}
    kinds = {name: types[name] for name in row_order(cls)}
    expected = ", ".join(kinds)
    values = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        cells = line.split(",")
        if len(cells) != 2:
            raise FdslError(f"{path} line {number}: expected 'key,value' rows of a {family} parameter file, got "
                            f"{len(cells)} comma-separated cells (was this catalog made by another formula?)")
        key = cells[0].strip()
        if key not in kinds:
            raise FdslError(f"{path} line {number}: unknown key '{key[:40]}' for {family}; expected keys: {expected}")
        if key in values:
            raise FdslError(f"{path} line {number}: key '{key}' appears twice")
        values[key] = _number(cells[1], kinds[key], path, number, key)
    missing = [k for k in kinds if k not in values]
    if missing:
        raise FdslError(f"{path}: missing {', '.join(missing)}; a {family} parameter file has rows key,value for: {expected}")
    params = cls(**values)
    params.check(str(path))
    return params


def require_range(where: str, name: str, value, low, high) -> None:
    if not (low <= value <= high):
        raise FdslError(f"{where}: {name} = {value} is outside [{low}, {high}]")


def read_numeric_csv(path: Path, columns: int) -> np.ndarray:
    """Rows of ``columns`` finite floats; any other content is a one-line FdslError."""
    path = Path(path)
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise FdslError(f"cannot read parameter file {path}: {exc.__class__.__name__}") from None
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        cells = line.split(",")
        if len(cells) != columns:
            raise FdslError(f"{path} line {number}: expected {columns} comma-separated numbers, got {len(cells)}")
        try:
            values = [float(cell) for cell in cells]
        except ValueError:
            raise FdslError(f"{path} line {number}: not a number in '{line.strip()[:60]}'") from None
        if not all(np.isfinite(values)):
            raise FdslError(f"{path} line {number}: NaN or infinite value; every parameter must be finite")
        rows.append(values)
    if not rows:
        raise FdslError(f"{path} is empty: a category file needs at least one row")
    return np.array(rows, dtype=np.float64)


def write_numeric_csv(array: np.ndarray, path: Path) -> None:
    """The published format: comma-separated ``%.18e``, one row per line."""
    lines = [",".join(f"{v:.18e}" for v in row) for row in np.atleast_2d(array)]
    atomic_write_bytes(Path(path), ("\n".join(lines) + "\n").encode())
