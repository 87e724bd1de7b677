"""The last line of a training verb: a sentence for people, or with ``--json`` one JSON object for scripts."""

from __future__ import annotations

import json


def say_result(args, meta: dict, sentence: str) -> None:
    if not getattr(args, "json", False):
        print(sentence)
        return
    keys = ("stage", "task", "model", "preset", "recipe", "init", "epoch", "metrics", "inherited", "diagnosis")
    print(json.dumps({**{k: meta[k] for k in keys if k in meta}, "classes": len(meta.get("classes", [])),
                      "out": str(args.out)}, default=str))
