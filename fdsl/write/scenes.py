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
from dataclasses import dataclass
from pathlib import Path

from fdsl.catalog.params import ensure_writable_folder, environment, load_catalog, write_manifest
from fdsl.core.files import atomic_write_bytes, folder_lock, remove_partial_files
from fdsl.formulas import create_formula
from fdsl.core.progress import bar as progress_bar
from fdsl.catalog.specs import SceneSpec
from fdsl.formulas.scenes.layout import layout_record
from fdsl.formulas.scenes.maker import SceneMaker
from fdsl.core.workers import task_results
from fdsl.write.engine import check_existing
from fdsl.write.scene_files import is_complete, scene_files, scene_names

SCENES_PER_TASK = 2


@dataclass
class SceneReport:
    written: int = 0
    skipped: int = 0
    seconds: float = 0.0
    objects_without_room: int = 0
    manifest: Path | None = None


_worker_state: dict = {}


def _init_worker(spec: SceneSpec, categories: list, names: list, out: str) -> None:
    _worker_state.update(maker=SceneMaker(spec, categories, names), out=Path(out))


def _write_scenes(indices: list) -> tuple[int, int]:
    maker, out = _worker_state["maker"], _worker_state["out"]
    dropped = 0
    for index in indices:
        objects, left_out, scene = maker.scene(index)
        files = scene_files(index, layout_record(index, objects, maker.names, left_out), scene)
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
        check_existing(out, identity)
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
