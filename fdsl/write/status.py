"""What a render folder holds: complete and missing images (or tars), per ``--shard`` split, without rendering.

Everything is read from the folder's manifests (formula, settings, counts,
output format, shard split) and from the files themselves, checked as a
resumed ``fdsl render`` checks them, so the answer is what a re-run would do.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from fdsl.catalog.params import read_manifest
from fdsl.core.errors import FdslError
from fdsl.formulas import create_formula
from fdsl.write.sinks import make_sink
from fdsl.catalog.specs import Output, Shard


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
    images: int
    shards: list  # ShardStatus, one per K of the split the folder was rendered with

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
    found = [m for m in found if m and m.get("kind") == "dataset"]
    if not found:
        raise FdslError(f"{folder} holds no dataset manifest (manifest.json or manifest-shard-K-of-N.json); "
                        "give a folder written by 'fdsl render'")
    return found


def dataset_status(folder: Path) -> DatasetStatus:
    """Survey a render folder: per shard of its split, the images whose files are whole and those missing."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FdslError(f"{folder} is not a folder; give the --out folder of 'fdsl render'")
    manifests = _manifests(folder)
    first = manifests[0]
    splits = {m["shard"].split("/")[1] for m in manifests}
    if len(splits) > 1:
        raise FdslError(f"{folder} holds manifests of several --shard splits ({', '.join(sorted(splits))} shards); "
                        "render each split into its own folder")
    formula = create_formula(first["formula"])
    settings = formula.RenderSettings.from_dict(first["settings"])
    output = Output(**first.get("output", Output().to_dict()))
    sink = make_sink(output, folder, formula, settings, first["counts"]["categories"])
    count = int(splits.pop())
    started = {m["shard"] for m in manifests}
    shards = []
    for index in range(count):
        survey = sink.survey(Shard(index, count))
        shards.append(ShardStatus(f"{index}/{count}", f"{index}/{count}" in started, survey.done, survey.missing,
                                  survey.examples))
    return DatasetStatus(folder, formula.name, output.to_dict(), first["counts"]["images_in_dataset"], shards)


def describe(status: DatasetStatus) -> list[str]:
    """The report as lines of text."""
    kind = ("an ImageFolder tree" if status.output["format"] == "folder"
            else f"WebDataset shards of {status.output['shard_size']} images")
    lines = [f"{status.folder}: {status.formula}, {kind}, {status.images:,} images; "
             f"{status.done:,} complete, {status.missing:,} missing"]
    split = len(status.shards) > 1
    for shard in status.shards:
        if shard.missing == 0:
            if split:
                lines.append(f"shard {shard.shard}: complete ({shard.done:,} images)")
            continue
        state = "" if shard.started else " (not started)"
        where = f"shard {shard.shard}{state}: " if split else ""
        lines.append(f"{where}{shard.missing:,} images missing, e.g. {', '.join(shard.examples[:5])}")
    lines.append("complete" if status.complete else "incomplete: re-run the same 'fdsl render' command(s) to finish")
    return lines
