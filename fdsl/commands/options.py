"""Command-line options generated from a formula's settings dataclass, so a new family needs no CLI code."""

from __future__ import annotations

import argparse
import dataclasses

from fdsl.formulas import create_formula, formula_names
from fdsl.core.numbers import Number, at_least, number_type

_WORKERS = Number(int, at_least(0))


def worker_processes(text: str) -> int:
    """--workers of the verbs that split their work over processes: 0 and 1 both mean this process alone."""
    return max(1, _WORKERS(text))


def add_workers_argument(parser: argparse.ArgumentParser, what: str) -> None:
    """--workers with the meaning of 0 every verb shares: no process but this one (the training verbs' --workers
    counts DataLoader processes beside the trainer, so there 0 is the same "this process alone")."""
    parser.add_argument("--workers", type=worker_processes, default=1,
                        help=f"processes {what} (0 or 1: this process alone, as --workers 0 in every verb; "
                        "N: N processes) (default: 1)")


def add_settings_arguments(parser: argparse.ArgumentParser, settings_class) -> None:
    for f in dataclasses.fields(settings_class):
        meta = f.metadata
        if not meta.get("cli", True):
            continue
        flag = "--" + f.name.replace("_", "-")
        kind = type(f.default)
        if kind is bool:
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=f.default, help=meta.get("help"),
                                dest=f"setting_{f.name}")
            continue
        parse = number_type(f) if kind in (int, float) else kind
        help_text = f"{meta.get('help', '')} (default: {f.default})"
        parser.add_argument(flag, type=parse, default=f.default, choices=meta.get("choices"), help=help_text,
                            dest=f"setting_{f.name}")


def settings_from_args(settings_class, args: argparse.Namespace):
    values = {f.name: getattr(args, f"setting_{f.name}") for f in dataclasses.fields(settings_class)
              if hasattr(args, f"setting_{f.name}")}
    settings = settings_class(**values)
    settings.validate()
    return settings


def add_formula_subparsers(parser: argparse.ArgumentParser, which: str, add_common) -> None:
    """One sub-command per registered formula, each with that formula's ``which`` settings as options."""
    families = parser.add_subparsers(dest="formula", metavar="FORMULA", parser_class=type(parser))
    families.required = True
    for name in formula_names():
        formula = create_formula(name)
        sub = families.add_parser(name, help=formula.summary, description=formula.summary)
        add_common(sub)
        add_settings_arguments(sub, getattr(formula, which))

