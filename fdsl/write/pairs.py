"""Render a segmentation catalog (SegRCDB) to image/mask PNG pairs: workers, shards, atomic writes, resume.

Layouts: ``plain`` writes ``OUT/image/%06d.png`` + ``OUT/mask/%06d.png`` (the
published SegRCDB layout); ``mmseg`` writes ``OUT/images/training`` +
``OUT/annotations/training`` (what mmsegmentation's custom datasets read).
Masks are 8-bit grey ("L") PNGs: 0 background, category i is label i + 1.

A unit of work is one image index n; unit n belongs to shard n % N and is drawn
from ``rng_for(seed, "render", n)``, so the files are byte-identical at any
``--workers`` and ``--shard``.  The mask is written before the image, each under
a temporary name and renamed, so a pair counts as done when its image is a PNG
(and its mask too); a re-run removes temporaries and renders only what is
missing.  The same folder pieces as the ImageFolder writer: ``fdsl.core.files``,
``fdsl.catalog.params`` manifests, ``fdsl.core.workers``, ``fdsl.core.progress``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from fdsl.catalog.params import ensure_writable_folder, environment, load_catalog, write_manifest
from fdsl.core.errors import FdslError
from fdsl.core.files import atomic_write_bytes, folder_lock, is_png, png_bytes, remove_partial_files
from fdsl.core.progress import bar as progress_bar
from fdsl.catalog.specs import RenderSpec
from fdsl.core.workers import worker_pool
from fdsl.core.imagefiles import LAYOUT_FOLDERS
from fdsl.formulas.contour.segrcdb import render_pair
from fdsl.write.engine import check_existing  # the same refusal of a folder rendered with other settings

UNITS_PER_TASK = 16
FILE_NAME = "{:06d}.png"


@dataclass
class SegmentationReport:
    written: int = 0
    skipped: int = 0
    images: int = 0
    seconds: float = 0.0
    manifest: Path | None = None


def layout_folders(out: Path, layout: str) -> tuple[Path, Path]:
    image_dir, mask_dir = LAYOUT_FOLDERS[layout]
    return Path(out) / image_dir, Path(out) / mask_dir


_worker_state: dict = {}


def _init_worker(spec: RenderSpec, categories: list, out: str) -> None:
    _worker_state.update(spec=spec, categories=categories, folders=layout_folders(Path(out), spec.settings.layout))


def _render_units(indices: list) -> int:
    spec = _worker_state["spec"]
    image_dir, mask_dir = _worker_state["folders"]
    for index in indices:
        image, mask = render_pair(_worker_state["categories"], spec.settings, spec.seed, index)
        name = FILE_NAME.format(index)
        atomic_write_bytes(mask_dir / name, png_bytes(mask))  # the image last: it marks the pair as done
        atomic_write_bytes(image_dir / name, png_bytes(image))
    return len(indices)


def _done(image_dir: Path, mask_dir: Path, name: str, existing: set) -> bool:
    return name in existing and is_png(image_dir / name) and is_png(mask_dir / name)


def render_segmentation(spec: RenderSpec, params_dir: Path, out: Path, progress: bool = True) -> SegmentationReport:
    """Render every image/mask pair of the dataset (or of one shard) that is not already in ``out``."""
    from fdsl.formulas.contour.segrcdb import check_class_count

    if spec.device.backend != "numba":
        raise FdslError(f"formula '{spec.formula.name}' renders on the CPU only; omit --device")
    if spec.output.format != "folder":  # tar shards hold (image, class) samples; pairs with masks are not that
        raise FdslError(f"formula '{spec.formula.name}' writes image/mask folders only; omit --format "
                        f"{spec.output.format}")
    catalog = load_catalog(spec.formula, params_dir)  # every file validated before anything is written
    check_class_count(len(catalog.categories))
    out = ensure_writable_folder(out)
    with folder_lock(out, "render"):
        return _render_locked(spec, catalog, Path(params_dir), out, progress)


def _render_locked(spec: RenderSpec, catalog, params_dir: Path, out: Path, progress: bool) -> SegmentationReport:
    settings, shard = spec.settings, spec.shard
    identity = {"formula": spec.formula.name, "seed": spec.seed, "settings": settings.to_dict(),
                "params_fingerprint": catalog.fingerprint(), "renderer": spec.device.renderer}
    check_existing(out, identity)
    remove_partial_files(out)
    image_dir, mask_dir = layout_folders(out, settings.layout)
    image_dir.mkdir(parents=True, exist_ok=True)
    mask_dir.mkdir(parents=True, exist_ok=True)
    existing = {p.name for p in image_dir.iterdir()}
    report = SegmentationReport(images=settings.images)
    todo = []
    for index in range(shard.index, settings.images, shard.count):
        if _done(image_dir, mask_dir, FILE_NAME.format(index), existing):
            report.skipped += 1
        else:
            todo.append(index)
    classes = ["background"] + catalog.names
    manifest = {"kind": "segmentation-dataset", **identity, "params": str(params_dir.resolve()), "complete": False,
                "shard": f"{shard.index}/{shard.count}", "layout": settings.layout,
                "image_folder": str(image_dir.relative_to(out)), "mask_folder": str(mask_dir.relative_to(out)),
                "classes": classes, "ignore_index": 255,
                "counts": {"categories": len(catalog.categories), "images_in_dataset": settings.images},
                "environment": environment()}
    report.manifest = out / shard.manifest_name()
    if not todo:
        if not report.manifest.exists():
            _finish(report, manifest, 0.0)
        return report
    write_manifest(out, manifest, shard.manifest_name())
    start = time.perf_counter()
    tasks = [todo[i:i + UNITS_PER_TASK] for i in range(0, len(todo), UNITS_PER_TASK)]
    init = (spec, catalog.categories, str(out))
    meter = progress_bar(total=len(todo), desc=f"render {spec.formula.name}", enabled=progress)
    pool = None
    try:
        if spec.workers == 1:
            _init_worker(*init)
            results = map(_render_units, tasks)
        else:
            pool = worker_pool(spec.workers, _init_worker, init)
            results = pool.imap_unordered(_render_units, tasks)
        for written in results:
            report.written += written
            meter.update(written)
    finally:
        meter.close()
        if pool is not None:
            pool.terminate()
    _finish(report, manifest, time.perf_counter() - start)
    return report


def _finish(report: SegmentationReport, manifest: dict, seconds: float) -> None:
    report.seconds = seconds
    manifest.update(complete=True, seconds_last_run=round(seconds, 2), images_written_last_run=report.written)
    write_manifest(report.manifest.parent, manifest, report.manifest.name)
