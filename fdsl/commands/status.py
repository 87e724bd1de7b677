"""``fdsl status OUT``: what a render folder holds and what is missing, per shard, without rendering anything."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

EXAMPLES = """examples:
  fdsl status FractalDB-1k/
  fdsl status shards/ --json"""


def add_parser(verbs) -> None:
    parser = verbs.add_parser("status", help="report which images (or tar shards) of a render are complete or missing",
                              description="Survey a folder written by 'fdsl render' (any --format, any --shard "
                              "split) the way a resumed render would, and write nothing. Exit code 0 when "
                              "complete, 1 when images are missing.", epilog=EXAMPLES)
    parser.add_argument("folder", type=Path, help="the --out folder of 'fdsl render'")
    parser.add_argument("--json", action="store_true", help="print the survey as JSON")
    parser.set_defaults(run=run)


def run(args) -> int:
    from fdsl.write.status import dataset_status, describe

    status = dataset_status(args.folder)
    if args.json:
        report = asdict(status)
        report.update(folder=str(status.folder), done=status.done, missing=status.missing, complete=status.complete)
        print(json.dumps(report, indent=2))
    else:
        print("\n".join(describe(status)))
    return 0 if status.complete else 1
