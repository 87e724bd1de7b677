"""Render a catalog to an ImageFolder tree: workers, shards, atomic writes, resume.

Layout: ``OUT/{category:05d}/{formula file name}``, loadable by
``torchvision.datasets.ImageFolder`` as is.  A unit of work is one draw of one
category (all its views); unit u belongs to shard u % N.  Each image is
written under a temporary name and renamed, so a killed run leaves no
truncated image, and a re-run skips every unit whose images all exist.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path


from fdsl.catalog import ensure_writable_folder, environment, load_catalog, read_manifest, write_manifest
from fdsl.errors import FdslError
from fdsl.progress import bar as progress_bar
from fdsl.fileio import atomic_write_bytes, folder_lock, remove_partial_files
from fdsl.seeding import rng_for
from fdsl.specs import Device, RenderSpec, Shard
from fdsl.workers import worker_pool

__all__ = ["RenderReport", "Shard", "render", "render_dataset", "render_unit", "render_units"]

UNITS_PER_TASK = 8
DEVICE_BATCH = 1024
WARNING_PREFIX = ".warning-"


@dataclass
class RenderReport:
    written: int = 0
    skipped: int = 0
    images: int = 0
    seconds: float = 0.0
    warnings: list = field(default_factory=list)
    manifest: Path | None = None


_worker_state: dict = {}


def _init_worker(spec: RenderSpec, categories: list, out: str) -> None:
    _worker_state.update(spec=spec, categories=categories, out=Path(out),
                         context=spec.formula.render_context(categories, spec.settings))


def render_unit(formula, settings, seed, params, category, draw, context, views=None):
    """The views of one draw (all, or the listed ones): [(file name, image)], warning or None."""
    image, warning = formula.render_draw(params, draw, rng_for(seed, "render", category, draw), settings, context)
    if views is None:
        views = range(formula.views_per_draw(settings))
    return [(formula.file_name(category, draw, v, settings), formula.view(image, v, settings)) for v in views], warning


def _store(out: Path, category: int, draw: int, views: list, warning, spec: RenderSpec) -> tuple[int, list]:
    """Write one draw's views atomically; its warning first, so a resumed run still knows about it."""
    notes = []
    if warning:
        note = {"category": category, "draw": draw, "warning": warning}
        atomic_write_bytes(out / f"{WARNING_PREFIX}{category:05d}-{draw:05d}.json", json.dumps(note).encode())
        notes.append(note)
    folder = out / f"{category:05d}"
    for name, image in views:
        atomic_write_bytes(folder / name, spec.formula.encode(image, spec.settings))
    return len(views), notes


def _render_units(units: list) -> tuple[int, list]:
    """CPU path: each worker renders and writes its units."""
    s = _worker_state
    spec = s["spec"]
    written, warnings = 0, []
    for category, draw, missing in units:
        views, warning = render_unit(spec.formula, spec.settings, spec.seed, s["categories"][category],
                                     category, draw, s["context"], missing)
        count, notes = _store(s["out"], category, draw, views, warning, spec)
        written += count
        warnings += notes
    return written, warnings


def _store_rendered(job) -> tuple[int, list]:
    """Device path: the images come rendered; CPU workers only encode and write them."""
    return _store(_worker_state["out"], *job, _worker_state["spec"])


def render_units(renderer, units: list, batch_size: int = 256) -> list:
    """Render writer units (category, draw) with a torch renderer: one ([(file name, uint8 array)], warning) each.

    The same shape as ``render_unit`` returns per unit, so the CPU workers only
    encode PNGs.  The images are copied to the host here (the writer needs them there).
    """
    import numpy as np
    import torch

    views = renderer.views_per_draw()
    results = []
    for start in range(0, len(units), batch_size):
        chunk = units[start:start + batch_size]
        cats = torch.tensor([c for c, _ in chunk], dtype=torch.int64)
        draws = torch.tensor([d for _, d in chunk], dtype=torch.int64)
        images, warnings = renderer.render_draws(cats, draws)
        # Each draw is rendered once; its views are cheap transforms of it.
        per_view = [renderer.view(images, torch.full((len(chunk),), v, dtype=torch.int64)).cpu().numpy()
                    for v in range(views)]
        for k, (category, draw) in enumerate(chunk):
            named = [(renderer.file_name(category, draw, v), np.ascontiguousarray(per_view[v][k]))
                     for v in range(views)]
            results.append((named, warnings[k]))
    return results


def _device_jobs(renderer, todo):
    """Render the todo list with a torch renderer, a batch at a time, as jobs for _store_rendered."""
    for start in range(0, len(todo), DEVICE_BATCH):
        chunk = todo[start:start + DEVICE_BATCH]
        rendered = render_units(renderer, [(c, d) for c, d, _ in chunk])
        for (category, draw, missing), (views, warning) in zip(chunk, rendered):
            yield category, draw, [views[v] for v in missing], warning


def _check_existing(out: Path, identity: dict) -> None:
    for path in sorted(out.glob("manifest*.json")):
        previous = read_manifest(out, path.name)
        if previous is None:
            continue
        mismatched = [k for k in identity if previous.get(k) != identity[k]]
        if mismatched:
            raise FdslError(f"{out} holds a dataset made with a different {', '.join(mismatched)} ({path.name}); "
                            "re-run with the same options, or render to a new --out")


