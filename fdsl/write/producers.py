"""What each output kind writes: units of work, the files of a unit, its bytes, and its WebDataset members.

The engine (``fdsl.write.engine``) knows none of the kinds; it asks a producer:

* ``units`` units of work, unit u belonging to ``--shard K/N`` when u % N == K, each with ``subs`` samples
  (FractalDB's flips of one draw; one for the other kinds);
* ``folder_files(u, sub)``: the relative paths of a sample in the folder layout, in the order they are
  written (the last one marks the sample as done, so a killed run never leaves a sample that looks whole);
* ``render(u, subs)`` -> (items, warning, counts) and ``encode(u, sub, item)`` -> [(path, bytes)];
* ``tar_unit(position)``: which (u, sub) the tar layout puts at a position, and ``tar_members`` the sample's
  members (a key plus extensions, as WebDataset's ``TarWriter`` takes them);
* ``identity()`` and ``manifest_fields()``: what makes two runs the same dataset, and what readers need.

Producers are built in the parent and pickled to the workers; ``start()`` builds what a process needs once.
"""

from __future__ import annotations

import re

from fdsl.core.imagefiles import LAYOUT_FOLDERS
from fdsl.core.seeding import rng_for
from fdsl.core.tars import sample_members


def render_unit(formula, settings, seed, params, category, draw, context, views=None):
    """The views of one draw (all, or the listed ones): [(file name, image)], warning or None.

    Image j of category c is view v of draw d, from ``rng_for(seed, "render", c, d)`` only, as the on-the-fly
    datasets draw it: a dataset on disk and one rendered in a training job hold the same pixels (tested).
    """
    image, warning = formula.render_draw(params, draw, rng_for(seed, "render", category, draw), settings, context)
    if views is None:
        views = range(formula.views_per_draw(settings))
    return [(formula.file_name(category, draw, v, settings), formula.view(image, v, settings)) for v in views], warning


