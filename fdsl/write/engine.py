"""Write any output kind to disk: workers, shards, atomic writes, resume, one manifest.

One engine for every kind: what a sample is comes from a producer (``fdsl.write.producers``: a formula's
images, SegRCDB image/mask pairs, PC-FractalDB scenes); where it goes from a sink (``fdsl.write.sinks``: a
folder tree or WebDataset tar shards).  The engine renders the sink's tasks in worker processes; each file
is written under a temporary name and renamed, so a killed run leaves nothing truncated, and a re-run redoes
only the tasks whose files are not all whole.  Each ``--shard K/N`` locks its own part of the folder, cleans
up only its own temporaries, and a folder never holds two datasets or two shard splits.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from fdsl.catalog.params import ensure_writable_folder, environment, load_catalog, read_manifest, write_manifest
from fdsl.catalog.specs import Device, Output, RenderSpec, SceneSpec, Shard
from fdsl.core.errors import FdslError
from fdsl.core.files import atomic_write_bytes, folder_lock, remove_partial_files
from fdsl.core.progress import bar as progress_bar
from fdsl.core.workers import task_results
from fdsl.formulas import create_formula
from fdsl.write.producers import ImageProducer, PairProducer, SceneProducer, render_unit
from fdsl.write.sinks import make_sink

__all__ = ["Report", "Shard", "check_existing", "render", "render_dataset", "render_unit", "render_units",
           "write", "write_scenes"]

DEVICE_BATCH = 1024
WARNING_PREFIX = ".warning-"
# Manifests written before the output format was recorded describe a folder tree.
LEGACY_IDENTITY = {"output": Output().to_dict()}
PRODUCERS = {"classification": ImageProducer, "segmentation": PairProducer}  # a formula's dataset_kind


@dataclass
class Report:
    written: int = 0
    skipped: int = 0
    images: int = 0  # samples in the dataset (images, image/mask pairs or scenes)
    seconds: float = 0.0
    warnings: list = field(default_factory=list)
    counts: dict = field(default_factory=dict)  # what the producer tallies (e.g. objects_without_room)
    manifest: Path | None = None

    @property
    def objects_without_room(self) -> int:
        return self.counts.get("objects_without_room", 0)



@dataclass
class Job:
    """One write: a producer, where and how its samples go, and what identifies the dataset."""

    producer: object
    output: Output
    shard: Shard
    workers: int
    identity: dict
    params_dir: Path
    names: list
    description: str  # the progress bar's
    renderer: object = None  # a torch renderer (images only), or None
    verb: str = "render"  # the command a second writer of the folder is told is running


_worker_state: dict = {}


def _init_worker(producer, output: Output, out: str) -> None:
    producer.start()
    _worker_state.update(producer=producer, out=Path(out), sink=make_sink(output, Path(out), producer))


def _store(task, rendered: list) -> tuple[int, list, dict]:
    """Encode and store one task's units [(unit, subs, items, warning, counts)]; the warnings first, so a
    resumed run still knows about them."""
    producer, notes, counts, samples = _worker_state["producer"], [], {}, []
    for unit, subs, items, warning, tally in rendered:
        if warning:
            note = producer.warning_note(unit, warning)
            atomic_write_bytes(_worker_state["out"] / f"{WARNING_PREFIX}{unit:012d}.json", json.dumps(note).encode())
            notes.append(note)
        for key, value in tally.items():
            counts[key] = counts.get(key, 0) + value
        samples += [(unit, sub, producer.encode(unit, sub, item)) for sub, item in zip(subs, items)]
    return _worker_state["sink"].store(task, samples), notes, counts


def _render_task(task) -> tuple[int, list, dict]:
    """CPU path: each worker renders and stores whole tasks."""
    producer = _worker_state["producer"]
    rendered = [(unit, subs, *producer.render(unit, subs)) for unit, subs in _worker_state["sink"].parts(task)]
    return _store(task, rendered)


def _store_rendered(job) -> tuple[int, list, dict]:
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


def _device_jobs(renderer, producer, sink, tasks):
    """Render the tasks' draws with a torch renderer, about DEVICE_BATCH draws at a time: (task, rendered) jobs."""
    pending: list = []

    def flush():
        draws = [producer.category_draw(unit) for _, parts in pending for unit, _ in parts]
        results = iter(render_units(renderer, draws))
        for task, parts in pending:
            rendered = []
            for unit, subs in parts:
                images, warning = next(results)
                rendered.append((unit, subs, [images[v][1] for v in subs], warning, {}))
            yield task, rendered
        pending.clear()

    for task in tasks:
        pending.append((task, sink.parts(task)))
        if sum(len(parts) for _, parts in pending) >= DEVICE_BATCH:
            yield from flush()
    yield from flush()


