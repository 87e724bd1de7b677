"""Render a catalog to an ImageFolder tree: workers, shards, atomic writes, resume.

Layout: ``OUT/{category:05d}/{formula file name}``, loadable by
``torchvision.datasets.ImageFolder`` as is.  A unit of work is one draw of one
category (all its views); unit u belongs to shard u % N.  Each image is
written under a temporary name and renamed, so a killed run leaves no
truncated image, and a re-run skips every unit whose images all exist.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from fdsl.catalog import (category_files, ensure_writable_folder, environment, fingerprint_files, read_manifest,
                          write_manifest)
from fdsl.errors import FdslError
from fdsl.fileio import atomic_write_bytes, png_bytes, remove_partial_files
from fdsl.formulas import create_formula
from fdsl.seeding import rng_for

UNITS_PER_TASK = 8
DEVICE_BATCH = 1024
WARNING_PREFIX = ".warning-"


@dataclass(frozen=True)
class Shard:
    index: int = 0
    count: int = 1

    @classmethod
    def parse(cls, text: str | None) -> "Shard":
        if not text:
            return cls()
        try:
            index, count = (int(part) for part in text.split("/"))
        except ValueError:
            raise FdslError(f"--shard must look like K/N (e.g. 0/4), got '{text}'") from None
        if not (count >= 1 and 0 <= index < count):
            raise FdslError(f"--shard {text}: need 0 <= K < N, e.g. 0/{max(count, 1)}")
        return cls(index, count)

    def manifest_name(self) -> str:
        return "manifest.json" if self.count == 1 else f"manifest-shard-{self.index}-of-{self.count}.json"


@dataclass
class RenderReport:
    written: int = 0
    skipped: int = 0
    images: int = 0
    seconds: float = 0.0
    warnings: list = field(default_factory=list)
    manifest: Path | None = None


_worker_state: dict = {}


def _init_worker(formula_name, settings_dict, seed, params_files, out) -> None:
    formula = create_formula(formula_name)
    settings = formula.RenderSettings.from_dict(settings_dict)
    categories = [formula.load_params(Path(p)) for p in params_files]
    _worker_state.update(formula=formula, settings=settings, seed=seed, categories=categories, out=Path(out),
                         context=formula.render_context(categories, settings))


def render_unit(formula, settings, seed, params, category, draw, context, views=None):
    """The views of one draw (all, or the listed ones): [(file name, image)], warning or None."""
    image, warning = formula.render_draw(params, draw, rng_for(seed, "render", category, draw), settings, context)
    if views is None:
        views = range(formula.views_per_draw(settings))
    return [(formula.file_name(category, draw, v, settings), formula.view(image, v, settings)) for v in views], warning


def _store(out: Path, category: int, draw: int, views: list, warning) -> tuple[int, list]:
    """Write one draw's views atomically; its warning first, so a resumed run still knows about it."""
    notes = []
    if warning:
        note = {"category": category, "draw": draw, "warning": warning}
        atomic_write_bytes(out / f"{WARNING_PREFIX}{category:05d}-{draw:05d}.json", json.dumps(note).encode())
        notes.append(note)
    folder = out / f"{category:05d}"
    for name, image in views:
        atomic_write_bytes(folder / name, png_bytes(image))
    return len(views), notes


def _render_units(units: list) -> tuple[int, list]:
    """CPU path: each worker renders and writes its units."""
    s = _worker_state
    written, warnings = 0, []
    for category, draw, missing in units:
        views, warning = render_unit(s["formula"], s["settings"], s["seed"], s["categories"][category],
                                     category, draw, s["context"], missing)
        count, notes = _store(s["out"], category, draw, views, warning)
        written += count
        warnings += notes
    return written, warnings


def _store_rendered(job) -> tuple[int, list]:
    """Device path: the images come rendered; CPU workers only encode and write them."""
    return _store(_worker_state["out"], *job)


def _device_jobs(renderer, formula_name, categories, todo, settings, seed):
    """Render the todo list with a torch renderer, a batch at a time, as jobs for _store_rendered."""
    from fdsl.gpu import render_units

    for start in range(0, len(todo), DEVICE_BATCH):
        chunk = todo[start:start + DEVICE_BATCH]
        rendered = render_units(formula_name, categories, [(c, d) for c, d, _ in chunk], settings, seed,
                                renderer=renderer)
        for (category, draw, missing), (views, warning) in zip(chunk, rendered):
            yield category, draw, [views[v] for v in missing], warning


def _check_existing(out: Path, shard: Shard, identity: dict) -> None:
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
    """Render every image of a catalog (or of one shard) that is not already in ``out``.

    device "cpu" renders with the compiled CPU kernels inside the workers; a torch
    device ("cuda", "cuda:1", or "torch-cpu" to run the batched renderer on the CPU)
    renders batches there while the workers only encode PNGs.
    """
    formula = create_formula(formula_name)
    settings.validate()
    if workers < 1:
        raise FdslError(f"--workers must be at least 1, got {workers}")
    if seed < 0:
        raise FdslError(f"--seed must be >= 0, got {seed}")
    files = category_files(params_dir, formula.params_suffix)
    categories = [formula.load_params(p) for p in files]  # validate every file before writing anything
    renderer = None
    if device != "cpu":  # a missing GPU or a formula without a torch renderer fails here, before any write
        from fdsl.gpu import create_torch_renderer

        renderer = create_torch_renderer(formula_name, categories, settings, seed, device.removeprefix("torch-"))
    out = ensure_writable_folder(out)
    # The batched torch renderer draws other (statistically equivalent) images: never mix the two in one folder.
    identity = {"formula": formula_name, "seed": seed, "settings": settings.to_dict(),
                "params_fingerprint": fingerprint_files(files), "renderer": "numba" if device == "cpu" else "torch"}
    _check_existing(out, shard, identity)
    remove_partial_files(out)

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
            # Only the missing views are written: a kill can land between the views of one draw.
            missing = [v for v in range(views) if formula.file_name(category, draw, v, settings) not in existing]
            report.skipped += views - len(missing)
            if missing:
                todo.append((category, draw, missing))
    manifest = {"kind": "dataset", **identity, "params": str(Path(params_dir).resolve()), "complete": False,
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
    init = (formula_name, settings.to_dict(), seed, [str(p) for p in files], str(out))
    bar = tqdm(total=sum(len(m) for _, _, m in todo), desc=f"render {formula_name}", unit="img", disable=not progress)
    pool = None
    try:
        on_device = renderer is not None
        if on_device:
            jobs = _device_jobs(renderer, formula_name, categories, todo, settings, seed)
        if workers == 1:
            _init_worker(*init)
            results = map(_store_rendered, jobs) if on_device else map(_render_units, tasks)
        else:
            pool = multiprocessing.get_context("spawn").Pool(workers, initializer=_init_worker, initargs=init)
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
