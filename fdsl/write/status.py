"""What a written folder holds: complete and missing samples (or tars), per ``--shard`` split, without rendering.

Any output kind (images, SegRCDB image/mask pairs, scenes), folder or WebDataset tars.

Everything is read from the folder's manifests (formula, settings, counts,
output format, shard split) and from the files themselves, checked as a
resumed ``fdsl render`` checks them, so the answer is what a re-run would do.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from fdsl.catalog.params import read_manifest
from fdsl.core.errors import FdslError
from fdsl.catalog.specs import Output, SceneSpec, Shard
from fdsl.formulas import create_formula
from fdsl.write.producers import ImageProducer, PairProducer, SceneProducer
from fdsl.write.sinks import make_sink

KINDS = {"dataset": ImageProducer, "segmentation-dataset": PairProducer, "scenes": SceneProducer}


@dataclass
class ShardStatus:
    shard: str  # "K/N"
    started: bool  # a render of this shard has written its manifest
    done: int
    missing: int
    examples: list = field(default_factory=list)


@dataclass
class DatasetStatus:
    folder: Path
    formula: str
    output: dict
    images: int  # samples in the dataset
    shards: list  # ShardStatus, one per K of the split the folder was rendered with
    noun: str = "images"

    @property
    def done(self) -> int:
        return sum(s.done for s in self.shards)

    @property
    def missing(self) -> int:
        return sum(s.missing for s in self.shards)

    @property
    def complete(self) -> bool:
        return self.missing == 0


def _manifests(folder: Path) -> list[dict]:
    found = [read_manifest(folder, path.name) for path in sorted(folder.glob("manifest*.json"))]
    found = [m for m in found if m and m.get("kind") in KINDS]
    if not found:
        raise FdslError(f"{folder} holds no dataset manifest (manifest.json or manifest-shard-K-of-N.json); "
                        "give a folder written by 'fdsl render' or 'fdsl scenes'")
    return found


def dataset_status(folder: Path) -> DatasetStatus:
    """Survey a render folder: per shard of its split, the images whose files are whole and those missing."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FdslError(f"{folder} is not a folder; give the --out folder of 'fdsl render'")
    manifests = _manifests(folder)
    first = manifests[0]
    try:  # a manifest fdsl wrote has all of these; one edited or cut short by hand may not
        splits = {m["shard"].split("/")[1] for m in manifests}
        producer = _producer(first)
        output = Output(**first.get("output", Output().to_dict()))
    except (KeyError, TypeError, AttributeError, IndexError, ValueError) as exc:
        raise FdslError(f"{folder}: its manifest is damaged ({exc.__class__.__name__}: {exc}); render into a new --out "
                        "(the same command re-makes the same images)") from None
    if len(splits) > 1:
        raise FdslError(f"{folder} holds manifests of several --shard splits ({', '.join(sorted(splits))} shards); "
                        "render each split into its own folder")
    sink = make_sink(output, folder, producer)
    count = int(splits.pop())
    started = {m["shard"] for m in manifests}
    shards = []
    for index in range(count):
        survey = sink.survey(Shard(index, count))
        shards.append(ShardStatus(f"{index}/{count}", f"{index}/{count}" in started, survey.done, survey.missing,
                                  survey.examples))
    name = first.get("formula", "pc-fractal scenes")
    return DatasetStatus(folder, name, output.to_dict(), producer.samples, shards, producer.noun)


def _producer(manifest: dict):
    """The producer a manifest describes, enough to name its files (no catalog needed)."""
    kind, categories = manifest["kind"], manifest["counts"]["categories"]
    if kind == "scenes":
        from fdsl.formulas.scenes.layout import SceneSettings

        spec = SceneSpec(SceneSettings.from_dict(manifest["settings"]), manifest["counts"]["scenes"],
                         seed=manifest["seed"])
        return SceneProducer(spec, categories)
    formula = create_formula(manifest["formula"])
    return KINDS[kind](formula, formula.RenderSettings.from_dict(manifest["settings"]), manifest["seed"], categories)


def describe(status: DatasetStatus) -> list[str]:
    """The report as lines of text."""
    noun = status.noun
    kind = ("a folder tree" if status.output["format"] == "folder"
            else f"WebDataset shards of {status.output['shard_size']} {noun}")
    lines = [f"{status.folder}: {status.formula}, {kind}, {status.images:,} {noun}; "
             f"{status.done:,} complete, {status.missing:,} missing"]
    split = len(status.shards) > 1
    for shard in status.shards:
        if shard.missing == 0:
            if split:
                lines.append(f"shard {shard.shard}: complete ({shard.done:,} {noun})")
            continue
        state = "" if shard.started else " (not started)"
        where = f"shard {shard.shard}{state}: " if split else ""
        lines.append(f"{where}{shard.missing:,} {noun} missing, e.g. {', '.join(shard.examples[:5])}")
    verb = "fdsl scenes" if noun == "scenes" else "fdsl render"
    lines.append("complete" if status.complete else f"incomplete: re-run the same '{verb}' command(s) to finish")
    return lines