def render_dataset(formula_name: str, params_dir: Path, out: Path, settings, seed: int = 0, workers: int = 1,
                   shard: Shard = Shard(), progress: bool = True, device: str = "cpu") -> RenderReport:
    """``render`` for scripts: the same, from plain values (device: "cpu", "cuda", "cuda:N" or "torch-cpu")."""
    spec = RenderSpec(formula_name, settings, seed=seed, workers=workers, shard=shard, device=Device.parse(device))
    return render(spec, params_dir, out, progress)


def _missing_views(folder: Path, spec: RenderSpec, category: int, draw: int, existing: set) -> list[int]:
    """Views of a draw not yet on disk as whole files (a kill can land between the views of one draw)."""
    formula, settings = spec.formula, spec.settings
    names = [formula.file_name(category, draw, v, settings) for v in range(formula.views_per_draw(settings))]
    return [v for v, name in enumerate(names) if name not in existing or not formula.is_complete(folder / name)]


def render(spec: RenderSpec, params_dir: Path, out: Path, progress: bool = True) -> RenderReport:
    """Render every image of a catalog (or of one shard) that is not already in ``out``."""
    formula, settings = spec.formula, spec.settings
    catalog = load_catalog(formula, params_dir)  # every file validated before anything is written
    # Built once here too, so a catalog the formula cannot render (pc-fractal with one category) fails before any write.
    formula.render_context(catalog.categories, settings)
    renderer = None
    if spec.device.backend == "torch":  # a formula without a torch renderer fails here, before any write
        renderer = formula.create_torch_renderer(catalog.categories, settings, spec.seed, spec.device.torch_name)
    out = ensure_writable_folder(out)
    with folder_lock(out, "render"):
        return _render_locked(spec, catalog, renderer, Path(params_dir), out, progress)


def _render_locked(spec: RenderSpec, catalog, renderer, params_dir: Path, out: Path, progress: bool) -> RenderReport:
    formula, settings, shard = spec.formula, spec.settings, spec.shard
    # The batched torch renderer draws other (statistically equivalent) images: never mix the two in one folder.
    identity = {"formula": formula.name, "seed": spec.seed, "settings": settings.to_dict(),
                "params_fingerprint": catalog.fingerprint(), "renderer": spec.device.renderer}
    _check_existing(out, identity)
    remove_partial_files(out)

    categories = catalog.categories
    draws, views = formula.draws_per_category(settings), formula.views_per_draw(settings)
    report = RenderReport(images=len(categories) * draws * views)
    todo = []
    for category in range(len(categories)):
        folder = out / f"{category:05d}"
        folder.mkdir(exist_ok=True)
        existing = set(os.listdir(folder))
        for draw in range(draws):
            if (category * draws + draw) % shard.count != shard.index:
                continue
            missing = _missing_views(folder, spec, category, draw, existing)
            report.skipped += views - len(missing)
            if missing:
                todo.append((category, draw, missing))
    manifest = {"kind": "dataset", **identity, "params": str(params_dir.resolve()), "complete": False,
                "shard": f"{shard.index}/{shard.count}", "layout": "{category:05d}/" + formula.file_name(0, 0, 0, settings),
                "counts": {"categories": len(categories), "draws_per_category": draws, "views_per_draw": views,
                           "images_in_dataset": report.images}, "environment": environment()}
    if not todo:
        report.manifest = out / shard.manifest_name()
        if not report.manifest.exists():
            report.manifest = _finish(out, shard, manifest, report, 0.0)
        return report
    write_manifest(out, manifest, shard.manifest_name())

    start = time.perf_counter()
    tasks = [todo[i:i + UNITS_PER_TASK] for i in range(0, len(todo), UNITS_PER_TASK)]
    init = (spec, categories, str(out))
    bar = progress_bar(total=sum(len(m) for _, _, m in todo), desc=f"render {formula.name}", enabled=progress)
    pool = None
    try:
        on_device = renderer is not None
        if on_device:
            jobs = _device_jobs(renderer, todo)
        if spec.workers == 1:
            _init_worker(*init)
            results = map(_store_rendered, jobs) if on_device else map(_render_units, tasks)
        else:
            pool = worker_pool(spec.workers, _init_worker, init)
            results = (pool.imap(_store_rendered, jobs, chunksize=16) if on_device
                       else pool.imap_unordered(_render_units, tasks))
        for written, _ in results:
            report.written += written
            bar.update(written)
    finally:
        bar.close()
        if pool is not None:
            pool.terminate()
    report.manifest = _finish(out, shard, manifest, report, time.perf_counter() - start)
    return report


def _finish(out: Path, shard: Shard, manifest: dict, report: RenderReport, seconds: float) -> Path:
    report.seconds = seconds
    report.warnings = [json.loads(p.read_text()) for p in sorted(out.glob(f"{WARNING_PREFIX}*.json"))]
    kinds: dict[str, int] = {}
    for note in report.warnings:
        kind = note["warning"].split(":")[0]
        kinds[kind] = kinds.get(kind, 0) + 1
    manifest.update(complete=True, seconds_last_run=round(seconds, 2), images_written_last_run=report.written,
                    warnings={"draws": len(report.warnings), "by_kind": kinds, "examples": report.warnings[:50]})
    return write_manifest(out, manifest, shard.manifest_name())
