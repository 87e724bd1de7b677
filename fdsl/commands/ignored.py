"""Refuse an option the chosen task or source would ignore: a run must not drop what the user typed, in silence."""

from __future__ import annotations

from fdsl.core.errors import FdslError


def remember_defaults(parser) -> None:
    """Keep every option's default on the parsed namespace, so a verb can tell 'typed' from 'left alone'."""
    parser.set_defaults(option_defaults={action.dest: action.default for action in parser._actions})


def refuse_ignored(args, names, why: str) -> None:
    """FdslError naming the first of ``names`` the user set away from its default: it would be ignored because ``why``."""
    for name in names:
        if getattr(args, name) != args.option_defaults.get(name):
            raise FdslError(f"--{name.replace('_', '-')} is ignored {why}; drop it")
