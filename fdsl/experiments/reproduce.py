"""The evidence: formula pre-training vs training from scratch, same model, same fine-tuning recipe and data.

One run = search a small formula catalog, pre-train on it (rendered once, augmented
every epoch), then fine-tune the pre-trained model and the same model from random
weights on each real dataset with identical settings, data and seeds.  Each real
dataset is split three ways with a fixed seed: a training pool (the fine-tuning
subset is drawn from it), a validation split on which every setting of the plan was
chosen, and a held-out split that no choice touched and on which the result is
reported.  Every stage is a normal run folder, skipped when complete and resumed
when interrupted, so re-running the same command finishes a killed experiment.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from pathlib import Path

from fdsl.catalog.params import ensure_writable_folder, read_manifest
from fdsl.core.errors import FdslError
from fdsl.core.checks import SEEDS
from fdsl.core.files import atomic_write_bytes
from fdsl.core.numbers import at_least, check_fields, positive
from fdsl.experiments.plan import parse_seeds, run_stage, setting, spread, verdict
from fdsl.train.recipes import recipe_config


# The defaults are the best a user can get in the budget (docs/pretraining-gain.md, 2026-12-07): resnet10t with
# SGD reaches 51.3 % on held-out CIFAR-10 from scratch where the earlier vit-nano-p4 headline reached 35.3 %, and
# Perlin pre-training adds +6.1 to it (57.5 %, each arm at its own fine-tuning rate) in about 12 minutes on 2
# idle cores.  Perlin is rendered at 128 px and shown at 40 (--view-size), the setting chosen for FractalDB on
# validation, kept so that families compare alike.
@dataclasses.dataclass
class Plan:
    """Every choice of the experiment, recorded in results.json (docs/training.md says how each was chosen)."""

    model: str = setting("resnet10t", "model of both arms: a timm name or an fdsl preset such as vit-nano-p4 "
                         "(fdsl.train.presets)")
    recipe: str = setting("resnet-sgd", "training recipe of both stages ('fdsl recipes' prints them)")
    formula: str = setting("perlin", "pre-training family ('fdsl formulas' lists them)")
    categories: int = setting(20, "pre-training categories searched", within=at_least(1))
    search_seed: int = setting(3, "seed of the category search", within=SEEDS)
    search_options: str = setting("", "the family's search settings, KEY=VALUE,... (e.g. sampler=sigma); "
                                  "empty: its defaults")
    render_size: int = setting(128, "side the pre-training images are rendered at", within=at_least(1))
    view_size: int = setting(40, "side the renders are resized to before the training crop (0: no resize): render "
                             "large, train small, as the published 362-px renders feed 224-px crops", within=at_least(0))
    render_options: str = setting("", "other render settings of --formula, KEY=VALUE,... (e.g. points=20000 for "
                             "fractal); empty: defaults")
    instances: int = setting(200, "pre-training images per category, rendered once", within=at_least(1))
    repeat: int = setting(1, "times an epoch shows each rendered image, augmented anew (OFDB, 1p-frac: 1 image "
                          "per category x --instances keeps the budget)", within=at_least(1))
    task: str = setting("classification", "pre-training task: classification or multi-instance (Anderson & "
                        "Farrell)")
    objects: str = setting("1-5", "multi-instance: shapes per image, N or LOW-HIGH")
    colourise: bool = setting(False, "true: tinted shapes on random colour backgrounds (Anderson & Farrell)")
    pretrain_epochs: int = setting(10, "pre-training epochs", within=at_least(1))
    pretrain_lr: float = setting(0.05, "pre-training peak learning rate", within=positive())
    image_size: int = setting(32, "model input side in both stages", within=at_least(1))
    finetune_epochs: int = setting(20, "fine-tuning epochs of each arm", within=at_least(1))
    finetune_lr: float = setting(0.1, "fine-tuning peak learning rate of the pre-trained arm (and of the scratch "
                                 "arm when --scratch-lr is 0)", within=positive())
    # Each arm at its own validation choice, so the gain is over the best the scratch model can do: 0.1 is best
    # for every pre-trained arm tried (Perlin, FractalDB, MV-FractalDB views), 0.02 for scratch (0.05: within
    # 0.05 points; 0.1 costs it 0.4, 0.2 costs 6.8).  docs/pretraining-gain.md has the sweep.
    scratch_lr: float = setting(0.02, "fine-tuning peak learning rate of the scratch arm (0: --finetune-lr); "
                                "when only --finetune-lr is given, it sets both arms", within=at_least(0))
    layer_decay: float = setting(0.0, "layer-wise learning-rate decay when fine-tuning a ViT (0: off)",
                                 within=at_least(0))
    batch_size: int = setting(64, "pre-training batch size (and fine-tuning's, unless --finetune-batch)",
                              within=at_least(1))
    finetune_batch: int = setting(0, "fine-tuning batch size (0: --batch-size, or the dataset's default)",
                                  within=at_least(0))
    train_images: int = setting(0, "class-balanced fine-tuning subset of the training pool (0: the dataset's "
                                "default, 2,000 for CIFAR-10)", within=at_least(0))
    val_images: float = setting(0.0, "validation split, a count or a fraction below 1 (0: the dataset's default)",
                                within=at_least(0))
    heldout_images: float = setting(0.0, "held-out split, a count or a fraction below 1 (0: the dataset's "
                                    "default)", within=at_least(0))
    max_classes: int = setting(0, "keep only the first N classes of the real data (0: the dataset's default)",
                               within=at_least(0))
    seeds: str = setting("0,1,2", "fine-tuning seeds (init, order, augmentation); each arm runs every seed")
    seed: int = setting(0, "seed of the pre-training and of the splits", within=SEEDS)
    report_heldout: bool = setting(True, "false while choosing settings: the held-out split is not even evaluated")
    eval_every: int = setting(5, "epochs between validation scores (the curves)", within=at_least(1))
    workers: int = setting(0, "DataLoader workers per stage (0: the training process loads its own images)",
                           within=at_least(0))
    threads: int = setting(0, "torch threads per stage (0: the cores shared out among the --jobs)", within=at_least(0))
    jobs: int = setting(1, "stages trained at once, each in its own process", within=at_least(1))

    def seed_list(self) -> list[int]:
        return parse_seeds(self.seeds)

    def check(self) -> None:
        """Every value checked before any work starts (search and pre-training take minutes)."""
        self.seed_list()
        check_fields(self)
        if self.render_size < self.image_size:
            raise FdslError(f"--render-size {self.render_size} is smaller than --image-size {self.image_size}")
        if self.view_size and not self.image_size <= self.view_size <= self.render_size:
            raise FdslError(f"--view-size {self.view_size} must lie between --image-size {self.image_size} and "
                            f"--render-size {self.render_size} (or be 0: no resize)")
        for stage, arm in (("pretrain", "pretrained"), ("finetune", "pretrained"), ("finetune", "scratch")):
            recipe_config(self.recipe, stage, self.stage_overrides(stage, self.seed, arm))
        from fdsl.formulas import create_formula

        # The family's own settings, checked before the catalog is searched and written.
        formula = create_formula(self.formula)
        formula.SearchSettings.from_strings(key_values(self.search_options), what="search setting")
        formula.RenderSettings.from_strings({**key_values(self.render_options), "size": str(self.render_size)},
                                            what="render setting")
        from fdsl.data.composite import parse_objects
        from fdsl.train.model import resolve
        from fdsl.train.stages import TASKS

        if self.task not in TASKS:
            raise FdslError(f"unknown --task '{self.task}'; choose one of: {', '.join(TASKS)}")
        low, high = parse_objects(self.objects)
        if self.task != "multi-instance" and self.objects != Plan.objects:
            raise FdslError(f"--objects {self.objects} is ignored by --task {self.task} (it counts the shapes of a "
                            "multi-instance image); drop it or add --task multi-instance")
        if self.task == "multi-instance" and not (1 <= low <= high <= self.categories):
            raise FdslError(f"--objects {self.objects}: needs 1 <= LOW <= HIGH and at most --categories "
                            f"{self.categories} (only {self.categories} categories to draw from)")
        resolve(self.model, self.image_size, 0.0)

    def torch_threads(self) -> int:
        """--threads, else with several jobs the cores shared out among them (0: torch's own default)."""
        if self.threads or self.jobs <= 1:
            return self.threads
        return max(1, (os.cpu_count() or 1) // self.jobs)

    def stage_overrides(self, stage: str, seed: int, arm: str = "pretrained") -> dict:
        common = dict(model=self.model, image_size=self.image_size, batch_size=self.batch_size, seed=seed,
                      workers=self.workers, threads=self.torch_threads(), eval_every=self.eval_every)
        if stage == "pretrain":
            return dict(common, epochs=self.pretrain_epochs, lr=self.pretrain_lr,
                        crop_pct=self.image_size / (self.view_size or self.render_size))
        lr = (self.scratch_lr or self.finetune_lr) if arm == "scratch" else self.finetune_lr
        return dict(common, epochs=self.finetune_epochs, lr=lr, layer_decay=self.layer_decay,
                    batch_size=self.finetune_batch or self.batch_size)


def plan_from(overrides: dict) -> Plan:
    """The default plan with the options a user gave; a --finetune-lr without --scratch-lr sets both arms (a user
    who changes the fine-tuning rate, e.g. for a ViT's AdamW, means both), said in one line."""
    overrides = dict(overrides)
    if "finetune_lr" in overrides and "scratch_lr" not in overrides:
        overrides["scratch_lr"] = 0.0
        from fdsl.core.notes import note

        note(f"--finetune-lr {overrides['finetune_lr']:g} fine-tunes both arms (the default plan tunes the scratch "
             "arm apart, --scratch-lr 0.02); give --scratch-lr to set it")
    return dataclasses.replace(Plan(), **overrides)


DATASETS = {"cifar10": "cifar10/train.zip", "omniglot": "omniglot/images_background.npz"}
# Per dataset unless the plan sets them.  CIFAR-10 (50,000 training images, no test split here): 10,000
# held out, 5,000 for validation, fine-tuning subsets from the other 35,000.  Omniglot: 100 characters,
# 5 of each one's 20 drawings held out, 5 for validation, 10 to train on.
DATASET_DEFAULTS = {"cifar10": {"heldout_images": 10000, "val_images": 5000, "train_images": 2000},
                    "omniglot": {"heldout_images": 0.25, "val_images": 0.25, "max_classes": 100,
                                 "train_images": 1000, "finetune_batch": 32}}
# Omniglot's 1,000 training images at batch 128 are 7 steps an epoch: on the validation split neither arm
# left chance in 5 epochs (1.2 %), so its fine-tuning batch is 32.
OTHER_DEFAULTS = {"heldout_images": 0.2, "val_images": 0.1, "train_images": 2000}


def key_values(text: str) -> dict:
    """'a=1,b=2' -> {'a': '1', 'b': '2'} (the --search-options / --render-options of a plan)."""
    from fdsl.train.options import parse_key_values

    return parse_key_values([item for item in str(text).split(",") if item.strip()], "--search/render-options")


def data_spec(name: str, shared: Path) -> str:
    if name in DATASETS:
        path = Path(shared) / DATASETS[name]
        if not path.exists() and name == "cifar10":
            from fdsl.core.notes import note
            from fdsl.data.downloads import cifar10_train

            downloaded = cifar10_train()  # one line and exit 2 when it cannot be had either
            note(f"{path} not found: CIFAR-10 from torchvision's download ({downloaded}); its image order is "
                 "torchvision's, so splits and scores differ from runs on the shared train.zip")
            return str(downloaded)
        if not path.exists():
            raise FdslError(f"{path} not found; pass --shared DIR holding {DATASETS[name]} (or set FDSL_SHARED_DATA), "
                            "or give a dataset path")
        return str(path)
    return name  # any path or built-in name open_images understands


def search(plan: Plan, out: Path, progress: bool) -> Path:
    from fdsl.formulas import create_formula
    from fdsl.catalog.search import search_categories, write_catalog

    catalog = out / "catalog"
    manifest = read_manifest(catalog) if catalog.is_dir() else None
    if manifest and manifest["counts"]["categories"] == plan.categories and manifest["seed"] == plan.search_seed \
            and manifest.get("formula") == plan.formula:
        return catalog
    if catalog.exists():
        raise FdslError(f"{catalog} holds another catalog; remove it or choose a new --out")
    settings = create_formula(plan.formula).SearchSettings.from_strings(key_values(plan.search_options),
                                                                        what="search setting")
    result = search_categories(plan.formula, settings, plan.search_seed, plan.categories, workers=1, progress=progress)
    write_catalog(plan.formula, settings, plan.search_seed, result, catalog)
    return catalog


def _splits(name: str, spec: str, plan: Plan):
    """(train subset, validation, held-out, description) of a real dataset, fixed by the plan's seed."""
    from fdsl.data.real import balanced_subset, keep_classes, open_images, take, three_way_split

    defaults = {**(DATASET_DEFAULTS.get(name) or OTHER_DEFAULTS)}
    heldout = plan.heldout_images or defaults["heldout_images"]
    val = plan.val_images or defaults["val_images"]
    max_classes = plan.max_classes or defaults.get("max_classes")
    train_images = plan.train_images or defaults["train_images"]
    source = keep_classes(open_images(spec), max_classes)
    pool, val_part, heldout_part = three_way_split(source, heldout, val, plan.seed)
    chosen = balanced_subset(source.targets, pool, train_images, plan.seed)
    description = {"train": spec, "classes": len(source.classes), "fingerprint": source.fingerprint,
                   "split": f"three-way, seed {plan.seed}: held-out {heldout:g}, validation {val:g}",
                   "train_size": len(chosen), "val_size": len(val_part), "heldout_size": len(heldout_part),
                   "max_classes": max_classes}
    return take(source, chosen), take(source, val_part), take(source, heldout_part), description


_SPLITS: dict = {}


def _cached_splits(name: str, spec: str, plan: Plan):
    """``_splits``, opened once per process (every fine-tuning stage of a dataset shares them)."""
    key = (name, spec, json.dumps(dataclasses.asdict(plan), sort_keys=True))
    if key not in _SPLITS:
        _SPLITS[key] = _splits(name, spec, plan)
    return _SPLITS[key]


def _pretrain_stage(plan: Plan, out: Path, catalog: Path, progress: bool) -> None:
    from fdsl.train.stages import pretrain

    config = recipe_config(plan.recipe, "pretrain", plan.stage_overrides("pretrain", plan.seed))
    run_stage(out / "pretrain", config, lambda resume: pretrain(
        config, out / "pretrain", plan.recipe, params=catalog, formula=plan.formula,
        render_options={**key_values(plan.render_options), "size": plan.render_size}, data_seed=plan.seed,
        instances=plan.instances, render_once=True, repeat=plan.repeat, task=plan.task, objects=plan.objects,
        colourise=plan.colourise, resume=resume, progress=progress))


def _finetune_stage(plan: Plan, name: str, spec: str, arm: str, seed: int, out: Path, scratch_out: Path | None,
                    progress: bool) -> dict:
    """One arm, one seed on one dataset: train (or find complete), then score on the held-out split."""
    from fdsl.train.stages import evaluate_on, finetune_on

    train, val, heldout, description = _cached_splits(name, spec, plan)
    dataset_plan = dataclasses.replace(plan, finetune_batch=plan.finetune_batch or
                                       DATASET_DEFAULTS.get(name, {}).get("finetune_batch", 0))
    config = recipe_config(plan.recipe, "finetune", dataset_plan.stage_overrides("finetune", seed, arm))
    folder = Path(scratch_out or out) / _finetune_folder(name, arm, seed) if arm == "scratch" \
        else out / _finetune_folder(name, arm, seed)
    meta = run_stage(folder, config, lambda resume: finetune_on(
        config, folder, plan.recipe, train, val, description,
        checkpoint_path=out / "pretrain" if arm == "pretrained" else None, resume=resume, progress=progress))
    result = {"folder": str(folder), "seed": seed, "val_top1": meta["metrics"]["val_top1"]}
    if plan.report_heldout:
        result["heldout_top1"] = evaluate_on(folder, heldout, f"{name} held-out split", progress=progress)["top1"]
    return result


def _finetune_folder(name: str, arm: str, seed: int) -> str:
    return f"finetune-{Path(name).stem}-{arm}-seed{seed}"


@dataclasses.dataclass
class Prepared:
    """An experiment searched and split, with its stages not yet run: several can be scheduled together
    (Table 9 runs every family's stages in one pool, the scratch arm's once)."""

    plan: Plan
    out: Path
    splits: dict
    stages: list
    prefix: str
    started: float
    timings: dict


def prepare(plan: Plan, datasets: list[str], out: Path, shared: Path, progress: bool = True,
            scratch_out: Path | None = None, prefix: str = "") -> Prepared:
    """Check the plan, open and split every dataset, search the catalog; the stages to run.

    Stage names start with ``prefix`` except the scratch arm's, which a shared ``scratch_out`` makes the
    same stage for every experiment that names it.
    """
    from fdsl.experiments.schedule import Stage
    from fdsl.train import checkpoint  # noqa: F401 - torch first: without the training extras, the one-line
    # error names torch (the recipe check below would name timm)

    plan.check()
    specs = {name: data_spec(name, shared) for name in datasets}
    # Every dataset is opened and split before any work: a bad size fails in seconds, not after pre-training.
    splits = {name: _cached_splits(name, spec, plan) for name, spec in specs.items()}
    out = ensure_writable_folder(Path(out))
    started = time.perf_counter()
    catalog = search(plan, out, progress)
    timings = {"search": time.perf_counter() - started}
    stages = [Stage(f"{prefix}pretrain", _pretrain_stage, (plan, out, catalog, progress))]
    for arm in ("scratch", "pretrained"):  # scratch first: it needs nothing, so it runs beside the pre-training
        for name in splits:
            for seed in plan.seed_list():
                stages.append(Stage(_stage_name(prefix, name, arm, seed), _finetune_stage,
                                    (plan, name, specs[name], arm, seed, out, scratch_out, progress),
                                    needs=(f"{prefix}pretrain",) if arm == "pretrained" else ()))
    return Prepared(plan, out, splits, stages, prefix, started, timings)


def _stage_name(prefix: str, name: str, arm: str, seed: int) -> str:
    return f"{'' if arm == 'scratch' else prefix}{Path(name).stem}-{arm}-seed{seed}"


def run(plan: Plan, datasets: list[str], out: Path, shared: Path, progress: bool = True,
        scratch_out: Path | None = None) -> dict:
    """Search, pre-train, fine-tune both arms on every dataset; results.json and the table's numbers.

    ``scratch_out``: where the scratch arm's runs live, when several experiments share it (Table 9).
    With ``plan.jobs`` > 1 the stages run that many at once (fdsl.experiments.schedule): the scratch
    arm does not wait for the pre-training.
    """
    from fdsl.experiments.schedule import run_stages

    prepared = prepare(plan, datasets, out, shared, progress, scratch_out)
    return finish(prepared, run_stages(prepared.stages, plan.jobs, prepared.out / "logs", progress))


def finish(prepared: Prepared, outcomes: dict) -> dict:
    """results.json from the finished stages ({name: (result, seconds)}); returns the report."""
    from fdsl.train import checkpoint, logs

    plan, out = prepared.plan, prepared.out
    timings = dict(prepared.timings)
    timings.update({stage.name: outcomes[stage.name][1] for stage in prepared.stages})
    results = {}
    for name, (_, _, _, description) in prepared.splits.items():
        arms = {}
        for arm in ("pretrained", "scratch"):
            runs = [outcomes[_stage_name(prepared.prefix, name, arm, seed)][0] for seed in plan.seed_list()]
            arms[arm] = {"folders": [r["folder"] for r in runs], "runs": runs,
                         "val_top1": spread([r["val_top1"] for r in runs]),
                         "train_size": description["train_size"], "val_size": description["val_size"],
                         "heldout_size": description["heldout_size"], "classes": description["classes"]}
            if plan.report_heldout:
                arms[arm]["heldout_top1"] = spread([r["heldout_top1"] for r in runs])
        first = plan.seed_list()[0]
        logs.plot({"pre-trained": Path(arms["pretrained"]["folders"][0]),
                   "scratch": Path(arms["scratch"]["folders"][0])},
                  out / f"comparison-{Path(name).stem}.png",
                  title=f"{plan.model} fine-tuned on {name} (seed {first}; validation split)")
        results[name] = arms
    timings["total"] = time.perf_counter() - prepared.started
    previous = json.loads((out / "results.json").read_text()) if (out / "results.json").exists() else {}
    pre_meta = checkpoint.read_meta(out / "pretrain")
    report = {"plan": dataclasses.asdict(plan), "results": {**previous.get("results", {}), **results},
              "seconds": {**previous.get("seconds", {}), **timings},
              "pretrain": pre_meta.get("metrics"), "pretrain_diagnosis": pre_meta.get("diagnosis", []),
              "pretrain_classes": len(pre_meta["classes"]), "pretrain_learnability": pre_meta.get("learnability")}
    # Atomic: the next run reads it back (a kill inside a plain write left a truncated file it could not parse).
    for stale in out.glob(".results.json.*.part"):  # a killed run's temporary
        stale.unlink(missing_ok=True)
    atomic_write_bytes(out / "results.json", (json.dumps(report, indent=2) + "\n").encode())
    return report


def table(report: dict) -> str:
    """Markdown: per dataset, mean ± sd over the fine-tuning seeds of each arm, on held-out (else validation)."""
    split = "held-out" if report["plan"].get("report_heldout", True) else "validation"
    key = "heldout_top1" if split == "held-out" else "val_top1"
    lines = [f"| dataset | train / val / held-out images | seeds | scratch top-1 ({split}) | pre-trained top-1 "
             f"({split}) | gain (points) |", "|---|---|---|---|---|---|"]
    for name, arms in report["results"].items():
        scratch, pre = arms["scratch"][key], arms["pretrained"][key]
        gains = [p - s for p, s in zip(pre["runs"], scratch["runs"])]
        gain = spread(gains)
        lines.append(f"| {name} | {arms['scratch']['train_size']} / {arms['scratch']['val_size']} / "
                     f"{arms['scratch']['heldout_size']} | {len(gains)} | {scratch['mean']:.2f} ± {scratch['sd']:.2f} | "
                     f"{pre['mean']:.2f} ± {pre['sd']:.2f} | **{gain['mean']:+.2f}** (per seed {gain['min']:+.1f} to "
                     f"{gain['max']:+.1f}) |")
    for name, arms in report["results"].items():
        lines.append(f"\n{name}: " + verdict([p - s for p, s in zip(arms["pretrained"][key]["runs"],
                                                                   arms["scratch"][key]["runs"])]))
    metrics = report.get("pretrain") or {}
    if "heldout_top1" in metrics:
        lines.append(f"\npre-training: top-1 {metrics['heldout_top1']:.1f} % on unseen formula images "
                     f"(chance {100 / report['pretrain_classes']:.1f} %)")
    found = report.get("pretrain_learnability")
    if found:  # what learners that train nothing make of the same unseen images (fdsl.train.learnability)
        lines.append(f"training-free learners on those images: pixel 1-NN {found['pixel_knn']:.1f} %"
                     + (f", random-feature probe {found['random_features']:.1f} %"
                        if found.get("random_features") is not None else ""))
    return "\n".join(lines)


# `make demo`: no shared data, under three minutes on 2 cores (two stages at a time: the scratch arm trains
# beside the pre-training).  A few labelled digits per class is the regime where pre-training matters.
# Chosen on the digits' validation split (docs/pretraining-gain.md): 20 Perlin categories at 6 epochs were
# learned to 43 % only and transferred negatively; 10 categories x 100 images at 8 epochs reach 82 % and
# gave +8.1 on validation.
DEMO = Plan(model="vit-nano-p4", recipe="vit-small", search_seed=1, view_size=0, pretrain_lr=1e-3, finetune_lr=1e-3,
            scratch_lr=0.0,
            categories=10, render_size=40, instances=100, pretrain_epochs=8, finetune_epochs=20, train_images=100,
            val_images=0.2, heldout_images=0.4, seeds="0,1,2", eval_every=5, batch_size=32, finetune_batch=16,
            jobs=2)
