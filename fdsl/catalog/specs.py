"""What a search or a render is asked to do, built once at the command-line boundary and checked there.

The command line (or a script) turns its strings into these small frozen
dataclasses; the search loop, the writer and the device path below take them
as they are, so a formula name, a seed or a device string is parsed and
checked in one place.  They pickle (formula objects hold no state), which is
how worker processes receive them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fdsl.core.checks import check_categories, check_seed, check_whole, check_workers, resolve_torch_device
from fdsl.core.errors import FdslError
from fdsl.formulas import Formula, Settings, create_formula
from fdsl.formulas.scenes.layout import SceneSettings

# More shards than this is more machines than any split needs (and more manifests than a folder should hold).
MAX_SHARDS = 1_000_000


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` of ``count``: the units u with u % count == index."""

    index: int = 0
    count: int = 1

    @classmethod
    def parse(cls, text: str | None) -> "Shard":
        if not text:
            return cls()
        # Digits only: int() would also take ' 0', '+0' or '0_0', and then a split would be named two ways.
        parts = text.split("/")
        if len(parts) != 2 or not all(part.isascii() and part.isdigit() for part in parts):
            raise FdslError(f"--shard must look like K/N (e.g. 0/4), got '{text}'")
        index, count = (int(part) for part in parts)
        if not (1 <= count <= MAX_SHARDS and 0 <= index < count):
            raise FdslError(f"--shard {text}: need 0 <= K < N <= {MAX_SHARDS:,}, e.g. 0/{min(max(count, 1), 4)}")
        return cls(index, count)

    def manifest_name(self) -> str:
        return "manifest.json" if self.count == 1 else f"manifest-shard-{self.index}-of-{self.count}.json"


OUTPUT_FORMATS = ("folder", "webdataset")
DEFAULT_SHARD_SIZE = 1000  # images per tar: about 15 MB at the published FractalDB setting


@dataclass(frozen=True)
class Output:
    """How a render is stored: an ImageFolder tree, or WebDataset tar shards of ``shard_size`` images."""

    format: str = "folder"
    shard_size: int = DEFAULT_SHARD_SIZE

    def __post_init__(self):
        if self.format not in OUTPUT_FORMATS:
            raise FdslError(f"unknown --format '{self.format}'; choose one of: {', '.join(OUTPUT_FORMATS)}")
        check_whole(self.shard_size, "--shard-size")
        if self.shard_size < 1:
            raise FdslError(f"--shard-size must be at least 1 image per tar, got {self.shard_size}")
        if self.format == "folder" and self.shard_size != DEFAULT_SHARD_SIZE:
            raise FdslError(f"--shard-size {self.shard_size} is ignored by --format folder (it sizes the tars of "
                            "--format webdataset); drop it or add --format webdataset")

    def to_dict(self) -> dict:
        """The dataset's identity in its manifest (the shard size matters only to tars)."""
        if self.format == "folder":
            return {"format": "folder"}
        return {"format": self.format, "shard_size": self.shard_size}


@dataclass(frozen=True)
class Device:
    """Where images are rendered.

    ``backend`` "numba": the compiled CPU kernels inside the worker processes
    (``--device cpu``, the default).  ``backend`` "torch": the formula's batched
    torch renderer on ``torch_name`` ("cuda", "cuda:1", or "cpu" for
    ``--device torch-cpu``), the workers only encoding PNGs.
    """

    backend: str = "numba"
    torch_name: str | None = None

    @classmethod
    def parse(cls, text: str) -> "Device":
        if text == "auto":  # as the training verbs' --device auto: CUDA when torch sees one
            from fdsl.core.notes import note

            try:
                import torch
                cuda = torch.cuda.is_available()
            except ModuleNotFoundError:  # the render-only install has no torch: the cpu kernels
                cuda = False
            # Said, since the two renderers' images differ: a folder records which one drew it.
            note("--device auto: rendering on " + ("cuda (the torch renderer)" if cuda else "the cpu kernels"))
            return cls("torch", "cuda") if cuda else cls()
        if text == "cpu":
            return cls()
        name = "cpu" if text == "torch-cpu" else text
        resolve_torch_device(name)  # a missing GPU is refused here, before any work
        return cls("torch", name)

    @property
    def renderer(self) -> str:
        """The renderer recorded in a dataset's manifest (a folder never mixes the two)."""
        return self.backend


def _formula(formula: Formula | str) -> Formula:
    return create_formula(formula) if isinstance(formula, str) else formula


@dataclass(frozen=True)
class SearchSpec:
    """Find ``categories`` categories of ``formula`` from the candidate stream of ``seed``."""

    formula: Formula
    settings: Settings
    seed: int
    categories: int
    workers: int = 1

    def __post_init__(self):
        object.__setattr__(self, "formula", _formula(self.formula))
        check_categories(self.categories)
        limit = self.formula.max_categories
        if limit is not None and self.categories > limit:
            raise FdslError(f"--categories {self.categories}: {self.formula.name} holds at most {limit} categories "
                            f"(its labels are 8-bit mask values: background 0, classes 1..{limit}, 255 ignored); "
                            f"ask for at most {limit}")
        check_workers(self.workers)
        check_seed(self.seed)
        self.settings.validate()


@dataclass(frozen=True, kw_only=True)
class WriteRun:
    """How any write runs: its seed, its worker processes, its part of a ``--shard`` split, its output format."""

    seed: int = 0
    workers: int = 1
    shard: Shard = field(default_factory=Shard)
    output: Output = field(default_factory=Output)

    def check_run(self, settings: Settings) -> None:
        check_workers(self.workers)
        check_seed(self.seed)
        settings.validate()


@dataclass(frozen=True)
class RenderSpec(WriteRun):
    """Render every image of a catalog with ``formula``'s ``settings`` from ``seed``."""

    formula: Formula
    settings: Settings
    device: Device = field(default_factory=Device, kw_only=True)

    def __post_init__(self):
        object.__setattr__(self, "formula", _formula(self.formula))
        self.check_run(self.settings)


# A scene is a few hundred kilobytes: beyond this a run would fill any disk.
MAX_SCENES = 10_000_000


@dataclass(frozen=True)
class SceneSpec(WriteRun):
    """``scenes`` scenes of the catalog's categories with ``settings`` from ``seed``."""

    settings: SceneSettings
    scenes: int

    def __post_init__(self):
        check_whole(self.scenes, "--scenes")
        if not (1 <= self.scenes <= MAX_SCENES):
            raise FdslError(f"--scenes must be between 1 and {MAX_SCENES:,}, got {self.scenes}")
        self.check_run(self.settings)
