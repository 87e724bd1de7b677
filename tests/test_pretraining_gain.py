"""The pre-training-gain machinery: held-out formula accuracy, small ViTs, render-once, multi-instance, the experiment."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from fdsl.data.composite import Composite, parse_objects
from fdsl.data.formula import Rendered, Repeated
from fdsl.core.errors import FdslError
from fdsl.formulas import create_formula
from fdsl.core.seeding import rng_for
from fdsl.data.real import open_images, three_way_split
from fdsl.train import diagnose
from fdsl.train.model import PRESETS, resolve
from fdsl.train.recipes import recipe_config
from fdsl.train.stages import pretrain
from helpers import assert_one_line_error, run_cli

RENDER = {"size": "20", "points": "600", "patches": "2"}


def fractal(catalog, instances=8, **render):
    from fdsl.data.formula import pretraining_dataset

    return pretraining_dataset(params=catalog, render_options={**RENDER, **render}, instances=instances)[0]


def test_heldout_images_are_the_ones_training_never_uses(catalog):
    train = fractal(catalog, instances=8)  # of 25 weight rows x 2 patches x 4 flips = 200 per category
    held = train.heldout(5)
    assert held.instances == 5 and held.stream == "render"
    assert not set(held.picks.tolist()) & set(train.picks.tolist())
    assert len(held) == 4 * 5 and held.targets.tolist() == [c for c in range(4) for _ in range(5)]
    # Same pixels as fdsl render writes for that image (the key is the category's image index).
    index = 2 * held.instances + 3
    draw, view = divmod(held.image_index(3), held.views)
    formula = create_formula("fractal")
    image, _ = formula.render_draw(held.categories[2], draw, rng_for(0, "render", 2, draw), held.settings,
                                   held.context)
    assert np.array_equal(held.render(index), formula.view(image, view, held.settings))


def test_heldout_uses_fresh_draws_when_training_uses_every_image(catalog):
    train = fractal(catalog, instances=200)
    held = train.heldout(3)
    assert held.stream == "heldout" and held.instances == 3
    assert set(held.picks.tolist()) <= set(train.picks.tolist())
    same_image = [i for i in range(len(held)) if not np.array_equal(held.render(i), train.render(
        (i // 3) * 200 + int(held.picks[i % 3])))]
    assert same_image  # other random patch masks: not the trained pixels


def test_not_learned_warning_thresholds():
    assert diagnose.not_learned_threshold(100) == 6.0    # chance 1 %: chance + 5 points
    assert diagnose.not_learned_threshold(10) == 30.0    # chance 10 %: 3x chance
    assert diagnose.pretraining(2.0, 4, 15, 100).startswith("pre-training accuracy 2.0 % on unseen formula images "
                                                           "after 4 epochs (chance 1.0 %)")
    assert diagnose.pretraining(2.0, 3, 15, 100) is None   # too early to say
    assert diagnose.pretraining(40.0, 10, 15, 100) is None  # learned
    assert diagnose.pretraining(2.0, 2, 2, 100) is not None  # a short run is judged at its end
    assert diagnose.pretraining(None, 10, 15, 100) is None


def test_render_once_gives_the_on_the_fly_pixels_and_repeat_keeps_labels(catalog):
    live = fractal(catalog, instances=3)
    kept = Rendered(live, progress=False)
    assert len(kept) == len(live) == 12
    for i in (0, 5, 11):
        assert np.array_equal(np.asarray(kept[i][0]), np.asarray(live[i][0])) and kept[i][1] == live[i][1]
    repeated = Repeated(kept, 3)
    assert len(repeated) == 36 and repeated.targets.tolist() == kept.targets.tolist() * 3
    assert np.array_equal(np.asarray(repeated[13][0]), np.asarray(kept[1][0]))
    with pytest.raises(FdslError, match="--repeat"):
        Repeated(kept, 0)


def test_multi_instance_items_are_keyed_and_multi_hot(catalog):
    base = Rendered(fractal(catalog, instances=3), progress=False)
    multi = Composite(base, (2, 3), seed=5)
    image, target = multi[7]
    again_image, again_target = Composite(base, (2, 3), seed=5)[7]
    assert np.array_equal(np.asarray(image), np.asarray(again_image)) and torch.equal(target, again_target)
    assert image.size == (20, 20) and image.mode == "RGB"
    assert target.dtype == torch.float32 and 2 <= target.sum() <= 3 and target[int(base.targets[7])] == 1
    counts = {int(multi[i][1].sum()) for i in range(len(multi))}
    assert counts <= {2, 3}
    other = np.asarray(Composite(base, (2, 3), seed=6)[7][0])
    assert not np.array_equal(np.asarray(image), other)
    single = Composite(base, (1, 1), seed=5)
    assert single[4][1] == int(base.targets[4]) and not single.multi_label
    assert np.asarray(single[4][0]).std() > 0  # a colour background, not black
    with pytest.raises(FdslError, match="only 4"):
        Composite(base, (1, 5))
    assert parse_objects("1-5") == (1, 5) and parse_objects("2") == (2, 2)
    with pytest.raises(FdslError, match="LOW-HIGH"):
        parse_objects("a-b")


def test_small_vit_presets_rebuild_with_plain_timm():
    import timm

    name, kwargs = resolve("vit-nano-p4", 32, 0.1)
    assert name == PRESETS["vit-nano-p4"][0] and kwargs["patch_size"] == 4 and kwargs["img_size"] == 32
    model = timm.create_model(name, num_classes=10, **kwargs)
    assert model(torch.zeros(2, 3, 32, 32)).shape == (2, 10)
    assert model.patch_embed.num_patches == 64
    with pytest.raises(FdslError, match="not a multiple of the patch size 4"):
        resolve("vit-nano-p4", 30, 0.0)
    with pytest.raises(FdslError, match="patch size 16"):
        resolve("vit_tiny_patch16_224", 40, 0.0)


def vit_config(stage, **values):
    base = dict(model="vit-nano-p4", epochs=2, batch_size=8, image_size=16, crop_pct=0.8, threads=1)
    return recipe_config("vit-small", stage, {**base, **values})


def test_pretraining_records_heldout_accuracy_and_multi_instance_trains(catalog, tmp_path):
    meta = pretrain(vit_config("pretrain"), tmp_path / "single", "vit-small", params=catalog, render_options=RENDER,
                    instances=4, render_once=True, progress=False)
    assert meta["model"] == "vit_tiny_patch16_224" and meta["preset"] == "vit-nano-p4"
    assert meta["metrics"]["heldout_count"] == 4 * 10 and "fit_top1" in meta["metrics"]
    assert meta["data"]["heldout"]["kind"] == "images of each category training does not use"
    # Four categories at chance after two epochs of a tiny model: the run says so.
    assert all("unseen formula images" in line for line in meta.get("diagnosis", []))
    multi = pretrain(vit_config("pretrain"), tmp_path / "multi", "vit-small", params=catalog, render_options=RENDER,
                     instances=4, render_once=True, task="multi-instance", objects="1-2", progress=False)
    assert multi["data"]["composite"]["objects"] == [1, 2]
    assert 0 <= multi["metrics"]["heldout_top1"] <= 100 and np.isfinite(multi["metrics"]["train_loss"])
    with pytest.raises(FdslError, match="Mixup/CutMix"):
        pretrain(vit_config("pretrain", mixup=0.8), tmp_path / "mixed", "vit-small", params=catalog,
                 render_options=RENDER, instances=4, task="multi-instance", objects="1-2", progress=False)


def test_three_way_split_is_stratified_disjoint_and_keeps_heldout_fixed():
    digits = open_images("sklearn-digits")
    train, val, held = three_way_split(digits, 0.3, 0.2, seed=4)
    assert not (set(train) & set(val) or set(train) & set(held) or set(val) & set(held))
    assert len(train) + len(val) + len(held) == len(digits)
    per_class = np.bincount(digits.targets[held])
    assert per_class.min() >= 0.3 * np.bincount(digits.targets).min() - 1
    _, other_val, same_held = three_way_split(digits, 0.3, 0.1, seed=4)
    assert np.array_equal(held, same_held) and len(other_val) < len(val)  # validation size never moves held-out
    _, _, counted = three_way_split(digits, 500, 100, seed=4)
    assert abs(len(counted) - 500) <= 10
    with pytest.raises(FdslError, match="leave training images"):
        three_way_split(digits, 0.6, 0.5, seed=4)


def test_experiment_reports_every_seed_on_heldout(tmp_path, capsys):
    argv = ["experiment", "reproduce", "--data", "sklearn-digits", "--out", tmp_path / "exp", "--categories", "4",
            "--render-size", "20", "--view-size", "0", "--render-options", "points=600,patches=2", "--instances", "4",
            "--image-size", "16", "--pretrain-epochs", "1", "--finetune-epochs", "1", "--batch-size", "16",
            "--train-images", "40", "--seeds", "0,1", "--threads", "1", "--quiet", "--formula", "fractal",
            "--search-options", "points=2000,size=64,fill_rate=0.1"]
    code, err = run_cli(capsys, *argv)
    assert code == 0, err
    report = json.loads((tmp_path / "exp" / "results.json").read_text())
    arms = report["results"]["sklearn-digits"]
    assert set(arms) == {"pretrained", "scratch"}
    for arm in arms.values():
        assert len(arm["folders"]) == 2 and len(arm["heldout_top1"]["runs"]) == 2 and arm["train_size"] == 40
    assert "held-out" in run_cli.stdout and "pre-training: top-1" in run_cli.stdout
    # Choosing settings: the held-out split is not even evaluated.
    code, err = run_cli(capsys, *argv[:5], tmp_path / "choose", *argv[6:], "--report-heldout", "false")
    assert code == 0, err
    chosen = json.loads((tmp_path / "choose" / "results.json").read_text())["results"]["sklearn-digits"]
    assert "heldout_top1" not in chosen["scratch"] and "heldout_top1" not in chosen["scratch"]["runs"][0]


@pytest.mark.slow  # 19 s of whole stages in worker processes: in CI's second command
def test_stages_run_two_at_once_give_the_same_results_as_in_turn(tmp_path, capsys):
    """--jobs 2: the scratch arm beside the pre-training, each stage in its own process, one thread each;
    the runs are the same runs, so every number equals the one-at-a-time experiment's."""
    argv = ["experiment", "reproduce", "--data", "sklearn-digits", "--categories", "4", "--render-size", "16", "--view-size", "0",
            "--render-options", "points=500,patches=1", "--instances", "4", "--image-size", "16",
            "--pretrain-epochs", "1", "--finetune-epochs", "1", "--batch-size", "16", "--train-images", "30",
            "--seeds", "0,1", "--threads", "1", "--quiet", "--formula", "fractal",
            "--search-options", "points=2000,size=64,fill_rate=0.1"]
    reports = {}
    for jobs in ("1", "2"):
        code, err = run_cli(capsys, *argv, "--out", tmp_path / jobs, "--jobs", jobs)
        assert code == 0, err
        reports[jobs] = json.loads((tmp_path / jobs / "results.json").read_text())["results"]["sklearn-digits"]
    for arm in ("pretrained", "scratch"):
        for one, two in zip(reports["1"][arm]["runs"], reports["2"][arm]["runs"]):
            assert (one["val_top1"], one["heldout_top1"]) == (two["val_top1"], two["heldout_top1"])
    logs = sorted(p.name for p in (tmp_path / "2" / "logs").iterdir())
    assert logs == ["pretrain.log", "sklearn-digits-pretrained-seed0.log", "sklearn-digits-pretrained-seed1.log",
                    "sklearn-digits-scratch-seed0.log", "sklearn-digits-scratch-seed1.log"]
    assert "epoch 1/1" in (tmp_path / "2" / "logs" / "pretrain.log").read_text()


