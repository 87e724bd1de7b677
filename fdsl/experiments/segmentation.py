"""``fdsl experiment segmentation``: does SegRCDB pre-training help a segmentation model, at CPU scale?

Three arms, the same smp decoder on the same timm encoder, fine-tuned with the
same recipe, data and seeds on the Fashion-MNIST canvas proxy (or a folder of
image/mask pairs):

* ``segrcdb``: encoder + decoder pre-trained on SegRCDB masks, rendered on the fly;
* ``fractaldb``: the encoder pre-trained to classify FractalDB categories (the
  published categories, rendered once), the decoder from random weights;
* ``scratch``: random weights.

Both pre-trainings see the same number of images for the same number of epochs.
Validation canvases are scored every few epochs (the curves); the held-out
canvases (built from Fashion-MNIST's test items) are scored once at the end and
are what the table reports.  Every stage is a normal run folder: re-running the
command skips what is complete and resumes what was interrupted.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import time
from pathlib import Path

from fdsl.catalog.params import ensure_writable_folder, read_manifest
from fdsl.core.errors import FdslError
from fdsl.core.files import atomic_write_bytes
from fdsl.core.numbers import at_least, check_fields, positive
from fdsl.experiments.plan import parse_seeds, run_stage, setting, spread, verdict
from fdsl.train.recipes import recipe_config

ARMS = ("segrcdb", "fractaldb", "scratch")


@dataclasses.dataclass
class SegmentationPlan:
    """Every choice of the experiment, recorded in results.json (docs/segmentation.md says why)."""

    encoder: str = setting("resnet10t", "timm encoder of every arm (smp's tu- encoder)")
    decoder: str = setting("fpn", "smp decoder: fpn (the cheapest on a CPU), upernet or segformer")
    image_size: int = setting(64, "input side of every stage", within=at_least(1))
    categories: int = setting(32, "SegRCDB classes and FractalDB categories", within=at_least(1))
    segrcdb_instances: int = setting(8, "contour instances per SegRCDB image (published: 32 at 512 px)",
                                     within=at_least(1))
    segrcdb_mask: str = setting("m1", "SegRCDB label mask: m1 lines (published default), m2 band, m3 filled")
    pretrain_images: int = setting(1500, "images per pre-training epoch, both pre-trainings", within=at_least(1))
    pretrain_epochs: int = setting(3, "epochs of both pre-trainings", within=at_least(1))
    fractal_points: int = setting(20000, "chaos-game points per FractalDB image", within=at_least(1))
    finetune_images: int = setting(400, "Fashion-MNIST canvases fine-tuned on", within=at_least(1))
    finetune_epochs: int = setting(4, "fine-tuning epochs of every arm", within=at_least(1))
    batch_size: int = setting(32, "batch size of every stage", within=at_least(1))
    pretrain_lr: float = setting(6e-4, "pre-training peak learning rate", within=positive())
    finetune_lr: float = setting(5e-4, "fine-tuning peak learning rate", within=positive())
    scale_range: str = setting("0.75-1.5", "random resize factors of the training crops, LOW-HIGH")
    seeds: str = setting("0,1,2", "fine-tuning seeds; each arm runs every seed")
    seed: int = setting(0, "seed of the pre-trainings, the SegRCDB search and the canvases")
    eval_every: int = setting(2, "epochs between validation scores (the curves)", within=at_least(1))
    threads: int = setting(2, "torch threads of each stage")

    def seed_list(self) -> list[int]:
        return parse_seeds(self.seeds)

    def check(self) -> None:
        from fdsl.formulas.contour.segrcdb import MAX_CLASSES, MASK_MODES
        from fdsl.train.segmentation_model import build_kwargs, check_image_size
        from fdsl.core.checks import parse_scale_range

        self.seed_list()
        check_fields(self)
        if self.categories > MAX_CLASSES:
            raise FdslError(f"--categories {self.categories}: SegRCDB masks hold at most {MAX_CLASSES} classes")
        if self.segrcdb_mask not in MASK_MODES:
            raise FdslError(f"unknown mask mode '{self.segrcdb_mask}'; choose one of: {', '.join(MASK_MODES)}")
        check_image_size(self.image_size)
        build_kwargs(self.decoder, self.encoder, 2)
        parse_scale_range(self.scale_range)
        for stage in ("pretrain", "finetune"):
            recipe_config("segmentation", stage, self.overrides(stage, self.seed))

    def overrides(self, stage: str, seed: int) -> dict:
        lr = self.pretrain_lr if stage == "pretrain" else self.finetune_lr
        epochs = self.pretrain_epochs if stage == "pretrain" else self.finetune_epochs
        return dict(model=self.encoder, image_size=self.image_size, batch_size=self.batch_size, seed=seed, lr=lr,
                    epochs=epochs, threads=self.threads, eval_every=self.eval_every, crop_pct=0.875)


def _segrcdb_catalog(plan: SegmentationPlan, out: Path, progress: bool) -> Path:
    from fdsl.catalog.search import search_categories, write_catalog
    from fdsl.formulas import create_formula

    catalog = out / "segrcdb-catalog"
    manifest = read_manifest(catalog) if catalog.is_dir() else None
    if manifest and manifest["counts"]["categories"] == plan.categories and manifest["seed"] == plan.seed:
        return catalog
    if catalog.exists():
        raise FdslError(f"{catalog} holds another catalog; remove it or choose a new --out")
    settings = create_formula("segrcdb").SearchSettings()
    result = search_categories("segrcdb", settings, plan.seed, plan.categories, workers=1, progress=progress)
    write_catalog("segrcdb", settings, plan.seed, result, catalog)
    return catalog


def _fractal_catalog(plan: SegmentationPlan, out: Path, shared: Path) -> Path:
    """The first ``categories`` published FractalDB-1k categories, copied into the experiment folder."""
    source = Path(shared) / "fractaldb1k-official-params"
    files = sorted(source.glob("*.csv"))[:plan.categories] if source.is_dir() else []
    if len(files) < plan.categories:
        raise FdslError(f"{source} holds {len(files)} FractalDB categories, {plan.categories} needed; pass --shared DIR "
                        "(or set FDSL_SHARED_DATA)")
    catalog = out / "fractal-catalog"
    if not catalog.is_dir():
        staging = out / ".fractal-catalog.tmp"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir()
        for path in files:
            shutil.copyfile(path, staging / path.name)
        staging.rename(catalog)
    return catalog


def _pretrain(plan: SegmentationPlan, out: Path, shared: Path, progress: bool) -> dict:
    """Both pre-trainings (skipped when complete): {arm: run folder}."""
    from fdsl.train import segmentation_stages as segmentation
    from fdsl.core.checks import parse_scale_range
    from fdsl.train.tasks.segmentation import Segmentation
    from fdsl.train.stages import pretrain

    per_epoch = plan.pretrain_images
    seg_config = recipe_config("segmentation", "pretrain", plan.overrides("pretrain", plan.seed))
    catalog = _segrcdb_catalog(plan, out, progress)
    task = Segmentation(scale_range=parse_scale_range(plan.scale_range))
    run_stage(out / "pretrain-segrcdb", seg_config, lambda resume: segmentation.pretrain(
        seg_config, out / "pretrain-segrcdb", "segmentation", params=catalog,
        render_options={"size": str(plan.image_size), "instances": str(plan.segrcdb_instances),
                        "mask": plan.segrcdb_mask}, data_seed=plan.seed, instances=per_epoch, heldout=64,
        decoder=plan.decoder, task=task, resume=resume, progress=progress))
    cls_config = recipe_config("segmentation", "pretrain", plan.overrides("pretrain", plan.seed))
    fractal = _fractal_catalog(plan, out, shared)
    per_category = max(1, per_epoch // plan.categories)
    run_stage(out / "pretrain-fractaldb", cls_config, lambda resume: pretrain(
        cls_config, out / "pretrain-fractaldb", "segmentation", params=fractal, formula="fractal",
        render_options={"size": str(plan.image_size), "points": str(plan.fractal_points)}, data_seed=plan.seed,
        instances=per_category, render_once=True, resume=resume, progress=progress))
    return {"segrcdb": out / "pretrain-segrcdb", "fractaldb": out / "pretrain-fractaldb", "scratch": None}


def run(plan: SegmentationPlan, out: Path, shared: Path, progress: bool = True) -> dict:
    from fdsl.data import proxy
    from fdsl.train import segmentation_stages as segmentation
    from fdsl.core.checks import parse_scale_range
    from fdsl.train.tasks.segmentation import Segmentation
    from fdsl.train import checkpoint, logs

    plan.check()
    folder = Path(shared) / "fashion_mnist"
    proxy.check_fashion_mnist(folder, "pass --shared DIR (or set FDSL_SHARED_DATA)")
    canvases = {split: proxy.FashionCanvas(folder, split, count, seed=plan.seed, size=plan.image_size)
                for split, count in (("train", plan.finetune_images), ("val", 300), ("heldout", 500))}
    out = ensure_writable_folder(Path(out))
    started = time.perf_counter()
    timings = {}
    inits = _pretrain(plan, out, shared, progress)
    timings["pretrain"] = time.perf_counter() - started
    description = {"train": proxy.NAME, "train_size": plan.finetune_images, "val_size": 300, "heldout_size": 500,
                   "seed": plan.seed, "fingerprint": canvases["train"].fingerprint}
    task = Segmentation(scale_range=parse_scale_range(plan.scale_range))
    results = {}
    for arm in ARMS:
        runs = []
        for seed in plan.seed_list():
            config = recipe_config("segmentation", "finetune", plan.overrides("finetune", seed))
            run_folder = out / f"finetune-{arm}-seed{seed}"
            t = time.perf_counter()
            meta = run_stage(run_folder, config, lambda resume: segmentation.finetune_on(
                config, run_folder, "segmentation", canvases["train"], canvases["val"], description, inits[arm],
                plan.decoder, task, resume=resume, progress=progress))
            scored = segmentation.evaluate_on(run_folder, canvases["heldout"], batch_size=plan.batch_size)
            timings[f"{arm}-seed{seed}"] = time.perf_counter() - t
            runs.append({"folder": str(run_folder), "seed": seed, "val_miou": meta["metrics"]["val_miou"],
                         "heldout_miou": scored["miou"], "heldout_pixel_acc": scored["pixel_acc"]})
        results[arm] = {"runs": runs, **{key: spread([r[key] for r in runs])
                                        for key in ("val_miou", "heldout_miou", "heldout_pixel_acc")}}
    first = plan.seed_list()[0]
    logs.plot({arm: out / f"finetune-{arm}-seed{first}" for arm in ARMS}, out / "comparison.png",
              title=f"FPN on {plan.encoder} fine-tuned on {proxy.NAME} (seed {first}; validation mIoU)")
    timings["total"] = time.perf_counter() - started
    pretraining = {arm: checkpoint.read_meta(inits[arm]).get("metrics") for arm in ("segrcdb", "fractaldb")}
    report = {"plan": dataclasses.asdict(plan), "results": results, "pretrain": pretraining, "seconds": timings}
    atomic_write_bytes(out / "results.json", (json.dumps(report, indent=2) + "\n").encode())  # never half-written
    return report


def table(report: dict) -> str:
    """Markdown: each arm's held-out mIoU (mean ± sd over seeds), validation mIoU, and the paired gain."""
    results = report["results"]
    scratch = results["scratch"]["heldout_miou"]["runs"]
    lines = ["| arm | seeds | held-out mIoU | held-out pixel acc. | validation mIoU | vs scratch (held-out) |",
             "|---|---|---|---|---|---|"]
    for arm in ARMS:
        held, acc, val = (results[arm][k] for k in ("heldout_miou", "heldout_pixel_acc", "val_miou"))
        gains = [a - b for a, b in zip(held["runs"], scratch)]
        gain = "–" if arm == "scratch" else f"**{spread(gains)['mean']:+.2f}** ({min(gains):+.1f} to {max(gains):+.1f})"
        lines.append(f"| {arm} | {len(held['runs'])} | {held['mean']:.2f} ± {held['sd']:.2f} | {acc['mean']:.2f} ± "
                     f"{acc['sd']:.2f} | {val['mean']:.2f} ± {val['sd']:.2f} | {gain} |")
    for arm in ("segrcdb", "fractaldb"):
        gains = [a - b for a, b in zip(results[arm]["heldout_miou"]["runs"], scratch)]
        lines.append(f"\n{arm} vs scratch: " + verdict(gains))
    seg = report["pretrain"].get("segrcdb") or {}
    frac = report["pretrain"].get("fractaldb") or {}
    lines.append(f"\npre-training: SegRCDB mIoU {seg.get('heldout_miou', float('nan')):.1f} % on unseen SegRCDB "
                 f"images; FractalDB top-1 {frac.get('heldout_top1', float('nan')):.1f} % on unseen images")
    return "\n".join(lines)
