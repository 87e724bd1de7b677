"""Render a catalog to disk: workers, shards, atomic writes, resume, whatever the output format.

Where images go is a sink (fdsl/sinks.py): an ImageFolder tree
``OUT/{category:05d}/{formula file name}``, loadable by
``torchvision.datasets.ImageFolder`` as is, or WebDataset tar shards
``OUT/{shard:06d}.tar``.  The writer renders the sink's tasks (a few draws of
the folder layout, one tar of the shard layout) in worker processes; each file
is written under a temporary name and renamed, so a killed run leaves nothing
truncated, and a re-run redoes only the tasks whose files are not all whole.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path


from fdsl.catalog.params import ensure_writable_folder, environment, load_catalog, read_manifest, write_manifest
from fdsl.core.errors import FdslError
from fdsl.core.progress import bar as progress_bar
from fdsl.core.files import atomic_write_bytes, folder_lock, remove_partial_files
from fdsl.core.seeding import rng_for
from fdsl.write.sinks import make_sink
from fdsl.catalog.specs import Device, Output, RenderSpec, Shard
from fdsl.core.workers import worker_pool

__all__ = ["RenderReport", "Shard", "render", "render_dataset", "render_unit", "render_units"]

DEVICE_BATCH = 1024
WARNING_PREFIX = ".warning-"
# Manifests written before the output format was recorded describe an ImageFolder tree.
LEGACY_IDENTITY = {"output": Output().to_dict()}


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
                         sink=make_sink(spec.output, Path(out), spec.formula, spec.settings, len(categories)),
                         context=spec.formula.render_context(categories, spec.settings))


def render_unit(formula, settings, seed, params, category, draw, context, views=None):
    """The views of one draw (all, or the listed ones): [(file name, image)], warning or None."""
    image, warning = formula.render_draw(params, draw, rng_for(seed, "render", category, draw), settings, context)
    if views is None:
        views = range(formula.views_per_draw(settings))
    return [(formula.file_name(category, draw, v, settings), formula.view(image, v, settings)) for v in views], warning


def _store(task, rendered: list) -> tuple[int, list]:
    """Store one task's draws [(category, draw, [(file name, image)], warning)]; the warnings first, so a
    resumed run still knows about them."""
    notes = []
    for category, draw, _, warning in rendered:
        if warning:
            note = {"category": category, "draw": draw, "warning": warning}
            atomic_write_bytes(_worker_state["out"] / f"{WARNING_PREFIX}{category:05d}-{draw:05d}.json",
                               json.dumps(note).encode())
            notes.append(note)
    return _worker_state["sink"].store(task, rendered), notes


def _render_task(task) -> tuple[int, list]:
    """CPU path: each worker renders and stores whole tasks."""
    s = _worker_state
    spec = s["spec"]
    rendered = []
    for category, draw, views in s["sink"].parts(task):
        images, warning = render_unit(spec.formula, spec.settings, spec.seed, s["categories"][category],
                                      category, draw, s["context"], views)
        rendered.append((category, draw, images, warning))
    return _store(task, rendered)


def _store_rendered(job) -> tuple[int, list]:
    """Device path: the images come rendered; CPU workers only encode and store them."""
    return _store(*job)


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


def _device_jobs(renderer, sink, tasks):
    """Render the tasks' draws with a torch renderer, about DEVICE_BATCH draws at a time: (task, rendered) jobs."""
    pending: list = []

    def flush():
        draws = [(category, draw) for _, parts in pending for category, draw, _ in parts]
        results = iter(render_units(renderer, draws))
        for task, parts in pending:
            rendered = []
            for category, draw, views in parts:
                images, warning = next(results)
                rendered.append((category, draw, [images[v] for v in views], warning))
            yield task, rendered
        pending.clear()

    for task in tasks:
        pending.append((task, sink.parts(task)))
        if sum(len(parts) for _, parts in pending) >= DEVICE_BATCH:
            yield from flush()
    yield from flush()