@pytest.mark.parametrize("extra, message", [
    (["--seeds", "0,0"], "no repeats"),
    (["--jobs", "0"], "--jobs must be at least 1"),
    (["--repeat", "0"], "--repeat must be at least 1"),
    (["--task", "counting"], "unknown --task"),
    (["--image-size", "30", "--model", "vit-nano-p4"], "not a multiple of the patch size"),
    (["--objects", "1-9", "--task", "multi-instance"], "only 4"),
    (["--render-size", "16"], "smaller than --image-size"),
    (["--view-size", "200"], "--view-size 200 must lie between --image-size 32 and --render-size 128"),
    (["--view-size", "20"], "must lie between"),
    (["--heldout-images", "0.7", "--val-images", "0.5"], "leave training images"),
])
def test_experiment_bad_input_is_refused_before_any_work(tmp_path, capsys, extra, message):
    out = tmp_path / "exp"
    code, err = run_cli(capsys, "experiment", "reproduce", "--data", "sklearn-digits", "--out", out, "--categories",
                        "4", "--quiet", *extra)
    assert_one_line_error(code, err, message)
    assert not (out / "catalog").exists()


def test_pretrain_cli_refuses_bad_task_options(catalog, tmp_path, capsys):
    base = ["pretrain", "--params", catalog, "--out", tmp_path / "p", "--recipe", "vit-small", "--quiet"]
    assert_one_line_error(*run_cli(capsys, *base, "--task", "bogus"), "unknown --task")
    assert_one_line_error(*run_cli(capsys, *base, "--task", "multi-instance", "--objects", "2-7"), "only 4")
    assert_one_line_error(*run_cli(capsys, *base, "--image-size", "30"), "patch size 4")
    assert not (tmp_path / "p").exists()


