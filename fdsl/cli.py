"""The ``fdsl`` command: parse, call the API, report.  Each verb lives in fdsl/commands/."""

from __future__ import annotations

import argparse
import sys

from fdsl import __version__
from fdsl.errors import FdslError

VERBS = ("search", "render", "status", "preview", "pretrain", "finetune", "evaluate", "experiment", "viz")


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line and exit code 2 (no usage dump)."""

    def error(self, message):
        raise FdslError(f"{self.prog}: {message} (see '{self.prog} --help')")


def build_parser() -> argparse.ArgumentParser:
    import importlib

    parser = OneLineParser(prog="fdsl", description="Formula-Driven Supervised Learning: generate formula "
                           "datasets, pre-train on them, fine-tune on real images.")
    parser.add_argument("--version", action="version", version=f"fdsl {__version__}")
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", parser_class=OneLineParser)
    verbs.required = True
    for verb in VERBS:
        importlib.import_module(f"fdsl.commands.{verb}").add_parser(verbs)
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        return int(args.run(args) or 0)
    except FdslError as exc:
        print(f"fdsl: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("fdsl: interrupted; run the same command again to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
