"""Torch datasets for training: formula images rendered on the fly, and the sampler that orders them.

On-the-fly images are exactly the images ``fdsl render`` would write: image j of
category c is view v of draw d, rendered from ``rng_for(seed, "render", c, d)``,
so a DataLoader worker, a DDP rank or another machine gets the same pixels for
the same index.  Nothing here knows a formula by name: it uses the Formula
interface only (``render_draw``, ``view``, ``draws_per_category``...).

Ordering and augmentation are keyed, never inherited from process state (the
on-the-fly pitfall of unseeded, forked generators): ``EpochSampler`` yields
``(epoch, index)`` pairs from an epoch-seeded permutation split across ranks,
and ``Keyed`` seeds the augmentation of each sample from (seed, epoch, index).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import random
from pathlib import Path

import numpy as np
import torch
import torchvision
from PIL import Image

from fdsl.catalog.params import fingerprint_files, load_catalog, read_manifest
from fdsl.core.checks import check_seed, check_whole
from fdsl.core.errors import FdslError
from fdsl.formulas import create_formula
from fdsl.core.seeding import rng_for


class FormulaDataset(torchvision.datasets.VisionDataset):
    """``instances`` images per category of a params folder (the dataset's ``root``), rendered when asked for.

    Items are (PIL RGB image, category) through torchvision's VisionDataset transforms: ``transform`` of the
    image (e.g. a torchvision transform), ``target_transform`` of the category, or one joint
    ``transforms(image, category)``.  ``settings``: the formula's RenderSettings, or
    a dict of plain values ({"size": 64}).  With ``instances`` below the number of
    images a category has, the images taken are spread evenly over all of them
    (so every weight row / parameter variation is represented), not the first few.
    """

    yields_images = True  # the formula's views must be images (a point-cloud dataset sets False)

    def __init__(self, formula_name: str, params_dir: Path, settings=None, seed: int = 0,
                 instances: int | None = None, transform=None, transforms=None, target_transform=None):
        super().__init__(str(params_dir), transforms=transforms, transform=transform,
                         target_transform=target_transform)
        self.formula_name = formula_name
        formula = create_formula(formula_name)
        if formula.dataset_kind != "classification":  # its images come with label masks, one per image
            raise FdslError(f"formula '{formula_name}' makes image/mask pairs, not one class per image; use "
                            "fdsl.data.masks.SegRCDBImages (or 'fdsl pretrain --task segmentation')")
        if isinstance(settings, dict):  # plain values, as a script gives them: {"size": 64}
            settings = formula.RenderSettings.from_strings(settings, what="render setting")
        elif settings is not None and not isinstance(settings, formula.RenderSettings):
            raise FdslError(f"settings must be a dict of render settings or {formula_name}'s RenderSettings, got "
                            f"{settings!r} ({type(settings).__name__})")
        self.settings = settings if settings is not None else formula.RenderSettings()
        self.settings.validate()
        if formula.renders_images(self.settings) != self.yields_images:
            raise FdslError(f"formula '{formula_name}' with these render settings makes "
                            f"{'images' if formula.renders_images(self.settings) else 'point clouds, not images'}; "
                            + ("use fdsl.data.point_clouds.PointCloudDataset (or --render output=views)"
                               if self.yields_images else "use fdsl.data.formula.FormulaDataset"))
        catalog = load_catalog(formula, Path(params_dir))
        files = catalog.files
        self.categories = catalog.categories
        self.classes = [path.stem for path in files]
        self.seed = check_seed(seed)
        self.views = formula.views_per_draw(self.settings)
        self.available = formula.images_per_category(self.settings)
        self.instances = self.available if instances is None else check_whole(instances, "--instances")
        if not (1 <= self.instances <= self.available):
            raise FdslError(f"--instances must be between 1 and {self.available} (the images a category has "
                            f"with these render settings), got {self.instances}")
        self.context = formula.render_context(self.categories, self.settings)
        # Which of a category's images each instance is: spread evenly over all of them, so that every
        # weight row / parameter variation is represented, not the first few.
        self.picks = np.arange(self.instances, dtype=np.int64) * self.available // self.instances
        self.stream = "render"
        self.fingerprint = hashlib.sha256(json.dumps(
            [formula_name, fingerprint_files(files), self.settings.to_dict(), self.seed, self.instances],
            sort_keys=True).encode()).hexdigest()[:16]
        self._formula = formula

    def heldout(self, per_category: int) -> "FormulaDataset":
        """Images of the same categories that training never sees, to measure whether the task is learned.

        The category's images that training does not use when there are any (e.g. the other 900 of
        FractalDB's 1,000), spread evenly; otherwise fresh random draws (another random stream) of the
        images training uses.
        """
        import copy

        unused = np.setdiff1d(np.arange(self.available, dtype=np.int64), self.picks)
        held = copy.copy(self)
        if len(unused):
            count = min(per_category, len(unused))
            held.picks = unused[np.arange(count) * len(unused) // count]
        else:
            count = min(per_category, self.instances)
            held.picks = self.picks[np.arange(count) * self.instances // count]
            held.stream = "heldout"
        held.instances = count
        return held

    def __len__(self) -> int:
        return len(self.categories) * self.instances

    def image_index(self, instance: int) -> int:
        """Which of the category's images (draw * views + view) instance ``instance`` is."""
        return int(self.picks[instance])

    @property
    def targets(self) -> np.ndarray:
        return np.arange(len(self), dtype=np.int64) // self.instances

    def render(self, index: int) -> np.ndarray:
        category, instance = divmod(int(index), self.instances)
        draw, view = divmod(self.image_index(instance), self.views)
        image, _ = self._formula.render_draw(self.categories[category], draw,
                                             rng_for(self.seed, self.stream, category, draw), self.settings,
                                             self.context)
        return np.ascontiguousarray(self._formula.view(image, view, self.settings))

    def target(self, index: int) -> int:
        return int(index) // self.instances

    def __getitem__(self, index: int):
        image = Image.fromarray(self.render(index)).convert("RGB")
        target = self.target(index)
        return self.transforms(image, target) if self.transforms is not None else (image, target)


def pretraining_dataset(params: Path | None = None, images: Path | None = None, formula: str | None = None,
                        render_options: dict | None = None, seed: int = 0, instances: int | None = None):
    """The one place the pre-training data source is chosen: (dataset, description for the checkpoint).

    ``params``: a catalog folder, rendered on the fly; ``images``: any ImageFolder (e.g. from ``fdsl render``).
    """
    if (params is None) == (images is None):
        raise FdslError("give exactly one of --params (render on the fly) or --images (an ImageFolder)")
    if images is not None:
        from fdsl.data.real import open_images

        # A render that was killed (or is still running) says so in its manifest: training on it would
        # silently use whichever images happen to be there, a different dataset at every attempt.
        manifest = read_manifest(images) if Path(images).is_dir() else None
        if manifest is not None and manifest.get("complete") is False:
            raise FdslError(f"the render in {images} is incomplete (its manifest.json says complete: false); "
                            "finish it by re-running the same 'fdsl render' command (it resumes), then pre-train")
        dataset = open_images(str(images))
        return dataset, {"kind": "images", "path": str(images), "fingerprint": dataset.fingerprint,
                         "size": len(dataset)}
    name = formula or _catalog_formula(Path(params))
    settings_class = create_formula(name).RenderSettings
    settings = settings_class.from_strings(render_options or {}, what="render setting")
    dataset = FormulaDataset(name, Path(params), settings, seed=seed, instances=instances)
    return dataset, {"kind": "formula", "formula": name, "params": str(params), "render": settings.to_dict(),
                     "seed": seed, "instances": dataset.instances, "fingerprint": dataset.fingerprint,
                     "size": len(dataset)}


def _catalog_formula(params: Path) -> str:
    manifest = read_manifest(params) if params.is_dir() else None
    if manifest and manifest.get("formula"):
        return manifest["formula"]
    raise FdslError(f"{params} has no manifest naming its formula; add --formula NAME (e.g. --formula fractal)")


class EpochSampler(torch.utils.data.Sampler):
    """(epoch, index) pairs: a permutation seeded by (seed, epoch), dealt to ranks without duplicates.

    Training drops the last ``len % world`` indices of each epoch so every rank
    takes the same number of steps; evaluation (``shuffle=False``) keeps them all.
    ``skip`` resumes inside an epoch: the first ``skip`` pairs of this rank are left out.
    """

    def __init__(self, length: int, seed: int = 0, shuffle: bool = True, rank: int = 0, world: int = 1):
        self.length, self.seed, self.shuffle, self.rank, self.world = length, int(seed), shuffle, rank, world
        self.epoch, self.skip = 0, 0

    def set_epoch(self, epoch: int, skip: int = 0) -> None:
        self.epoch, self.skip = int(epoch), int(skip)

    def indices(self) -> np.ndarray:
        if self.shuffle:
            order = rng_for(self.seed, "order", self.epoch).permutation(self.length)
            order = order[: self.length - self.length % self.world]
        else:
            order = np.arange(self.length)
        return order[self.rank::self.world][self.skip:]

    def __iter__(self):
        return iter([(self.epoch, int(i)) for i in self.indices()])

    def __len__(self) -> int:
        return len(self.indices())


def _seed_globals(seed_words) -> None:
    """Seed torch's CPU generator, random and numpy's global generator from ``seed_words``."""
    state = np.random.SeedSequence(seed_words).generate_state(2, np.uint32)
    # The CPU generator directly: torch.manual_seed also seeds every accelerator and, in torch 2.14, goes
    # through a wrapper that costs 0.15-3 ms per call: more than rendering an image.
    torch.default_generator.manual_seed(int(state[0]) << 32 | int(state[1]))
    random.seed(int(state[0]))
    np.random.seed(int(state[1]))


@contextlib.contextmanager
def global_generators_restored():
    """Run a block, then put torch's CPU generator, random and numpy's global generator back as they were.

    Saving numpy's state costs ~85 us (it copies the 624-word Mersenne Twister key), so a batch saves once."""
    generator = torch.default_generator
    torch_state, py_state, np_state = generator.get_state(), random.getstate(), np.random.get_state()
    try:
        yield
    finally:
        generator.set_state(torch_state)
        random.setstate(py_state)
        np.random.set_state(np_state)


@contextlib.contextmanager
def seeded(seed_words):
    """Run a block with torch, random and numpy's global generators seeded from ``seed_words``, then restore them.

    timm's and torchvision's augmentations draw from these global generators; seeding
    them per sample makes an augmented image a function of its key, in any worker.
    """
    with global_generators_restored():
        _seed_globals(seed_words)
        yield


class Keyed(torchvision.datasets.VisionDataset):
    """``base[index]`` through the transforms, with randomness keyed by (seed, epoch, index); takes (epoch, index).

    The torchvision convention: ``transforms(image, target)`` for a joint transform (a segmentation mask
    moves with its image), or ``transform`` / ``target_transform`` applied to each alone.
    """

    def __init__(self, base, transform=None, seed: int = 0, targets=None, transforms=None, target_transform=None):
        super().__init__(None, transforms=transforms, transform=transform, target_transform=target_transform)
        self.base, self.seed = base, int(seed)
        self.targets = targets  # replaces the base's labels (label noise) when given

    def __len__(self) -> int:
        return len(self.base)

    def __getitem__(self, key):
        with global_generators_restored():
            return self._item(key)

    def __getitems__(self, keys):
        """A batch (the DataLoader's fetcher calls this when it exists): each item seeded from its own key as in
        ``__getitem__``, the global generators saved and restored once per batch instead of once per item."""
        with global_generators_restored():
            return [self._item(key) for key in keys]

    def _item(self, key):
        epoch, index = key if isinstance(key, tuple) else (0, key)
        image, target = self.base[index]
        if self.targets is not None:
            target = int(self.targets[index])
        _seed_globals([self.seed, 0xA06, int(epoch), int(index)])
        return self.transforms(image, target)


def noisy_labels(targets, num_classes: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Replace exactly round(fraction * N) labels by a different class drawn at random: (labels, changed mask)."""
    if not (0.0 <= fraction <= 1.0):
        raise FdslError(f"--label-noise must be between 0 and 1, got {fraction}")
    targets = np.asarray(targets, dtype=np.int64)
    labels = targets.copy()
    changed = np.zeros(len(targets), dtype=bool)
    count = int(round(fraction * len(targets)))
    if count == 0 or num_classes < 2:
        return labels, changed
    rng = rng_for(seed, "label-noise")
    chosen = rng.choice(len(targets), size=count, replace=False)
    # A shift in 1..C-1 always lands on another class, uniformly.
    labels[chosen] = (targets[chosen] + rng.integers(1, num_classes, size=count)) % num_classes
    changed[chosen] = True
    return labels, changed


def dataset_targets(dataset) -> np.ndarray:
    """Labels of every item without decoding images (all fdsl datasets expose them cheaply)."""
    return np.asarray(dataset.targets, dtype=np.int64)


class Rendered(torch.utils.data.Dataset):
    """Render once, augment many times: every image of an on-the-fly dataset rendered up front and kept.

    For the few-images recipes (OFDB, 1p-frac: a handful of images per category, hundreds of
    epochs) re-rendering every epoch would cost more than training.  The pixels are exactly the
    on-the-fly ones (same keys), held as uint8 arrays in memory.
    """

    def __init__(self, base: FormulaDataset, progress: bool = True):
        from fdsl.core.progress import bar

        self.classes, self.targets, self.fingerprint = base.classes, base.targets, base.fingerprint
        meter = bar(total=len(base), desc="render once", enabled=progress)
        self.images = []
        for index in range(len(base)):
            self.images.append(base.render(index))
            meter.update(1)
        meter.close()

    def __len__(self) -> int:
        return len(self.images)

    def render(self, index: int) -> np.ndarray:
        return self.images[int(index)]

    def __getitem__(self, index: int):
        return Image.fromarray(self.images[int(index)]).convert("RGB"), int(self.targets[int(index)])


class Repeated(torch.utils.data.Dataset):
    """Each item ``times`` times per epoch; each repetition gets its own augmentation (it has its own index)."""

    def __init__(self, base, times: int):
        if times < 1:
            raise FdslError(f"--repeat must be at least 1, got {times}")
        self.base, self.times = base, int(times)
        self.classes, self.fingerprint = base.classes, getattr(base, "fingerprint", None)
        self.targets = np.tile(dataset_targets(base), self.times)

    def __len__(self) -> int:
        return len(self.base) * self.times

    def __getitem__(self, index: int):
        return self.base[int(index) % len(self.base)]
