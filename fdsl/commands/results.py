"""The last line of a training verb: a sentence for people, or with ``--json`` one JSON object for scripts."""

from __future__ import annotations

import contextlib
import functools
import json
import sys


def json_alone_on_stdout(run):
    """Wrap a verb's ``run`` so that with ``--json`` its stdout holds the JSON object only: the epoch lines and
    notes printed while it trains go to stderr, so that ``fdsl pretrain ... --json | jq`` works."""
    @functools.wraps(run)
    def wrapped(args):
        if not getattr(args, "json", False):
            return run(args)
        args.result_stream = sys.stdout
        with contextlib.redirect_stdout(sys.stderr):
            return run(args)
    return wrapped


def say_result(args, meta: dict, sentence: str) -> None:
    if not getattr(args, "json", False):
        print(sentence)
        return
    keys = ("stage", "task", "model", "preset", "recipe", "init", "epoch", "metrics", "inherited", "diagnosis")
    print(json.dumps({**{k: meta[k] for k in keys if k in meta}, "classes": len(meta.get("classes", [])),
                      "out": str(args.out)}, default=str), file=getattr(args, "result_stream", None) or sys.stdout)
