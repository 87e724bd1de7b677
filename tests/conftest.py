"""Shared fixtures: the real data folder (skipped when absent), the vendored published categories, tiny catalogs."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from helpers import OFFICIAL_PARAMS, OFFICIAL_SAMPLE, make_catalog


@pytest.fixture(autouse=True)
def fresh_notes():
    """Each test sees the notes of its own command: notes are said once per process, and a user's process runs
    one command, so a note said by an earlier test must not hide (or pass for) the one this test expects."""
    from fdsl.core import notes

    notes._said.clear()
    notes._held = None
    yield


@pytest.fixture(scope="session")
def official_params() -> Path:
    if not OFFICIAL_PARAMS.is_dir():
        pytest.skip(f"real data not found at {OFFICIAL_PARAMS} (only present on the project's machines)")
    return OFFICIAL_PARAMS


@pytest.fixture
def official_subset(tmp_path) -> Path:
    """Three published categories (vendored), copied so tests can point --params at them."""
    folder = tmp_path / "official3"
    folder.mkdir()
    for name in ("00000.csv", "00001.csv", "00002.csv"):
        shutil.copy(OFFICIAL_SAMPLE / name, folder / name)
    return folder


@pytest.fixture
def tiny_catalog(tmp_path) -> Path:
    """A 3-category catalog found by a small, fast search."""
    return make_catalog(tmp_path / "catalog", seed=3, categories=3, points=20_000, size=128, fill_rate=0.15)


@pytest.fixture(scope="session")
def catalog(tmp_path_factory) -> Path:
    """A 4-category FractalDB catalog from a real small search, shared by the training tests."""
    return make_catalog(tmp_path_factory.mktemp("cat") / "params", seed=2, categories=4,
                        points=2000, size=64, fill_rate=0.1)
