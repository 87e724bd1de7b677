"""Where the engine puts a producer's samples: a folder tree, or WebDataset tar shards.

The engine renders *tasks*; a sink says which tasks exist, which are already done, which (unit, samples)
each task needs, and how to store them.  Neither sink knows an output kind: paths, bytes and tar members
come from the producer (``fdsl.write.producers``).

* ``FolderSink``: each sample's files at the producer's relative paths, each written atomically; the unit
  of resume is one sample.  A task is a few units.
* ``TarSink``: ``OUT/{shard:06d}.tar`` (see ``fdsl.core.tars``), each written atomically; the unit of resume
  is one tar.  Tar t holds the producer's samples at positions [t * S, (t + 1) * S).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from fdsl.catalog.specs import Output, Shard
from fdsl.core.files import atomic_write_bytes
from fdsl.core.tars import is_complete_tar, write_tar

MISSING_EXAMPLES = 20  # missing files or tars named in a survey (the counts are complete)


@dataclass
class Survey:
    """What is on disk for one shard of the work: tasks still to do, samples done and missing."""

    tasks: list = field(default_factory=list)
    done: int = 0
    missing: int = 0
    examples: list = field(default_factory=list)  # the first missing files or tars, as a user would look for them

    def note_missing(self, count: int, names: list) -> None:
        self.missing += count
        self.examples += names[:MISSING_EXAMPLES - len(self.examples)]


class FolderSink:
    def __init__(self, out: Path, producer):
        self.out, self.producer = Path(out), producer

    def describe(self) -> str:
        return self.producer.describe_folder()

    def survey(self, shard: Shard) -> Survey:
        """Unit u belongs to shard u % N; a sample is done when all its files are whole."""
        producer, survey, todo, listed = self.producer, Survey(), [], {}

        def whole(relative: str) -> bool:
            folder, _, name = relative.rpartition("/")
            if folder not in listed:
                path = self.out / folder
                listed[folder] = set(os.listdir(path)) if path.is_dir() else set()
            return name in listed[folder] and producer.is_complete(self.out / relative)

        for unit in range(shard.index, producer.units, shard.count):
            missing = []
            for sub in range(producer.subs):
                files = producer.folder_files(unit, sub)
                if not all(whole(f) for f in files):
                    missing.append(sub)
                    survey.note_missing(1, [files[-1]])
            survey.done += producer.subs - len(missing)
            if missing:
                todo.append((unit, missing))
        survey.tasks = [todo[i:i + producer.units_per_task] for i in range(0, len(todo), producer.units_per_task)]
        return survey

    def parts(self, task) -> list:
        return task

    def owns(self, relative: str, shard: Shard) -> bool:
        """Is the file at ``relative`` one of ``shard``'s?"""
        unit = self.producer.owner(relative)
        return unit is not None and unit % shard.count == shard.index

    def store(self, task, rendered: list) -> int:
        """Write [(unit, sub, [(path, bytes)])] in the producer's order; returns the samples written."""
        made = set()
        for _, _, files in rendered:
            for relative, data in files:
                path = self.out / relative
                if path.parent not in made:
                    path.parent.mkdir(parents=True, exist_ok=True)
                    made.add(path.parent)
                atomic_write_bytes(path, data)
        return len(rendered)


class TarSink:
    def __init__(self, out: Path, producer, shard_size: int):
        self.out, self.producer, self.shard_size = Path(out), producer, shard_size
        self.count = -(-producer.samples // shard_size)

    def name(self, tar: int) -> str:
        return f"{tar:06d}.tar"

    def size(self, tar: int) -> int:
        return min(self.producer.samples, (tar + 1) * self.shard_size) - tar * self.shard_size

    def describe(self) -> str:
        return f"{{shard:06d}}.tar of {self.shard_size} samples: {self.producer.describe_tar()}"

    def parts(self, tar: int) -> list[tuple[int, list[int]]]:
        """The samples of ``tar`` as (unit, subs), in the producer's tar order.

        A unit whose samples straddle two tars appears in both, each with its own samples.
        """
        parts: list[tuple[int, list[int]]] = []
        start = tar * self.shard_size
        for position in range(start, start + self.size(tar)):
            unit, sub = self.producer.tar_unit(position)
            if parts and parts[-1][0] == unit:
                parts[-1][1].append(sub)
            else:
                parts.append((unit, [sub]))
        return parts

    def member_names(self, tar: int) -> list[str]:
        return sorted(name for unit, subs in self.parts(tar) for sub in subs
                      for name in self.producer.tar_member_names(unit, sub))

    def survey(self, shard: Shard) -> Survey:
        """Tar t belongs to shard t % N; a tar is done when it is whole and holds exactly its samples."""
        survey = Survey()
        for index in range(shard.index, self.count, shard.count):
            if is_complete_tar(self.out / self.name(index), self.member_names(index)):
                survey.done += self.size(index)
            else:
                survey.tasks.append(index)
                survey.note_missing(self.size(index), [self.name(index)])
        return survey

    def owns(self, relative: str, shard: Shard) -> bool:
        """Is ``relative`` (e.g. "000012.tar") one of ``shard``'s tars?"""
        stem = relative[:-len(".tar")] if relative.endswith(".tar") else ""
        return stem.isdigit() and int(stem) < self.count and int(stem) % shard.count == shard.index

    def store(self, task: int, rendered: list) -> int:
        members = [member for unit, sub, files in rendered for member in self.producer.tar_members(unit, sub, files)]
        # A truncated or foreign tar under this name (the survey did not count it) is replaced whole.
        write_tar(self.out / self.name(task), members)
        return len(rendered)


def make_sink(output: Output, out: Path, producer):
    if output.format == "webdataset":
        return TarSink(out, producer, output.shard_size)
    return FolderSink(out, producer)
