"""One-line notes and warnings to the user: on stderr (stdout stays the command's result), each said once.

A setting taken from somewhere the user did not type (a checkpoint, a recipe fitted to the run) or a
diagnosis of a run is said here, so that no run is changed in silence and none is said twice.
"""

from __future__ import annotations

import contextlib
import sys

_said: set[str] = set()
# Notes said while a command still checks its inputs wait here (None: say them at once).  A refusal before
# the work starts drops them, so that bad input is the one error line and not a note about a run that never ran.
_held: list[str] | None = None


def note(message: str, kind: str = "note") -> None:
    """``fdsl: note: message`` (or ``fdsl: warning: ...``) on stderr, once per process; above any progress bar."""
    line = f"fdsl: {kind}: {message}"
    if line in _said:
        return
    _said.add(line)
    if _held is not None:
        _held.append(line)
        return
    _write(line)


def _write(line: str) -> None:
    from tqdm import tqdm

    tqdm.write(line, file=sys.stderr)


@contextlib.contextmanager
def held_until_work():
    """Hold the notes of one command until ``work_starts()``; dropped if the command refuses before that."""
    global _held
    _held = []
    try:
        yield
    except Exception as exc:
        from fdsl.core.errors import FdslError

        if isinstance(exc, FdslError) and _held is not None:
            _held = None  # refused before any work: the error line alone
        raise
    finally:
        work_starts()


def work_starts() -> None:
    """The command has checked its inputs and begins writing or training: say the held notes now."""
    global _held
    lines, _held = _held, None
    for line in lines or ():
        _write(line)


def warn(message: str) -> None:
    note(message, "warning")


def plural(count: int, noun: str) -> str:
    """'1 epoch', '3 epochs': a count in a sentence to the user."""
    return f"{count} {noun}{'' if count == 1 else 's'}"