def check_existing(out: Path, identity: dict, shard: Shard | None = None) -> None:
    """Refuse a folder written with other settings (or, given ``shard``, split into another number of shards)."""
    for path in sorted(out.glob("manifest*.json")):
        previous = read_manifest(out, path.name)
        if previous is None:
            continue
        split = int(previous.get("shard", "0/1").split("/")[1])
        if shard is not None and split != shard.count:
            how = f"--shard K/{split}" if split > 1 else "no --shard"
            raise FdslError(f"{out} holds a render split into {split} shard(s) ({path.name}); render the rest with "
                            f"{how} ('fdsl status {out}' names what is missing), or render to a new --out")
        mismatched = [k for k in identity if previous.get(k, LEGACY_IDENTITY.get(k)) != identity[k]]
        if mismatched:
            raise FdslError(f"{out} holds a dataset made with a different {', '.join(mismatched)} ({path.name}); "
                            "re-run with the same options, or render to a new --out")


def render_dataset(formula_name: str, params_dir: Path, out: Path, settings, seed: int = 0, workers: int = 1,
                   shard: Shard = Shard(), progress: bool = True, device: str = "cpu",
                   output: Output = Output()) -> RenderReport:
    """``render`` for scripts: the same, from plain values (device: "cpu", "cuda", "cuda:N" or "torch-cpu")."""
    spec = RenderSpec(formula_name, settings, seed=seed, workers=workers, shard=shard, device=Device.parse(device),
                      output=output)
    return render(spec, params_dir, out, progress)


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
    # Shards of one split may render into one folder at the same time (a job array): each locks its own part.
    with folder_lock(out, "render", f"shard {spec.shard.index}/{spec.shard.count}" if spec.shard.count > 1 else ""):
        return _render_locked(spec, catalog, renderer, Path(params_dir), out, progress)


def dataset_identity(spec: RenderSpec, catalog) -> dict:
    """What makes two renders the same dataset; a folder never holds two."""
    # The batched torch renderer draws other (statistically equivalent) images: never mix the two in one folder.
    return {"formula": spec.formula.name, "seed": spec.seed, "settings": spec.settings.to_dict(),
            "params_fingerprint": catalog.fingerprint(), "renderer": spec.device.renderer,
            "output": spec.output.to_dict()}


def _render_locked(spec: RenderSpec, catalog, renderer, params_dir: Path, out: Path, progress: bool) -> RenderReport:
    formula, settings, shard = spec.formula, spec.settings, spec.shard
    identity = dataset_identity(spec, catalog)
    check_existing(out, identity, shard)
    categories = catalog.categories
    sink = make_sink(spec.output, out, formula, settings, len(categories))
    # Only this shard's temporaries: the other shards of the split may be writing theirs right now.
    remove_partial_files(out, None if shard.count == 1 else lambda relative: sink.owns(relative, shard))
    draws, views = formula.draws_per_category(settings), formula.views_per_draw(settings)
    report = RenderReport(images=len(categories) * draws * views)
    survey = sink.survey(shard)
    report.skipped = survey.done
    manifest = {"kind": "dataset", **identity, "params": str(params_dir.resolve()), "complete": False,
                "shard": f"{shard.index}/{shard.count}", "layout": sink.describe(),
                "counts": {"categories": len(categories), "draws_per_category": draws, "views_per_draw": views,
                           "images_in_dataset": report.images}, "environment": environment()}
    if not survey.tasks:
        report.manifest = out / shard.manifest_name()
        if not report.manifest.exists():
            report.manifest = _finish(out, shard, manifest, report, 0.0)
        return report
    write_manifest(out, manifest, shard.manifest_name())

    start = time.perf_counter()
    init = (spec, categories, str(out))
    bar = progress_bar(total=survey.missing, desc=f"render {formula.name}", enabled=progress)
    pool = None
    try:
        on_device = renderer is not None
        if on_device:
            jobs = _device_jobs(renderer, sink, survey.tasks)
        if spec.workers == 1:
            _init_worker(*init)
            results = map(_store_rendered, jobs) if on_device else map(_render_task, survey.tasks)
        else:
            pool = worker_pool(spec.workers, _init_worker, init)
            results = (pool.imap(_store_rendered, jobs, chunksize=2) if on_device
                       else pool.imap_unordered(_render_task, survey.tasks))
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
