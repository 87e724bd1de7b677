"""Shared fixtures: the real data folder (skipped when absent) and tiny catalogs."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
OFFICIAL_PARAMS = SHARED_DATA / "fractaldb1k-official-params"


@pytest.fixture(scope="session")
def official_params() -> Path:
    if not OFFICIAL_PARAMS.is_dir():
        pytest.skip(f"real data not found at {OFFICIAL_PARAMS} (only present on the project's machines)")
    return OFFICIAL_PARAMS


@pytest.fixture
def official_subset(official_params, tmp_path) -> Path:
    """Three published categories, copied so tests can point --params at them."""
    folder = tmp_path / "official3"
    folder.mkdir()
    for name in ("00000.csv", "00001.csv", "00002.csv"):
        shutil.copy(official_params / name, folder / name)
    return folder


@pytest.fixture
def tiny_catalog(tmp_path) -> Path:
    """A 3-category catalog found by a small, fast search."""
    from fdsl.formulas import create_formula
    from fdsl.search import search_categories, write_catalog

    settings = create_formula("fractal").SearchSettings(points=20_000, size=128, fill_rate=0.15)
    result = search_categories("fractal", settings, seed=3, categories=3, progress=False)
    out = tmp_path / "catalog"
    write_catalog("fractal", settings, 3, result, out)
    return out
