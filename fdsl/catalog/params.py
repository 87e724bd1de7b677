"""Category parameter files on disk: the published CSV format in and out, and manifests.

A catalog is a folder of one parameter file per category (``00000.csv`` ...),
sorted by name: the i-th file is category i.  Every run also writes a JSON
manifest (seed, settings, versions, counts) beside its outputs.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fdsl.core.version import __version__
from fdsl.core.errors import FdslError
from fdsl.core.files import atomic_write_bytes

MANIFEST = "manifest.json"


def category_files(folder: Path, suffix: str) -> list[Path]:
    folder = Path(folder)
    if not folder.is_dir():
        raise FdslError(f"parameter folder {folder} does not exist; create it with 'fdsl search'")
    files = sorted(p for p in folder.iterdir() if p.suffix == suffix and not p.name.startswith("."))
    if not files:
        raise FdslError(f"no {suffix} category files in {folder}; create them with 'fdsl search' or point --params at a catalog")
    return files


@dataclass(frozen=True)
class Catalog:
    """A params folder read and validated: ``files[i]`` holds category ``i``, ``categories[i]`` its parameters."""

    files: list
    categories: list

    @property
    def names(self) -> list[str]:
        """Category names (file stems, e.g. '00042'): the class names of a dataset."""
        return [path.stem for path in self.files]

    def fingerprint(self) -> str:
        return fingerprint_files(self.files)


def load_catalog(formula, folder: Path, limit: int | None = None) -> Catalog:
    """The categories of a params folder (the first ``limit``), every file validated before any work starts.

    A catalog whose manifest names another family is refused when its files do not read as ``formula``'s,
    and said in one line when they do (a deliberate cross-family render is allowed, a mistaken one is seen),
    unless ``formula`` reads that family's catalogs as its own (OFDB renders FractalDB's).
    """
    manifest = catalog_manifest(folder)
    searched = manifest["formula"] if manifest else None
    other = searched is not None and searched != formula.name and searched not in formula.reads_catalogs_of
    try:
        files = category_files(folder, formula.params_suffix)[:limit]
        if manifest and limit is None:
            _check_listed(folder, manifest, files)
        categories = [formula.load_params(path) for path in files]
    except FdslError as exc:
        if other:
            raise FdslError(f"{folder} is a catalog of '{searched}' (its {MANIFEST}), not of '{formula.name}': "
                            f"{exc}") from None
        raise
    if other:
        from fdsl.core.notes import note

        note(f"{folder} was searched as '{searched}' (its {MANIFEST}); its files are read as '{formula.name}'")
    return Catalog(files, categories)


def catalog_formula(folder: Path) -> str | None:
    """The family a catalog folder was searched with, from its manifest (None: a folder of files alone)."""
    manifest = catalog_manifest(folder)
    return manifest["formula"] if manifest else None


def catalog_manifest(folder: Path) -> dict | None:
    """The manifest ``fdsl search`` wrote, checked; None when there is none (category files gathered by hand, such
    as the published FractalDB-1k CSVs).  A manifest that is there but unreadable, or not a catalog's, is an error:
    it would otherwise be ignored in silence."""
    path = Path(folder) / MANIFEST
    if not path.exists():
        return None
    try:
        manifest = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, ValueError):
        raise FdslError(f"{path} is unreadable or not JSON; repair the catalog (re-run fdsl search) or delete the "
                        "file to use the folder as plain category files") from None
    if not isinstance(manifest, dict) or manifest.get("kind") != "catalog" or not isinstance(manifest.get("formula"), str):
        kind = manifest.get("kind") if isinstance(manifest, dict) else type(manifest).__name__
        raise FdslError(f"{path} is not a catalog manifest (kind: {kind}); point --params at a folder written by "
                        "'fdsl search'")
    return manifest


def _check_listed(folder: Path, manifest: dict, files: list[Path]) -> None:
    """The category files must be the ones the manifest lists: a missing or extra file renumbers the categories."""
    listed = [row.get("file") for row in manifest.get("categories", []) if isinstance(row, dict)]
    present = [path.name for path in files]
    if listed and listed != present:
        missing = sorted(set(listed) - set(present))
        extra = sorted(set(present) - set(listed))
        what = f"{missing[0]} is missing" if missing else f"{extra[0]} is not in it"
        raise FdslError(f"{folder}: {MANIFEST} lists {len(listed)} category files and {what}; the catalog is "
                        "incomplete or mixed (re-run fdsl search into a new folder)")


def fingerprint_files(files: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def environment() -> dict:
    import isal
    import numba

    # isal: the PNG bytes (not the pixels) depend on its deflate implementation.
    return {"fdsl": __version__, "numpy": np.__version__, "numba": numba.__version__, "isal": isal.__version__,
            "python": platform.python_version(), "machine": platform.machine()}


def write_manifest(folder: Path, manifest: dict, name: str = MANIFEST) -> Path:
    path = Path(folder) / name
    atomic_write_bytes(path, (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode())
    return path


def read_manifest(folder: Path, name: str = MANIFEST) -> dict | None:
    path = Path(folder) / name
    if not path.exists():
        return None
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError):
        raise FdslError(f"{path} is not a valid manifest; delete it or choose another --out") from None
    if not isinstance(manifest, dict):  # e.g. "null" or a list: JSON, but no manifest fdsl wrote
        what = {type(None): "null", list: "an array", str: "a string", bool: "true or false"}.get(type(manifest),
                                                                                             "a number")
        raise FdslError(f"{path} is not a valid manifest (JSON {what}, not an object); delete it or choose another "
                        "--out")
    return manifest


def ensure_writable_folder(folder: Path) -> Path:
    """Create ``folder`` if needed and prove it is writable, before any work starts."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".fdsl-write-probe-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise FdslError(f"cannot write to {folder} ({exc.strerror or exc}); choose a writable --out") from None
    return folder
