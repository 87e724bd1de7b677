"""One-line notes and warnings to the user: on stderr (stdout stays the command's result), each said once.

A setting taken from somewhere the user did not type (a checkpoint, a recipe fitted to the run) or a
diagnosis of a run is said here, so that no run is changed in silence and none is said twice.
"""

from __future__ import annotations

import sys

_said: set[str] = set()


def note(message: str, kind: str = "note") -> None:
    """``fdsl: note: message`` (or ``fdsl: warning: ...``) on stderr, once per process; above any progress bar."""
    line = f"fdsl: {kind}: {message}"
    if line in _said:
        return
    _said.add(line)
    from tqdm import tqdm

    tqdm.write(line, file=sys.stderr)


def warn(message: str) -> None:
    note(message, "warning")


def plural(count: int, noun: str) -> str:
    """'1 epoch', '3 epochs': a count in a sentence to the user."""
    return f"{count} {noun}{'' if count == 1 else 's'}"