class ImageProducer:
    """A formula's images: unit u = category * draws + draw, its samples the draw's views (an ImageFolder)."""

    kind, noun = "dataset", "images"

    def __init__(self, formula, settings, seed: int, categories: list | int):
        self.formula, self.settings, self.seed = formula, settings, seed
        self.params = categories if isinstance(categories, list) else None
        self.categories = len(categories) if isinstance(categories, list) else int(categories)
        self.draws = formula.draws_per_category(settings)
        self.subs = formula.views_per_draw(settings)
        self.units = self.categories * self.draws
        self.samples = self.units * self.subs
        self.units_per_task = 8  # draws per folder task: enough to amortise a worker round trip
        self.context = None
        self._draw_of: dict[int, dict[str, int]] = {}  # file name -> draw, per category (built when asked)

    def start(self) -> None:
        self.context = self.formula.render_context(self.params, self.settings)

    def category_draw(self, unit: int) -> tuple[int, int]:
        return divmod(unit, self.draws)

    def file_name(self, unit: int, sub: int) -> str:
        category, draw = self.category_draw(unit)
        return self.formula.file_name(category, draw, sub, self.settings)

    def folder_files(self, unit: int, sub: int) -> list[str]:
        return [f"{unit // self.draws:05d}/{self.file_name(unit, sub)}"]

    def describe_folder(self) -> str:
        return "{category:05d}/" + self.formula.file_name(0, 0, 0, self.settings)

    def describe_tar(self) -> str:
        return "{category:05d}/" + self.formula.file_name(0, 0, 0, self.settings) + " + .cls (class index)"

    def render(self, unit: int, subs: list) -> tuple[list, str | None, dict]:
        category, draw = self.category_draw(unit)
        views, warning = render_unit(self.formula, self.settings, self.seed, self.params[category], category, draw,
                                     self.context, subs)
        return [image for _, image in views], warning, {}

    def encode(self, unit: int, sub: int, item) -> list[tuple[str, bytes]]:
        return [(self.folder_files(unit, sub)[0], self.formula.encode(item, self.settings))]

    def warning_note(self, unit: int, warning: str) -> dict:
        category, draw = self.category_draw(unit)
        return {"category": category, "draw": draw, "warning": warning}

    def is_complete(self, path) -> bool:
        return self.formula.is_complete(path)

    def owner(self, relative: str) -> int | None:
        """The unit whose file is ``relative`` (e.g. "00003/00003_04_count_1_flip2.png"), or None."""
        folder, _, name = relative.partition("/")
        if not folder.isdigit() or int(folder) >= self.categories:
            return None
        category = int(folder)
        if category not in self._draw_of:
            self._draw_of[category] = {self.formula.file_name(category, d, v, self.settings): d
                                       for d in range(self.draws) for v in range(self.subs)}
        draw = self._draw_of[category].get(name)
        return None if draw is None else category * self.draws + draw

    def tar_unit(self, position: int) -> tuple[int, int]:
        """Draw-major order (``fdsl.core.tars``): consecutive samples are of different categories."""
        unit, view = divmod(position, self.subs)
        draw, category = divmod(unit, self.categories)
        return category * self.draws + draw, view

    def tar_members(self, unit: int, sub: int, files: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
        (_, data), = files
        return sample_members(unit // self.draws, self.file_name(unit, sub), data)

    def tar_member_names(self, unit: int, sub: int) -> list[str]:
        return [name for name, _ in sample_members(unit // self.draws, self.file_name(unit, sub), b"")]

    def counts(self) -> dict:
        return {"categories": self.categories, "draws_per_category": self.draws, "views_per_draw": self.subs,
                "images_in_dataset": self.samples}

    def manifest_fields(self, names: list) -> dict:
        return {"counts": self.counts()}


class PairProducer:
    """SegRCDB image/mask pairs: unit n is image n and its mask (0 background, category i is label i + 1)."""

    kind, noun = "segmentation-dataset", "images"
    NAME = "{:06d}.png"

    def __init__(self, formula, settings, seed: int, categories: list | int):
        self.formula, self.settings, self.seed = formula, settings, seed
        self.params = categories if isinstance(categories, list) else None
        self.categories = len(categories) if isinstance(categories, list) else int(categories)
        self.units = self.samples = settings.images
        self.subs = 1
        self.units_per_task = 16
        self.image_dir, self.mask_dir = LAYOUT_FOLDERS[settings.layout]

    def start(self) -> None:
        from fdsl.formulas.contour.segrcdb import check_class_count

        check_class_count(self.categories)

    def folder_files(self, unit: int, sub: int) -> list[str]:
        name = self.NAME.format(unit)
        return [f"{self.mask_dir}/{name}", f"{self.image_dir}/{name}"]  # the image last: it marks the pair done

    def describe_folder(self) -> str:
        return self.settings.layout

    def describe_tar(self) -> str:
        return "{index:06d}.png (image) + {index:06d}.mask.png (labels)"

    def render(self, unit: int, subs: list) -> tuple[list, None, dict]:
        from fdsl.formulas.contour.segrcdb import render_pair

        return [render_pair(self.params, self.settings, self.seed, unit)], None, {}

    def encode(self, unit: int, sub: int, item) -> list[tuple[str, bytes]]:
        from fdsl.core.files import png_bytes

        image, mask = item
        mask_path, image_path = self.folder_files(unit, sub)
        return [(mask_path, png_bytes(mask)), (image_path, png_bytes(image))]

    def is_complete(self, path) -> bool:
        from fdsl.core.files import is_png

        return is_png(path)

    def owner(self, relative: str) -> int | None:
        folder, _, name = relative.rpartition("/")
        match = re.fullmatch(r"(\d{6})\.png", name)
        if folder not in (self.image_dir, self.mask_dir) or match is None or int(match.group(1)) >= self.units:
            return None
        return int(match.group(1))

    def tar_unit(self, position: int) -> tuple[int, int]:
        return position, 0

    def tar_members(self, unit: int, sub: int, files: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
        (_, mask), (_, image) = files
        key = f"{unit:06d}"
        return [(f"{key}.png", image), (f"{key}.mask.png", mask)]

    def tar_member_names(self, unit: int, sub: int) -> list[str]:
        return sorted([f"{unit:06d}.png", f"{unit:06d}.mask.png"])

    def manifest_fields(self, names: list) -> dict:
        return {"layout": self.settings.layout, "image_folder": self.image_dir, "mask_folder": self.mask_dir,
                "classes": ["background"] + list(names), "ignore_index": 255,
                "counts": {"categories": self.categories, "images_in_dataset": self.samples}}


class SceneProducer:
    """PC-FractalDB scenes: unit i is scene i's files (the layout JSON last, and the points unless layout-only)."""

    kind, noun = "scenes", "scenes"
    TAR_EXTENSIONS = {"_pc.npz": ".pc.npz", "_bbox.npy": ".bbox.npy", "_votes.npz": ".votes.npz", ".json": ".json"}

    def __init__(self, spec, categories: list | int, names: list | None = None):
        self.spec, self.settings, self.seed = spec, spec.settings, spec.seed
        self.params = categories if isinstance(categories, list) else None
        self.categories = len(categories) if isinstance(categories, list) else int(categories)
        self.names = names
        self.units = self.samples = spec.scenes
        self.subs = 1
        self.units_per_task = 2
        self.maker = None

    def start(self) -> None:
        from fdsl.formulas.scenes.maker import SceneMaker

        self.maker = SceneMaker(self.spec, self.params, self.names)

    def folder_files(self, unit: int, sub: int) -> list[str]:
        from fdsl.write.scene_files import scene_names

        return scene_names(unit, self.settings.layout_only)

    def describe_folder(self) -> str:
        return ", ".join(self.folder_files(0, 0))

    def describe_tar(self) -> str:
        return "scene_{index:05d}" + " + ".join(self.TAR_EXTENSIONS[self._suffix(n)] for n in self.folder_files(0, 0))

    def render(self, unit: int, subs: list) -> tuple[list, None, dict]:
        objects, dropped, scene = self.maker.scene(unit)
        return [(objects, dropped, scene)], None, {"objects_without_room": dropped}

    def encode(self, unit: int, sub: int, item) -> list[tuple[str, bytes]]:
        from fdsl.formulas.scenes.layout import layout_record
        from fdsl.write.scene_files import scene_files

        objects, dropped, scene = item
        return scene_files(unit, layout_record(unit, objects, self.names, dropped), scene)

    def is_complete(self, path) -> bool:
        from fdsl.write.scene_files import is_complete

        return is_complete(path)

    def owner(self, relative: str) -> int | None:
        match = re.fullmatch(r"scene_(\d{5,})(_pc\.npz|_bbox\.npy|_votes\.npz|\.json)", relative)
        return int(match.group(1)) if match and int(match.group(1)) < self.units else None

    @staticmethod
    def _suffix(name: str) -> str:
        """"_pc.npz" of "scene_00001_pc.npz", ".json" of "scene_00001.json"."""
        return re.fullmatch(r"scene_\d+(.*)", name).group(1)

    def tar_unit(self, position: int) -> tuple[int, int]:
        return position, 0

    def tar_members(self, unit: int, sub: int, files: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
        return [(f"scene_{unit:05d}{self.TAR_EXTENSIONS[self._suffix(name)]}", data) for name, data in files]

    def tar_member_names(self, unit: int, sub: int) -> list[str]:
        return sorted(f"scene_{unit:05d}{self.TAR_EXTENSIONS[self._suffix(n)]}" for n in self.folder_files(unit, sub))

    def manifest_fields(self, names: list) -> dict:
        return {"layout": self.folder_files(0, 0), "counts": {"scenes": self.spec.scenes,
                                                              "categories": self.categories}}