def test_view_size_resizes_large_renders_before_the_crop():
    """--render-size 128 --view-size 40: the 32-px crop is taken from the render shrunk to 40 px (the whole
    shape), not cut out of the 128-px render (a quarter of it)."""
    from PIL import Image

    from fdsl.experiments.reproduce import Plan
    from fdsl.train.augment import eval_transform, train_transform
    from fdsl.train.recipes import recipe_config

    def first_resize(plan):
        config = recipe_config(plan.recipe, "pretrain", plan.stage_overrides("pretrain", 0))
        return config, train_transform(config).transforms[0].size

    assert first_resize(Plan())[1] == 40  # the default: 128-px renders shown at 40
    assert first_resize(Plan(render_size=40, view_size=0))[1] == 40  # 40-px renders, no resize
    assert first_resize(Plan(view_size=0))[1] == 128  # no view size: a crop of a quarter of the render
    config, side = first_resize(Plan(render_size=128, view_size=40))
    assert side == 40
    image = Image.new("RGB", (128, 128))
    image.paste((255, 255, 255), (0, 0, 64, 128))  # left half white
    view = eval_transform(config)(image)
    assert view.shape == (3, 32, 32)
    assert view[0, :, :12].min() > 0 and view[0, :, -12:].max() < 0  # both halves are in the 32-px view


def test_each_arm_fine_tunes_at_its_own_learning_rate_unless_one_is_given(capsys):
    from fdsl.experiments.reproduce import plan_from

    plan = plan_from({})
    assert plan.stage_overrides("finetune", 0, "pretrained")["lr"] == 0.1
    assert plan.stage_overrides("finetune", 0, "scratch")["lr"] == 0.02  # the scratch arm's own best
    assert capsys.readouterr().err == ""
    vit = plan_from({"finetune_lr": 1e-3})  # a user who changes the rate means both arms, and is told
    assert vit.stage_overrides("finetune", 0, "scratch")["lr"] == vit.stage_overrides("finetune", 0)["lr"] == 1e-3
    assert "fine-tunes both arms" in capsys.readouterr().err
    both = plan_from({"finetune_lr": 0.05, "scratch_lr": 0.01})
    assert (both.stage_overrides("finetune", 0)["lr"], both.stage_overrides("finetune", 0, "scratch")["lr"]) == (0.05, 0.01)
