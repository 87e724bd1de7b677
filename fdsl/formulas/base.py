"""The interface every formula family implements, and the registry of families.

A formula turns a seed into categories (``sample_category``) and a category
into images (``render_draw`` then ``view``).  It knows maths only: the search
loop, the writer, the on-the-fly datasets and the command line are generic and
work on any registered formula.

Images of a category are numbered by (draw, view): a *draw* is one random
render (seeded by ``rng_for(seed, "render", category, draw)``), a *view* is a
deterministic transform of it (FractalDB's four flips, a 3D cloud's cameras).
A view is a PNG on disk unless the family encodes it otherwise (``encode``,
``is_complete``: a 3D family writes point clouds as PLY files).  Settings are plain
dataclasses; their fields become command-line options (``option()``).

A formula may also provide a batched torch renderer (``torch_renderer``), the
twin of ``render_draw`` + ``view`` for GPUs; it lives beside the family and is
imported only when asked for, so that the core needs no torch.  Formula
objects hold no state (kernels own their scratch arrays): they pickle as is.
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from fdsl.core.errors import FdslError
from fdsl.core.files import is_png, png_bytes
# between: re-exported, the families declare their ranges with it
from fdsl.core.numbers import Range, between, check_fields, finite_number  # noqa: F401


def option(default, help: str, choices=None, cli: bool = True, within: Range | None = None):
    """A settings field that the command line exposes as ``--name-with-dashes``; ``within`` bounds its value."""
    return dataclasses.field(default=default, metadata={"help": help, "choices": choices, "cli": cli,
                                                        "within": within})


def parse_setting(kind: type, text: str):
    """A setting's value from text, as the command line and ``--render KEY=VALUE`` both read it.

    Numbers must be finite (integers may be written 3.0 or 3e2); booleans are true/false, yes/no, on/off
    or 1/0.  A ValueError says what was expected.
    """
    if kind is bool:
        word = str(text).strip().lower()
        if word in ("1", "true", "yes", "on"):
            return True
        if word in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"expected true or false, got '{text}'")
    if kind in (int, float):
        try:
            return finite_number(text, kind)
        except ValueError as exc:
            raise ValueError(f"'{text}' {exc}") from None
    return kind(text)


@dataclasses.dataclass
class Settings:
    """Base of search and render settings: validation and (de)serialisation."""

    def validate(self) -> None:
        """Raise FdslError naming the bad value and the fix.

        Here: every field's declared ``choices`` and ``within`` range.  A family's settings add the checks
        that relate fields to each other, after ``super().validate()``.
        """
        check_fields(self)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "Settings":
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})

    def replace(self, **changes) -> "Settings":
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_strings(cls, options: dict, what: str = "setting") -> "Settings":
        """``{"size": "64"}`` -> settings (defaults elsewhere), validated; unknown keys and bad values are FdslErrors."""
        fields = {f.name: f for f in dataclasses.fields(cls)}
        values = {}
        for key, text in options.items():
            name = key.replace("-", "_")
            if name not in fields:
                raise FdslError(f"unknown {what} '{key}'; choose from: {', '.join(sorted(fields))}")
            try:
                values[name] = parse_setting(type(fields[name].default), text)
            except ValueError as exc:
                raise FdslError(f"{what} {key}={text}: {exc}") from None
        settings = cls(**values)
        settings.validate()
        return settings


class Formula(ABC):
    """One FDSL family: its category sampler, parameter files and renderer."""

    name: ClassVar[str]
    summary: ClassVar[str]
    SearchSettings: ClassVar[type[Settings]]
    RenderSettings: ClassVar[type[Settings]]
    params_suffix: ClassVar[str] = ".csv"
    # A preview row shows the views of one draw (a 3D object's cameras) rather than one view of spread draws.
    preview_one_draw: ClassVar[bool] = False
    # What a render of the catalog is: "classification" (an ImageFolder, fdsl.write.engine) or "segmentation"
    # (images with label masks): the writer picks its producer (fdsl.write.producers) by it.
    dataset_kind: ClassVar[str] = "classification"
    # The batched torch renderer as "module:Class", or None; imported only when asked (torch is heavy, and a
    # renderer module builds on its formula's module, so the formula must not import it).
    torch_renderer_path: ClassVar[str | None] = None
    # Other families whose catalogs this one renders as its own (the same search and files: OFDB renders
    # FractalDB's catalogs); any other family's catalog is refused or said (fdsl.catalog.params.load_catalog).
    reads_catalogs_of: ClassVar[tuple[str, ...]] = ()
    default_categories: ClassVar[int] = 1000  # `fdsl search` without --categories
    max_categories: ClassVar[int | None] = None  # e.g. the labels an 8-bit mask can hold

    # ---- categories -------------------------------------------------------
    def search_context(self, seed: int, settings: Settings) -> Any:
        """Anything computed once per search (e.g. a shared base system)."""
        return None

    @abstractmethod
    def sample_category(self, rng: np.random.Generator, settings: Settings, context: Any):
        """Draw one candidate; return (params, score) if accepted, None if rejected."""

    @abstractmethod
    def save_params(self, params, path: Path) -> None:
        """Write one category's parameters in the family's published format."""

    @abstractmethod
    def load_params(self, path: Path):
        """Read and validate one category file; raise FdslError naming the problem."""

    def describe_params(self, params) -> dict:
        """A few numbers for the manifest (e.g. the number of maps)."""
        return {}

    # ---- instances --------------------------------------------------------
    def render_context(self, categories: list, settings: Settings) -> Any:
        """Anything shared by all renders of a run (e.g. the compat random sequence)."""
        return None

    @abstractmethod
    def draws_per_category(self, settings: Settings) -> int:
        """Number of independently random renders per category."""

    def views_per_draw(self, settings: Settings) -> int:
        """Number of deterministic views (e.g. flips) of each draw."""
        return 1

    @abstractmethod
    def render_draw(self, params, draw: int, rng: np.random.Generator, settings: Settings, context: Any):
        """Render draw ``draw`` of a category: (uint8 image (H, W) or (H, W, 3), warning or None)."""

    def view(self, image: np.ndarray, view: int, settings: Settings) -> np.ndarray:
        return image

    # ---- files: what one view is on disk (PNG unless the family says otherwise) ----
    def encode(self, item, settings: Settings) -> bytes:
        """The file bytes of one view (the writer's only format knowledge); e.g. a PLY for a point cloud."""
        return png_bytes(item)

    def is_complete(self, path: Path) -> bool:
        """Is the file at ``path`` a whole view file (resume skips it)?  Writes are atomic: a signature suffices."""
        return is_png(path)

    def renders_images(self, settings: Settings) -> bool:
        """Are the views images (uint8 arrays an image dataset can use), or other data (e.g. point clouds)?"""
        return True

    @abstractmethod
    def file_name(self, category: int, draw: int, view: int, settings: Settings) -> str:
        """File name of one image inside its category folder."""

    def images_per_category(self, settings: Settings) -> int:
        return self.draws_per_category(settings) * self.views_per_draw(settings)

    # ---- batched rendering on a torch device (optional) -------------------
    def torch_renderer(self) -> type | None:
        """The class of this family's batched torch renderer, or None.

        Built as ``cls(categories, settings, seed, torch.device)``; the protocol (duck-typed):
            draws_per_category() -> int, views_per_draw() -> int, num_categories -> int
            render_draws(categories, draws) -> (uint8 images (B, H, W) or (B, H, W, 3), warnings: list[str | None])
            view(images, views) -> images: view ``views[b]`` of row b (e.g. FractalDB's flips)
            file_name(category, draw, view) -> str
        All index arguments are (B,) int64 tensors; the images stay on the renderer's device.
        """
        if self.torch_renderer_path is None:
            return None
        import importlib

        module, name = self.torch_renderer_path.split(":")
        return getattr(importlib.import_module(module), name)

    def create_torch_renderer(self, categories: list, settings: Settings, seed: int, device="cpu"):
        """This family's batched renderer for these categories, on ``device``; FdslError if there is none."""
        from fdsl.core.checks import check_seed, resolve_torch_device

        renderer = self.torch_renderer()
        if renderer is None:
            raise FdslError(f"formula '{self.name}' has no torch (GPU) renderer yet; render it on the CPU "
                            f"(omit --device / --render-device), or use one of: {', '.join(torch_renderer_names())}")
        if not categories:
            raise FdslError("no categories to render: the catalog folder holds no parameter files")
        check_seed(seed)
        settings.validate()
        return renderer(categories, settings, seed, resolve_torch_device(device))


_REGISTRY: dict[str, type[Formula]] = {}


def register(cls: type[Formula]) -> type[Formula]:
    """Class decorator: make a formula available by name (as timm does for models)."""
    _REGISTRY[cls.name] = cls
    return cls


def formula_names() -> list[str]:
    return sorted(_REGISTRY)


def torch_renderer_names() -> list[str]:
    """The families that can render on a torch device."""
    return [name for name in formula_names() if _REGISTRY[name].torch_renderer_path is not None]


def formula_info(name: str) -> dict:
    """What the registry knows of a family without rendering anything (``fdsl formulas`` prints it)."""
    cls = type(create_formula(name))
    return {"name": cls.name, "summary": cls.summary, "output": cls.dataset_kind,
            "torch_renderer": cls.torch_renderer_path is not None, "params_suffix": cls.params_suffix,
            "default_categories": cls.default_categories}


def list_formulas() -> list[dict]:
    """Every registered family's metadata, sorted by name (as timm's ``list_models``)."""
    return [formula_info(name) for name in formula_names()]


def create_formula(name: str) -> Formula:
    if name not in _REGISTRY:
        raise FdslError(f"unknown formula '{name}'; choose one of: {', '.join(formula_names())}")
    return _REGISTRY[name]()