def warning_kinds(warnings: list) -> dict[str, int]:
    """How many draws had each kind of warning ("diverged", "degenerate"), in order of first appearance."""
    kinds: dict[str, int] = {}
    for item in warnings:
        kind = item["warning"].split(":")[0]
        kinds[kind] = kinds.get(kind, 0) + 1
    return kinds


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
        if previous.get("kind") == "catalog":
            raise FdslError(f"{out} holds a catalog written by 'fdsl search' ({path.name}), not a render; give it as "
                            "--params and render to a new --out")
        mismatched = [k for k in identity if previous.get(k, LEGACY_IDENTITY.get(k)) != identity[k]]
        if mismatched:
            what = ("a " if len(mismatched) == 1 and not mismatched[0].endswith("s") else "") + "different " \
                + ", ".join(mismatched)
            raise FdslError(f"{out} holds a dataset made with {what} ({path.name}); "
                            "re-run with the same options, or render to a new --out")


def refuse_foreign_folder(out: Path) -> None:
    """Refuse a folder of someone else's files, before anything is put in it.  A write lays its manifest down
    before its first file, so a folder with visible entries and no manifest is not one of ours to resume."""
    if not out.is_dir() or any(out.glob("manifest*.json")):
        return
    foreign = sorted(entry.name for entry in out.iterdir() if not entry.name.startswith("."))
    if foreign:
        raise FdslError(f"{out} is not empty ({len(foreign)} entries, e.g. '{foreign[0]}') and holds no fdsl "
                        "manifest; choose an empty or new --out")


def render_dataset(formula_name: str, params_dir: Path, out: Path, settings, seed: int = 0, workers: int = 1,
                   shard: Shard = Shard(), progress: bool = True, device: str = "cpu",
                   output: Output = Output()) -> Report:
    """``render`` for scripts: the same, from plain values (device: "cpu", "cuda", "cuda:N" or "torch-cpu")."""
    spec = RenderSpec(formula_name, settings, seed=seed, workers=workers, shard=shard, device=Device.parse(device),
                      output=output)
    return render(spec, params_dir, out, progress)


def render(spec: RenderSpec, params_dir: Path, out: Path, progress: bool = True) -> Report:
    """Render every sample of a catalog (or of one shard) that is not already in ``out``.

    What a sample is follows the family's registry entry (``dataset_kind``): images, or image/mask pairs.
    """
    formula, settings = spec.formula, spec.settings
    catalog = load_catalog(formula, params_dir)  # every file validated before anything is written
    producer = PRODUCERS[formula.dataset_kind](formula, settings, spec.seed, catalog.categories)
    # Built once here too, so a catalog the formula cannot render (pc-fractal with one category, more SegRCDB
    # categories than a mask holds) fails before any write.
    producer.start()
    renderer = None
    if spec.device.backend == "torch":  # a formula without a torch renderer fails here, before any write
        renderer = formula.create_torch_renderer(catalog.categories, settings, spec.seed, spec.device.torch_name)
    identity = {"formula": formula.name, "seed": spec.seed, "settings": settings.to_dict(),
                "params_fingerprint": catalog.fingerprint(), "renderer": spec.device.renderer,
                "output": spec.output.to_dict()}
    job = Job(producer, spec.output, spec.shard, spec.workers, identity, Path(params_dir), catalog.names,
              f"render {formula.name}", renderer)
    return write(job, out, progress)


def write_scenes(spec: SceneSpec, params_dir: Path, out: Path, progress: bool = True) -> Report:
    """Write every scene of the spec (its shard) that is not already complete in ``out``."""
    catalog = load_catalog(create_formula("pc-fractal"), params_dir)  # validated before anything is written
    producer = SceneProducer(spec, catalog.categories, catalog.names)
    producer.start()  # a catalog the objects cannot use fails here
    identity = {"kind": "scenes", "seed": spec.seed, "settings": spec.settings.to_dict(),
                "params_fingerprint": catalog.fingerprint(), "output": spec.output.to_dict()}
    job = Job(producer, spec.output, spec.shard, spec.workers, identity, Path(params_dir), catalog.names, "scenes",
              verb="scenes")
    return write(job, out, progress)


