"""The FractalDB paper's Table 9 at CPU scale: scratch vs Bezier vs Perlin vs FractalDB (plus RCDB, VisualAtom).

    .venv/bin/python benchmarks/table9_families.py --out runs/table9 [--families fractal,bezier,...] [plan flags]

Every arm is the training helper's small-budget reproduction (``fdsl.train.experiment.Plan``:
same model, image size, pre-training budget, fine-tuning recipe, split and seed), with only the
pre-training formula changed: each family's catalog is searched with its published/default
settings and ``--categories`` categories, rendered on the fly at ``--render-size`` with
``--instances`` images per category per epoch, then the pre-trained model is fine-tuned on the
same real data as the scratch arm.  Stages are run folders: re-running resumes a killed run.
Prints a markdown table (fine-tuning top-1 per arm, gain over scratch) and writes results.json.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
import typing
from pathlib import Path

from fdsl.catalog import read_manifest
from fdsl.formulas import create_formula
from fdsl.search import search_categories, write_catalog
from fdsl.train import checkpoint
from fdsl.train.experiment import Plan, data_spec
from fdsl.train.recipes import recipe_config
from fdsl.train.stages import finetune, pretrain

FAMILIES = ("fractal", "bezier", "perlin", "rcdb", "visual-atom")
PAPER = {  # Table 9, CIFAR-10 column (ResNet-50, 1M-image pre-training, fine-tuned at 224 px)
    "scratch": 87.6, "bezier": "87.6 (-144) / 89.7 (-1024)", "perlin": "90.9 (-100) / 90.4 (-1296)",
    "fractal": 93.4, "rcdb": "n/a", "visual-atom": "n/a"}
# The Plan's render budget: IFS families get --render-points; the others draw what their formula defines.
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
# A smaller budget than ``fdsl experiment reproduce`` (five pre-trainings share two cores): every arm gets the same.
TABLE9 = Plan(categories=100, instances=60, pretrain_epochs=4, finetune_epochs=6, train_images=3000, val_fraction=0.04)


def render_options(formula: str, plan: Plan) -> dict:
    fields = {f.name for f in dataclasses.fields(create_formula(formula).RenderSettings)}
    options = {"size": plan.render_size}
    if "points" in fields:
        options["points"] = plan.render_points
    if "instances" in fields:
        options["instances"] = plan.instances  # draws per category: exactly the images used per epoch
    return options


def catalog(formula: str, plan: Plan, out: Path, progress: bool) -> Path:
    folder = out / f"catalog-{formula}"
    manifest = read_manifest(folder) if folder.is_dir() else None
    if manifest and manifest["counts"]["categories"] == plan.categories and manifest["seed"] == plan.search_seed:
        return folder
    settings = create_formula(formula).SearchSettings()
    result = search_categories(formula, settings, plan.search_seed, plan.categories, progress=progress)
    write_catalog(formula, settings, plan.search_seed, result, folder)
    return folder


def _stage(folder: Path, start) -> dict:
    try:
        meta = checkpoint.read_meta(folder)
        if meta.get("complete"):
            return meta
    except Exception:  # noqa: BLE001  (no run yet)
        pass
    return start(resume=folder.exists())  # a folder with no complete checkpoint yet starts afresh


def run(plan: Plan, families: list[str], dataset: str, out: Path, progress: bool) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    common = dict(model=plan.model, image_size=plan.image_size, seed=plan.seed, workers=plan.workers,
                  threads=plan.threads)
    spec = data_spec(dataset, SHARED)
    fine = recipe_config("resnet-sgd", "finetune", dict(common, epochs=plan.finetune_epochs,
                         batch_size=plan.finetune_batch, lr=plan.finetune_lr, hflip=plan.hflip))
    split = dict(val_fraction=plan.val_fraction, split_seed=plan.seed, train_images=plan.train_images,
                 max_classes=plan.max_classes, progress=progress)
    results, seconds = {}, {}
    t = time.perf_counter()
    meta = _stage(out / "finetune-scratch", lambda resume: finetune(
        fine, out / "finetune-scratch", "resnet-sgd", spec, scratch=True, resume=resume, **split))
    results["scratch"], seconds["scratch"] = meta["metrics"], time.perf_counter() - t
    for formula in families:
        t = time.perf_counter()
        params = catalog(formula, plan, out, progress)
        pre = recipe_config("resnet-sgd", "pretrain", dict(common, epochs=plan.pretrain_epochs,
                            batch_size=plan.pretrain_batch, lr=plan.pretrain_lr,
                            crop_pct=plan.image_size / plan.render_size))
        pre_meta = _stage(out / f"pretrain-{formula}", lambda resume: pretrain(
            pre, out / f"pretrain-{formula}", "resnet-sgd", params=params, render_options=render_options(formula, plan),
            data_seed=plan.seed, instances=plan.instances, resume=resume, progress=progress))
        meta = _stage(out / f"finetune-{formula}", lambda resume: finetune(
            fine, out / f"finetune-{formula}", "resnet-sgd", spec, checkpoint_path=out / f"pretrain-{formula}",
            resume=resume, **split))
        results[formula] = {**meta["metrics"], "pretrain": pre_meta.get("metrics")}
        seconds[formula] = time.perf_counter() - t
        _write(out, plan, dataset, results, seconds)  # partial results survive a kill
    return _write(out, plan, dataset, results, seconds)


def _write(out: Path, plan: Plan, dataset: str, results: dict, seconds: dict) -> dict:
    report = {"plan": dataclasses.asdict(plan), "dataset": dataset, "results": results, "seconds": seconds}
    (out / "results.json").write_text(json.dumps(report, indent=2) + "\n")
    return report


def table(report: dict) -> str:
    scratch = report["results"]["scratch"]["val_top1"]
    lines = [f"| pre-training ({report['plan']['categories']} categories) | pre-train top-1 | "
             f"{report['dataset']} top-1 | vs scratch | paper C10 |", "|---|---|---|---|---|"]
    for arm, metrics in report["results"].items():
        pre = (metrics.get("pretrain") or {}).get("fit_top1")
        pre_text = "-" if pre is None else f"{pre:.1f}"
        lines.append(f"| {arm} | {pre_text} | {metrics['val_top1']:.2f} | {metrics['val_top1'] - scratch:+.2f} | "
                     f"{PAPER.get(arm, 'n/a')} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--families", default=",".join(FAMILIES), help="comma-separated formulas")
    parser.add_argument("--dataset", default="cifar10")
    parser.add_argument("--quiet", action="store_true")
    hints = typing.get_type_hints(Plan)
    for f in dataclasses.fields(Plan):
        if f.name != "max_classes":
            # The annotation, not the default's type: `float | None = None` must parse as a float.
            kinds = [k for k in typing.get_args(hints[f.name]) if k is not type(None)] or [hints[f.name]]
            parser.add_argument(f"--{f.name.replace('_', '-')}", type=kinds[0], default=None)
    args = parser.parse_args()
    overrides = {f.name: getattr(args, f.name) for f in dataclasses.fields(Plan)
                 if f.name != "max_classes" and getattr(args, f.name) is not None}
    plan = dataclasses.replace(TABLE9, **overrides)
    families = [name.strip() for name in args.families.split(",") if name.strip()]
    report = run(plan, families, args.dataset, args.out, progress=not args.quiet)
    print(table(report))
    print(f"minutes per arm: { {k: round(v / 60, 1) for k, v in report['seconds'].items()} }")


if __name__ == "__main__":
    main()
