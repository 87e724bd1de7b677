"""``fdsl export``: a rendered (or any labelled) image dataset as Hugging Face ``datasets`` Parquet shards."""

from __future__ import annotations

from pathlib import Path

from fdsl.core.numbers import Number, at_least
from fdsl.core.checks import output_path

EXAMPLES = """examples:
  fdsl export FractalDB-1k/ --out FractalDB-1k-hf/
  fdsl export FractalDB-1k-wds/ --out FractalDB-1k-hf/ --shard-size 50000"""


def add_parser(verbs) -> None:
    parser = verbs.add_parser("export", help="write an image dataset as Hugging Face datasets Parquet shards",
                              description="Write a labelled image dataset (an 'fdsl render' folder or its WebDataset "
                              "shards, a zip or an npz) as Parquet shards with an image column and a ClassLabel "
                              "column, which datasets.load_dataset reads offline: "
                              "datasets.load_dataset('parquet', data_dir=OUT)['train']. Needs pip install 'fdsl[hf]'.",
                              epilog=EXAMPLES)
    parser.add_argument("source", type=Path, help="the dataset to export (ImageFolder, shards folder, zip, npz)")
    parser.add_argument("--out", type=output_path, required=True, help="new folder for the Parquet shards")
    parser.add_argument("--shard-size", type=Number(int, at_least(1)), default=10_000,
                        help="images per Parquet file (default: 10000)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(run=run)


def run(args) -> int:
    from fdsl.data.hf_export import export_parquet

    shards = export_parquet(args.source, args.out, args.shard_size, progress=not args.quiet)
    print(f"exported to {len(shards)} Parquet shard(s) -> {args.out} (datasets.load_dataset('parquet', "
          f"data_dir='{args.out}'))")
    return 0
