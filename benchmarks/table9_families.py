"""The FractalDB paper's Table 9 at CPU scale: the same small ViT pre-trained on each formula family, and scratch.

    .venv/bin/python benchmarks/table9_families.py --out runs/table9 [--families perlin,fractal,...] [plan flags]
    .venv/bin/python benchmarks/table9_families.py --out runs/table9 --jobs 2 --threads 1   # both cores busy
    .venv/bin/python benchmarks/table9_families.py --out runs/table9 --report    # the table of what is done
    .venv/bin/python benchmarks/table9_families.py --out runs/learn --learnability   # the check alone, no training

Every row is ``fdsl experiment reproduce`` (``fdsl.experiments.reproduce``) with only the pre-training data
changed: same model, recipe, budget, splits and fine-tuning seeds; the scratch arm is trained once and
shared.  Rows are reported on the held-out CIFAR-10 split (mean ± sd over the seeds) beside each
family's pre-training accuracy on unseen formula images.  Stages are run folders: re-running resumes.
Cost: one pre-training and one fine-tuning per seed per family, about 17 min of one core per family.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

from fdsl.experiments import reproduce as experiment
from fdsl.experiments.schedule import run_stages
from fdsl.core.shared_data import shared_data_dir

# Each family with the search/render options that make its images at the plan's 40-px render size.
FAMILIES = {
    "perlin": {},
    "bezier": {},
    "fractal": {"formula": "fractal", "render_options": "points=20000"},
    "fractal-improved": {"formula": "fractal", "search_options": "sampler=sigma", "render_options": "points=20000",
                         "task": "multi-instance", "objects": "1-3"},
    "rcdb": {"formula": "rcdb"},
    "visual-atom": {"formula": "visual-atom"},
    # One image per category (the families' own definition), shown --instances times an epoch: the same budget.
    "onepfrac": {"formula": "onepfrac", "render_options": "points=20000", "instances": 1, "repeat": 100},
    "ofdb": {"formula": "ofdb", "render_options": "points=20000", "instances": 1, "repeat": 100},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--families", default=",".join(FAMILIES), help=f"comma-separated: {', '.join(FAMILIES)}")
    parser.add_argument("--data", default="cifar10")
    parser.add_argument("--quiet", action="store_true")
    parser.add_argument("--report", action="store_true",
                        help="train nothing: print the table of the families whose results.json is in --out")
    parser.add_argument("--learnability", action="store_true",
                        help="train nothing: search each family's catalog and print the learnability check of its "
                        "pre-training data (pixel 1-NN, random-feature probe of --model) at the plan's view")
    for field in dataclasses.fields(experiment.Plan):
        if field.name not in ("formula",):
            parser.add_argument(f"--{field.name.replace('_', '-')}", type=type(field.default), default=None)
    args = parser.parse_args()
    base = {f.name: getattr(args, f.name) for f in dataclasses.fields(experiment.Plan)
            if f.name != "formula" and getattr(args, f.name) is not None}
    unknown = sorted(set(args.families.split(",")) - set(FAMILIES))
    if unknown:
        parser.error(f"unknown families {', '.join(unknown)}; choose from {', '.join(FAMILIES)}")
    if args.learnability:
        print(learnability_table(args.families.split(","), base, args.out, not args.quiet))
        return
    if not args.report:
        run_families(args.families.split(","), base, args.data, args.out, not args.quiet)
    # The table holds every family finished under --out, not only this invocation's: runs of disjoint
    # family lists (one per core) add up to one table.
    rows = {family: json.loads((args.out / family / "results.json").read_text()) for family in FAMILIES
            if (args.out / family / "results.json").is_file()}
    if not rows:
        parser.exit(2, f"table9_families: no family has finished under {args.out}\n")
    print(table(rows, args.data))
    (args.out / "table9.json").write_text(json.dumps(rows, indent=2) + "\n")


def family_plan(family: str, base: dict) -> "experiment.Plan":
    """The plan of one row: the base flags, then the family's own options.  A family defined by one image per
    category keeps it, and shows it as many times an epoch as the base has instances (the same budget)."""
    options = dict(FAMILIES[family])
    if options.get("instances") == 1:
        options["repeat"] = base.get("instances", experiment.Plan().instances)
    plan = experiment.plan_from({"formula": family, **base, **options})
    plan.check()  # every row's plan before any row trains
    return plan


def run_families(families: list[str], base: dict, data: str, out: Path, progress: bool) -> None:
    """Every family's stages in one pool (``--jobs N``: N at once, each its share of the cores): the scratch
    arm is one set of stages that all families name, the pre-trained arm of a family waits for its
    pre-training only."""
    prepared, stages, seen = [], [], set()
    for family in families:
        plan = family_plan(family, base)
        one = experiment.prepare(plan, [data], out / family, shared_data_dir(), progress=progress,
                                 scratch_out=out / "scratch", prefix=f"{family}-")
        prepared.append(one)
        stages += [stage for stage in one.stages if stage.name not in seen]
        seen.update(stage.name for stage in one.stages)
    # Family by family, the scratch arm after the first pre-training: a job that would wait for a
    # pre-training takes the next family's instead, and an interrupted run leaves whole rows behind.
    outcomes = run_stages(stages, base.get("jobs", 1), out / "logs", progress)
    for one in prepared:
        experiment.finish(one, outcomes)


def learnability_table(families: list[str], base: dict, out: Path, progress: bool) -> str:
    """The learnability check of every family's pre-training data, measured as ``fdsl pretrain`` does before
    training (the same catalog, images, view and model as the Table 9 row); nothing is trained."""
    from fdsl.train.recipes import recipe_config
    from fdsl.train.stages import pretrain

    lines = ["| family | model | view (px) | pixel 1-NN | random-feature probe | chance |", "|---|---|---|---|---|---|"]
    found = {}
    for family in families:
        # Multi-instance images have several labels each; the check measures their single-shape categories.
        plan = dataclasses.replace(family_plan(family, base), task="classification")
        plan.check()
        catalog = experiment.search(plan, out / family, progress)
        config = recipe_config(plan.recipe, "pretrain", plan.stage_overrides("pretrain", plan.seed))
        meta = pretrain(config, out / family / "learnability", plan.recipe, params=catalog, formula=plan.formula,
                        render_options={**experiment.key_values(plan.render_options), "size": plan.render_size},
                        data_seed=plan.seed, instances=plan.instances, render_once=True, learnability_only=True,
                        progress=progress)
        result = found[family] = meta["learnability"]
        lines.append(f"| {family} | {plan.model} | {config.image_size} | {_percent(result['pixel_knn'])} | "
                     f"{_percent(result['random_features'])} | {100 / plan.categories:.1f} % |")
    (out / "learnability.json").write_text(json.dumps(found, indent=2) + "\n")
    return "\n".join(lines)


def table(rows: dict, data: str) -> str:
    split = "heldout_top1"
    lines = ["| model | pre-training | pixel 1-NN on unseen formula images | random-feature probe | pre-trained model on "
             "them | top-1 (held-out, mean ± sd) | vs scratch, mean (per seed) |", "|---|---|---|---|---|---|---|"]
    model = next(iter(rows.values()))["plan"]["model"]
    scratch = next(iter(rows.values()))["results"][data]["scratch"][split]
    lines.append(f"| {model} | scratch | – | – | – | {scratch['mean']:.2f} ± {scratch['sd']:.2f} | – |")
    for family, report in rows.items():
        arms = report["results"][data]
        if arms["scratch"][split]["runs"] != scratch["runs"]:  # every row must share one scratch arm
            raise SystemExit(f"table9_families: {family}'s scratch arm differs from the first row's; rerun it")
        pre = arms["pretrained"][split]
        gains = [p - s for p, s in zip(pre["runs"], scratch["runs"])]
        learned = (report.get("pretrain") or {}).get("heldout_top1", float("nan"))
        # The learnability check (fdsl.train.learnability) beside the pretext accuracy: can the data be told
        # apart at all, and did the model learn it?  Runs from before the check have none ("–").
        found = report.get("pretrain_learnability") or {}
        knn, probe = found.get("pixel_knn"), found.get("random_features")
        lines.append(f"| {report['plan']['model']} | {family} | {_percent(knn)} | {_percent(probe)} | {learned:.1f} % | "
                     f"{pre['mean']:.2f} ± {pre['sd']:.2f} | "
                     f"{sum(gains) / len(gains):+.2f} ({min(gains):+.1f} to {max(gains):+.1f}) |")
    return "\n".join(lines)


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f} %"


if __name__ == "__main__":
    main()
