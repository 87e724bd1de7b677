"""``fdsl scenes --params CATALOG --out DIR``: PC-FractalDB scenes (layouts, points, labels, boxes, votes)."""

from __future__ import annotations

from pathlib import Path

from fdsl.core.numbers import Number, at_least
from fdsl.catalog.specs import DEFAULT_SHARD_SIZE, OUTPUT_FORMATS, Output, SceneSpec, Shard
from fdsl.commands.options import add_settings_arguments, add_workers_argument, settings_from_args
from fdsl.formulas.scenes.layout import SceneSettings
from fdsl.core.checks import SEEDS, output_path


EXAMPLES = """examples:
  fdsl scenes --params params3d/ --out scenes/ --scenes 100 --workers 2
  fdsl scenes --params params3d/ --out layouts/ --scenes 10000 --layout-only"""


def add_parser(verbs) -> None:
    parser = verbs.add_parser("scenes", help="PC-FractalDB scenes of fractal objects for 3D detection pre-training",
                              description="Lay out boxes in a room as PC-FractalDB's generate_scene.py does "
                              "(scene_%%05d.json), fill each with a PC-FractalDB instance, and write the points, "
                              "per-point instance and semantic labels, oriented boxes and votes in the layout of "
                              "VoteNet's SUN RGB-D loader (docs/3d.md).", epilog=EXAMPLES)
    parser.add_argument("--params", type=Path, required=True, help="3D catalog written by 'fdsl search fractal3d'")
    parser.add_argument("--out", type=output_path, required=True, help="scene folder (created; re-run to resume)")
    parser.add_argument("--scenes", type=Number(int, at_least(1)), default=1000,
                        help="number of scenes (default: 1000)")
    parser.add_argument("--seed", type=Number(int, SEEDS), default=0,
                        help="seed of the layouts and objects (default: 0)")
    add_workers_argument(parser, "writing scenes")
    parser.add_argument("--shard", default=None, help="K/N: write only the scenes i with i %% N == K")
    parser.add_argument("--format", choices=OUTPUT_FORMATS, default="folder",
                        help="folder: scene_NNNNN.json + _pc.npz + _bbox.npy + _votes.npz files (default); "
                        "webdataset: OUT/NNNNNN.tar shards, one sample per scene (.json, .pc.npz, .bbox.npy, "
                        ".votes.npz)")
    parser.add_argument("--shard-size", type=Number(int, at_least(1)), default=DEFAULT_SHARD_SIZE,
                        help=f"--format webdataset: scenes per tar (default: {DEFAULT_SHARD_SIZE})")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    add_settings_arguments(parser, SceneSettings)
    parser.set_defaults(run=run)


def run(args) -> int:
    from fdsl.write.engine import write_scenes

    spec = SceneSpec(settings_from_args(SceneSettings, args), args.scenes, seed=args.seed, workers=args.workers,
                     shard=Shard.parse(args.shard), output=Output(args.format, args.shard_size))
    report = write_scenes(spec, args.params, args.out, progress=not args.quiet)
    if report.written == 0:
        print(f"nothing to do: all {report.skipped} scenes are already in {args.out}")
        return 0
    print(f"wrote {report.written} scenes ({report.skipped} already there) in {report.seconds:.1f} s -> {args.out}")
    if report.objects_without_room:
        print(f"{report.objects_without_room} objects found no room after 100 placements and were left out")
    return 0