def write(job: Job, out: Path, progress: bool = True) -> Report:
    refuse_foreign_folder(out)
    out = ensure_writable_folder(out)
    shard = job.shard
    # Shards of one split may write into one folder at the same time (a job array): each locks its own part.
    with folder_lock(out, job.verb, f"shard {shard.index}/{shard.count}" if shard.count > 1 else ""):
        return _write_locked(job, out, progress)


def _write_locked(job: Job, out: Path, progress: bool) -> Report:
    producer, shard = job.producer, job.shard
    check_existing(out, job.identity, shard)
    sink = make_sink(job.output, out, producer)
    # Only this shard's temporaries: the other shards of the split may be writing theirs right now.
    remove_partial_files(out, None if shard.count == 1 else lambda relative: sink.owns(relative, shard))
    report = Report(images=producer.samples)
    survey = sink.survey(shard)
    report.skipped = survey.done
    fields = producer.manifest_fields(job.names)  # a folder's "layout" is what its readers look up
    manifest = {"kind": producer.kind, **job.identity, "params": str(job.params_dir.resolve()), "complete": False,
                "shard": f"{shard.index}/{shard.count}", "layout": sink.describe(),
                **{k: v for k, v in fields.items() if k != "layout" or job.output.format == "folder"},
                "environment": environment()}
    if not survey.tasks:
        report.manifest = out / shard.manifest_name()
        # A kill may have landed after the last file: before the complete manifest (written now, the warnings
        # folded in) or after it, before its warning sidecars were removed (removed now).
        if not (read_manifest(out, shard.manifest_name()) or {}).get("complete"):
            report.manifest = _finish(out, shard, manifest, report, 0.0)
        for sidecar in _sidecars(out, shard):
            sidecar.unlink(missing_ok=True)
        return report
    write_manifest(out, manifest, shard.manifest_name())

    start = time.perf_counter()
    init = (producer, job.output, str(out))
    bar = progress_bar(total=survey.missing, desc=job.description, enabled=progress)
    on_device = job.renderer is not None
    function, tasks = _render_task, survey.tasks
    if on_device:
        function, tasks = _store_rendered, _device_jobs(job.renderer, producer, sink, survey.tasks)
    try:
        with task_results(job.workers, _init_worker, init, function, tasks, ordered=on_device) as results:
            for written, _, counts in results:
                report.written += written
                for key, value in counts.items():
                    report.counts[key] = report.counts.get(key, 0) + value
                bar.update(written)
    finally:
        bar.close()
    report.manifest = _finish(out, shard, manifest, report, time.perf_counter() - start)
    return report


def _finish(out: Path, shard: Shard, manifest: dict, report: Report, seconds: float) -> Path:
    """The complete manifest: a function of the dataset alone (the same bytes after a kill and a resume as after
    one run), with the shard's warnings folded in; their sidecars go once it is written.  How long this run took
    and what it wrote are the report's (printed), not the dataset's."""
    report.seconds = seconds
    sidecars = _sidecars(out, shard)
    report.warnings = [json.loads(p.read_text()) for p in sidecars]
    kinds = warning_kinds(report.warnings)
    manifest.update(complete=True,
                    warnings={"draws": len(report.warnings), "by_kind": kinds, "examples": report.warnings[:50]})
    path = write_manifest(out, manifest, shard.manifest_name())
    for sidecar in sidecars:
        sidecar.unlink(missing_ok=True)
    return path


def _sidecars(out: Path, shard: Shard) -> list[Path]:
    """The shard's warning sidecars (one per unit that had a warning), waiting to be folded into its manifest."""
    return [p for p in sorted(out.glob(f"{WARNING_PREFIX}*.json")) if _warning_unit(p) % shard.count == shard.index]


def _warning_unit(path: Path) -> int:
    try:
        return int(path.stem[len(WARNING_PREFIX):])
    except ValueError:  # a sidecar of an older fdsl (category-draw names): the first shard takes it
        return 0
