"""Write scenes: workers, shards, atomic files, resume, one manifest; the same bytes at any split.

Unit of work: one scene; scene i belongs to shard i % N.  Scene i is drawn from
``rng_for(seed, "scene", i)`` and its objects are the PC-FractalDB instances of
the same seed, so the output does not depend on workers or shards.  Every file
is written under a temporary name and renamed; a re-run skips each scene whose
files are all there (the layout JSON is written last).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from fdsl.catalog import ensure_writable_folder, environment, load_catalog, write_manifest
from fdsl.errors import FdslError
from fdsl.fileio import atomic_write_bytes, folder_lock, remove_partial_files
from fdsl.formulas import create_formula
from fdsl.progress import bar as progress_bar
from fdsl.scenes.assemble import assemble
from fdsl.scenes.files import is_complete, scene_files, scene_names
from fdsl.scenes.layout import SceneSettings, layout_record, sample_layout
from fdsl.seeding import rng_for
from fdsl.specs import Shard, check_seed, check_workers
from fdsl.workers import task_results
from fdsl.writer import _check_existing

SCENES_PER_TASK = 2
MAX_SCENES = 10_000_000


@dataclass(frozen=True)
class SceneSpec:
    """``scenes`` scenes of the catalog's categories with ``settings`` from ``seed``."""

    settings: SceneSettings
    scenes: int
    seed: int = 0
    workers: int = 1
    shard: Shard = field(default_factory=Shard)

    def __post_init__(self):
        if not (1 <= self.scenes <= MAX_SCENES):
            raise FdslError(f"--scenes must be between 1 and {MAX_SCENES:,}, got {self.scenes}")
        check_seed(self.seed)
        check_workers(self.workers)
        self.settings.validate()


@dataclass
class SceneReport:
    written: int = 0
    skipped: int = 0
    seconds: float = 0.0
    objects_without_room: int = 0
    manifest: Path | None = None


class SceneMaker:
    """Everything one scene needs, built once per process: the catalog, its names and the objects' context."""

    def __init__(self, spec: SceneSpec, categories: list, names: list):
        self.spec, self.categories, self.names = spec, categories, names
        cloud = create_formula("pc-fractal")
        self.context = None if spec.settings.layout_only else cloud.render_context(categories,
                                                                                   spec.settings.cloud_settings())

    def layout(self, index: int):
        return sample_layout(rng_for(self.spec.seed, "scene", index), self.spec.settings, len(self.categories))

    def files(self, index: int) -> tuple[list, int]:
        """(file name, bytes) of scene ``index`` and how many of its objects found no room."""
        objects, dropped = self.layout(index)
        scene = None
        if not self.spec.settings.layout_only:
            scene = assemble(objects, self.categories, self.spec.settings, self.spec.seed, index, self.context)
        return scene_files(index, layout_record(index, objects, self.names, dropped), scene), dropped


_worker_state: dict = {}


def _init_worker(spec: SceneSpec, categories: list, names: list, out: str) -> None:
    _worker_state.update(maker=SceneMaker(spec, categories, names), out=Path(out))


def _write_scenes(indices: list) -> tuple[int, int]:
    maker, out = _worker_state["maker"], _worker_state["out"]
    dropped = 0
    for index in indices:
        files, left_out = maker.files(index)
        for name, data in files:
            atomic_write_bytes(out / name, data)
        dropped += left_out
    return len(indices), dropped


def write_scenes(spec: SceneSpec, params_dir: Path, out: Path, progress: bool = True) -> SceneReport:
    """Write every scene of the spec (its shard) that is not already complete in ``out``."""
    catalog = load_catalog(create_formula("pc-fractal"), params_dir)  # validated before anything is written
    SceneMaker(spec, catalog.categories, catalog.names)  # a catalog the objects cannot use fails here
    out = ensure_writable_folder(out)
    with folder_lock(out, "scenes"):
        identity = {"kind": "scenes", "seed": spec.seed, "settings": spec.settings.to_dict(),
                    "params_fingerprint": catalog.fingerprint()}
        _check_existing(out, identity)
        remove_partial_files(out)
        existing = set(os.listdir(out))
        layout_only, shard = spec.settings.layout_only, spec.shard
        mine = [i for i in range(spec.scenes) if i % shard.count == shard.index]
        todo = [i for i in mine if not all(n in existing and is_complete(out / n) for n in scene_names(i, layout_only))]
        report = SceneReport(skipped=len(mine) - len(todo))
        manifest = {**identity, "params": str(Path(params_dir).resolve()), "complete": False,
                    "shard": f"{shard.index}/{shard.count}", "layout": scene_names(0, layout_only),
                    "counts": {"scenes": spec.scenes, "categories": len(catalog.categories)},
                    "environment": environment()}
        report.manifest = write_manifest(out, manifest, shard.manifest_name())
        start = time.perf_counter()
        tasks = [todo[i:i + SCENES_PER_TASK] for i in range(0, len(todo), SCENES_PER_TASK)]
        init = (spec, catalog.categories, catalog.names, str(out))
        bar = progress_bar(total=len(todo), desc="scenes", enabled=progress)
        try:
            with task_results(spec.workers, _init_worker, init, _write_scenes, tasks) as results:
                for written, dropped in results:
                    report.written += written
                    report.objects_without_room += dropped
                    bar.update(written)
        finally:
            bar.close()
        report.seconds = time.perf_counter() - start
        manifest.update(complete=True, seconds_last_run=round(report.seconds, 2),
                        scenes_written_last_run=report.written,
                        objects_without_room_last_run=report.objects_without_room)
        write_manifest(out, manifest, shard.manifest_name())
        return report
