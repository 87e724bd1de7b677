"""Where the writer puts rendered images: an ImageFolder tree or WebDataset tar shards.

The writer renders *tasks*; a sink says which tasks exist, which are already
done, which (category, draw, views) each task needs, and how to store them.
Neither sink knows any formula: the bytes of an image come from
``formula.encode`` and go under ``formula.file_name``, whatever the family
(a ``.ply`` point cloud lands in a folder or a tar the same way a PNG does).

* ``FolderSink``: ``OUT/{category:05d}/{file name}``, one file per image, each
  written atomically; the unit of resume is one image.  A task is a few draws.
* ``TarSink``: ``OUT/{shard:06d}.tar`` (see fdsl.core.tars), each written
  atomically; the unit of resume is one tar.  A task is one tar.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from fdsl.core.files import atomic_write_bytes
from fdsl.catalog.specs import Output, Shard
from fdsl.core.tars import ShardLayout, is_complete_tar, sample_members, write_tar

UNITS_PER_TASK = 8  # draws per folder task: enough to amortise a worker round trip
MISSING_EXAMPLES = 20  # missing files or tars named in a survey (the counts are complete)


@dataclass
class Survey:
    """What is on disk for one shard of the work: tasks still to do, images done and missing."""

    tasks: list = field(default_factory=list)
    done: int = 0
    missing: int = 0
    examples: list = field(default_factory=list)  # the first missing files or tars, as a user would look for them

    def note_missing(self, count: int, names: list) -> None:
        self.missing += count
        self.examples += names[:MISSING_EXAMPLES - len(self.examples)]


class FolderSink:
    def __init__(self, out: Path, formula, settings, categories: int):
        self.out, self.formula, self.settings, self.categories = Path(out), formula, settings, categories
        self.draws = formula.draws_per_category(settings)
        self.views = formula.views_per_draw(settings)
        self._draw_of: dict[int, dict[str, int]] = {}  # file name -> draw, per category (built when asked)

    def describe(self) -> str:
        return "{category:05d}/" + self.formula.file_name(0, 0, 0, self.settings)

    def survey(self, shard: Shard) -> Survey:
        """Draw u = category * draws + draw belongs to shard u % N; an image is done when its file is whole."""
        survey, todo = Survey(), []
        for category in range(self.categories):
            folder = self.out / f"{category:05d}"
            existing = set(os.listdir(folder)) if folder.is_dir() else set()
            for draw in range(self.draws):
                if (category * self.draws + draw) % shard.count != shard.index:
                    continue
                names = [self.formula.file_name(category, draw, v, self.settings) for v in range(self.views)]
                missing = [v for v, name in enumerate(names)
                           if name not in existing or not self.formula.is_complete(folder / name)]
                survey.done += self.views - len(missing)
                if missing:
                    survey.note_missing(len(missing), [f"{category:05d}/{names[v]}" for v in missing])
                    todo.append((category, draw, missing))
        survey.tasks = [todo[i:i + UNITS_PER_TASK] for i in range(0, len(todo), UNITS_PER_TASK)]
        return survey

    def parts(self, task) -> list:
        return task

    def owns(self, relative: str, shard: Shard) -> bool:
        """Is the file at ``relative`` (e.g. "00003/00003_04_count_1_flip2.png") one of ``shard``'s images?"""
        folder, _, name = relative.partition("/")
        if not folder.isdigit() or int(folder) >= self.categories:
            return False
        category = int(folder)
        if category not in self._draw_of:
            self._draw_of[category] = {self.formula.file_name(category, d, v, self.settings): d
                                       for d in range(self.draws) for v in range(self.views)}
        draw = self._draw_of[category].get(name)
        return draw is not None and (category * self.draws + draw) % shard.count == shard.index

    def store(self, task, rendered: list) -> int:
        written = 0
        for category, _, images, _ in rendered:
            folder = self.out / f"{category:05d}"
            folder.mkdir(exist_ok=True)
            for name, image in images:
                atomic_write_bytes(folder / name, self.formula.encode(image, self.settings))
            written += len(images)
        return written


class TarSink:
    def __init__(self, out: Path, formula, settings, categories: int, shard_size: int):
        self.out, self.formula, self.settings = Path(out), formula, settings
        self.layout = ShardLayout(categories, formula.draws_per_category(settings),
                                  formula.views_per_draw(settings), shard_size)

    def describe(self) -> str:
        key = "{category:05d}/" + self.formula.file_name(0, 0, 0, self.settings)
        return f"{{shard:06d}}.tar of {self.layout.shard_size} samples: {key} + .cls (class index)"

    def member_names(self, shard: int) -> list[str]:
        names = []
        for category, draw, views in self.layout.parts(shard):
            for view in views:
                names += [name for name, _ in sample_members(
                    category, self.formula.file_name(category, draw, view, self.settings), b"")]
        return sorted(names)

    def survey(self, shard: Shard) -> Survey:
        """Tar t belongs to shard t % N; a tar is done when it is whole and holds exactly its samples."""
        survey = Survey()
        for index in range(shard.index, self.layout.count, shard.count):
            size = self.layout.size(index)
            if is_complete_tar(self.out / self.layout.name(index), self.member_names(index)):
                survey.done += size
            else:
                survey.tasks.append(index)
                survey.note_missing(size, [self.layout.name(index)])
        return survey

    def parts(self, task: int) -> list:
        return self.layout.parts(task)

    def owns(self, relative: str, shard: Shard) -> bool:
        """Is ``relative`` (e.g. "000012.tar") one of ``shard``'s tars?"""
        stem = relative[:-len(".tar")] if relative.endswith(".tar") else ""
        return stem.isdigit() and int(stem) < self.layout.count and int(stem) % shard.count == shard.index

    def store(self, task: int, rendered: list) -> int:
        members = []
        for category, _, images, _ in rendered:
            for name, image in images:
                members += sample_members(category, name, self.formula.encode(image, self.settings))
        # A truncated or foreign tar under this name (the survey did not count it) is replaced whole.
        write_tar(self.out / self.layout.name(task), members)
        return len(members) // 2


def make_sink(output: Output, out: Path, formula, settings, categories: int):
    if output.format == "webdataset":
        return TarSink(out, formula, settings, categories, output.shard_size)
    return FolderSink(out, formula, settings, categories)
