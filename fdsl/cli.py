"""The ``fdsl`` command: parse, call the API, report.  Each verb lives in fdsl/commands/."""

from __future__ import annotations

import argparse
import re
import sys

from fdsl.core.version import __version__
from fdsl.core.errors import FdslError

# The training extras (pip install 'fdsl[train]'): a verb that needs one of these, run without it, says so in one line.
TRAIN_MODULES = {"torch", "torchvision", "timm", "safetensors", "matplotlib", "sklearn", "pytorch_grad_cam",
                 "webdataset", "segmentation_models_pytorch"}
VERBS = ("formulas", "search", "render", "status", "scenes", "preview", "recipes", "pretrain", "finetune", "evaluate",
         "experiment", "viz", "export")


class ExamplesFormatter(argparse.HelpFormatter):
    """argparse's wrapping, except for indented lines (the examples of an epilog), kept as typed to copy and paste."""

    def _fill_text(self, text, width, indent):
        paragraphs = []
        for line in text.splitlines():
            paragraphs.append(indent + line if line.startswith("  ") else super()._fill_text(line, width, indent))
        return "\n".join(paragraphs)


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line and exit code 2 (no usage dump); epilog examples kept verbatim."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", ExamplesFormatter)
        # No prefix matching: "--data" must not become "--data-seed", nor a config key "epoch" "--epochs".
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message):
        # "argument --seed: must be ..." (a range refused by fdsl.core.numbers) reads as the checks of the
        # layers below say it: "--seed must be ...".
        message = re.sub(r"^argument (-[\w-]+)(?:/-[\w-]+)*: must be ", r"\1 must be ", message)
        # The top-level parser's prog is "fdsl", which the error line already starts with.
        where = "" if self.prog == "fdsl" else f"{self.prog}: "
        raise FdslError(f"{where}{message} (see '{self.prog} --help')")


EXAMPLES = """examples:
  fdsl search fractal --categories 1000 --seed 1 --out params/ --workers 2
  fdsl render fractal --params params/ --out FractalDB-1k/ --workers 2
  fdsl pretrain --config pretrain.yaml --out runs/pre     # any verb: a YAML file of its options"""


def build_parser() -> argparse.ArgumentParser:
    import importlib

    parser = OneLineParser(prog="fdsl", description="Formula-Driven Supervised Learning: generate formula "
                           "datasets, pre-train on them, fine-tune on real images.", epilog=EXAMPLES)
    parser.add_argument("--version", action="version", version=f"fdsl {__version__}")
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", parser_class=OneLineParser)
    verbs.required = True
    for verb in VERBS:
        importlib.import_module(f"fdsl.commands.{verb}").add_parser(verbs)
    return parser


def one_line(message: str) -> str:
    """The message on one line whatever the user typed into it (a newline or a carriage return in a value)."""
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode() for ch in message)


def main(argv: list[str] | None = None) -> int:
    try:
        from fdsl.commands.config_file import check_repeated, check_switches, split_config
        from fdsl.commands.render import infer_formula
        from fdsl.core.notes import held_until_work

        expanded, path, from_file, typed = split_config(list(sys.argv[1:] if argv is None else argv))
        argv = infer_formula(expanded)
        parser = build_parser()
        typed = infer_formula(typed)
        check_switches(parser, typed, path, from_file)
        args = parser.parse_args(argv)
        with held_until_work():  # notes wait for the work: a refused input is its one error line
            check_repeated(parser, typed, path, from_file)
            return int(args.run(args) or 0)
    except FdslError as exc:
        print(f"fdsl: error: {one_line(str(exc))}", file=sys.stderr)
        return 2
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] not in TRAIN_MODULES:
            raise
        print(f"fdsl: error: this command needs the training extras ({exc.name} is not installed): "
              "pip install 'fdsl[train]'", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # The reader of stdout went away (fdsl ... | head): no traceback; later writes go nowhere, and what was
        # written so far is complete files, so the same command resumes.
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        print("fdsl: stopped: its output pipe was closed; run the same command again to resume", file=sys.stderr)
        return 141  # 128 + SIGPIPE, as a shell reports a command its pipe stopped
    except KeyboardInterrupt:
        print("fdsl: interrupted; run the same command again to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
