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
    """The categories of a params folder (the first ``limit``), every file validated before any work starts."""
    files = category_files(folder, formula.params_suffix)[:limit]
    return Catalog(files, [formula.load_params(path) for path in files])


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
        return json.loads(path.read_text())
    except (OSError, ValueError):
        raise FdslError(f"{path} is not a valid manifest; delete it or choose another --out") from None


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
