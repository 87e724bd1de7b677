"""Refusals found by a hostile probe: a run written into another tool's folder, options matched by prefix, and an
experiment whose render settings are checked only after its catalog was written."""

from __future__ import annotations

import numpy as np
import pytest

from helpers import assert_one_line_error, run_cli
from test_train_bad_input import TINY, image_folder


def test_pretrain_into_its_own_dataset_folder_is_refused(tmp_path, capsys):
    images = image_folder(tmp_path / "render", ["00000", "00001"], per_class=8)
    before = sorted(p.relative_to(images) for p in images.rglob("*"))
    code, err = run_cli(capsys, "pretrain", "--images", images, *TINY, "--out", images)
    assert_one_line_error(code, err, "is not empty and holds no fdsl training run", "00000, 00001",
                          "choose a new or empty --out")
    assert sorted(p.relative_to(images) for p in images.rglob("*")) == before  # nothing added: no class 'checkpoints'


def test_finetune_into_a_folder_of_other_files_is_refused(tmp_path, capsys):
    out = tmp_path / "catalog"
    out.mkdir()
    (out / "00000.csv").write_text("0.5,0.1,0.1,0.5,0.0,0.0,1.0\n")
    code, err = run_cli(capsys, "finetune", "--scratch", "--data", "sklearn-digits", *TINY, "--out", out)
    assert_one_line_error(code, err, "holds no fdsl training run (00000.csv)")
    assert [p.name for p in out.iterdir()] == ["00000.csv"]


def test_an_empty_folder_and_a_finished_run_are_still_accepted(tmp_path, capsys):
    images = image_folder(tmp_path / "render", ["00000", "00001"], per_class=8)
    out = tmp_path / "run"
    out.mkdir()  # made by the user beforehand: empty, so ours
    assert run_cli(capsys, "pretrain", "--images", images, *TINY, "--out", out)[0] == 0
    (out / "notes.txt").write_text("mine")  # a user's file beside a run does not make it foreign
    assert run_cli(capsys, "pretrain", "--images", images, *TINY, "--out", out, "--resume")[0] == 0
    assert (out / "notes.txt").read_text() == "mine"


@pytest.mark.parametrize("argv, needle", [
    (["pretrain", "--images", "x", "--data", "7"], "unrecognized arguments: --data 7"),  # was --data-seed 7
    (["finetune", "--scratch", "--data", "sklearn-digits", "--epoch", "2"], "unrecognized arguments: --epoch 2"),
])
def test_options_are_not_matched_by_prefix(tmp_path, capsys, argv, needle):
    code, err = run_cli(capsys, *argv, "--out", tmp_path / "o")
    assert_one_line_error(code, err, needle)
    assert not err.startswith("fdsl: error: fdsl:")  # the program is named once
    assert not (tmp_path / "o").exists()


def test_a_config_key_is_not_matched_by_prefix(tmp_path, capsys):
    config = tmp_path / "c.yaml"
    config.write_text("epoch: 2\n")
    code, err = run_cli(capsys, "finetune", "--scratch", "--data", "sklearn-digits", "--config", config,
                        "--out", tmp_path / "o")
    assert_one_line_error(code, err, "--epoch")
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("flags, needle", [
    (["--render-options", "points=20000"], "unknown render setting 'points'; choose from: instances, size"),
    (["--search-options", "bogus=1"], "unknown search setting 'bogus'"),
    (["--formula", "fractal", "--render-options", "points=-1"], "points"),
    (["--objects", "3"], "--objects 3 is ignored by --task classification"),
])
def test_experiment_settings_are_checked_before_the_catalog(tmp_path, capsys, flags, needle):
    out = tmp_path / "xp"
    code, err = run_cli(capsys, "experiment", "reproduce", "--out", out, "--quiet", *flags)
    assert_one_line_error(code, err, needle)
    assert not out.exists()  # no catalog written first


@pytest.mark.parametrize("flags, needle", [
    (["--decoder", "upernet"], "--decoder is ignored by --task classification"),
    (["--seg-loss", "ce+dice"], "--seg-loss is ignored by --task classification"),
    (["--val", "sklearn-digits", "--val-fraction", "0.3"], "--val-fraction is ignored with --val"),
    (["--task", "segmentation", "--crop-pct", "0.5"], "--crop-pct is ignored by --task segmentation"),
    (["--task", "segmentation", "--re-prob", "0.5"], "--re-prob is ignored by --task segmentation"),
    (["--task", "segmentation", "--drop-path", "0.1"], "--drop-path is ignored by --task segmentation"),
    (["--task", "segmentation", "--max-classes", "2"], "--max-classes is ignored by --task segmentation"),
])
def test_finetune_refuses_what_it_would_ignore(tmp_path, capsys, flags, needle):
    out = tmp_path / "run"
    tiny = [word for word in TINY if word not in ("--crop-pct", "0.8")]  # itself ignored by segmentation
    code, err = run_cli(capsys, "finetune", "--scratch", "--data", "sklearn-digits", *tiny, "--out", out, *flags)
    assert_one_line_error(code, err, needle)
    assert not out.exists()


@pytest.mark.parametrize("flags, needle", [
    (["--shard-size", "10"], "--shard-size 10 is ignored by --format folder"),
    (["--draw", "point-gray", "--patches", "5"], "--patches 5 is ignored by --draw point-gray"),
])
def test_render_refuses_what_it_would_ignore(tiny_catalog, tmp_path, capsys, flags, needle):
    out = tmp_path / "out"
    code, err = run_cli(capsys, "render", "fractal", "--params", tiny_catalog, "--out", out, "--size", "32",
                        "--points", "500", *flags)
    assert_one_line_error(code, err, needle)
    assert not out.exists()


def test_scenes_refuse_a_shard_size_without_tars(tmp_path, capsys):
    out = tmp_path / "scenes"
    code, err = run_cli(capsys, "scenes", "--params", tmp_path / "none", "--out", out, "--shard-size", "3")
    assert_one_line_error(code, err, "--shard-size 3 is ignored by --format folder")
    assert not out.exists()


@pytest.mark.parametrize("argv, needle", [
    (["viz", "filters", "run", "--data", "sklearn-digits"], "--data is ignored by viz filters"),
    (["viz", "curves", "run", "--max-filters", "3"], "--max-filters is ignored by viz curves"),
])
def test_viz_refuses_what_its_kind_would_ignore(tmp_path, capsys, argv, needle):
    out = tmp_path / "v.png"
    code, err = run_cli(capsys, *argv, "--out", out)
    assert_one_line_error(code, err, needle)
    assert not out.exists()


def test_preview_of_a_dataset_refuses_a_seed_and_says_a_smaller_sheet(tmp_path, capsys):
    images = image_folder(tmp_path / "render", ["00000", "00001"], per_class=3)
    out = tmp_path / "p.png"
    code, err = run_cli(capsys, "preview", images, "--out", out, "--seed", "5")
    assert_one_line_error(code, err, "--seed 5 is ignored")
    assert not out.exists()
    code, err = run_cli(capsys, "preview", images, "--out", out, "--rows", "10", "--columns", "10")
    assert code == 0 and out.exists()
    assert "the sheet is 2 x 3, not the 10 x 10 asked for" in err


def test_rendering_into_a_catalog_names_it(tiny_catalog, tmp_path, capsys):
    code, err = run_cli(capsys, "render", "fractal", "--params", tiny_catalog, "--out", tiny_catalog, "--size", "32")
    assert_one_line_error(code, err, "holds a catalog written by 'fdsl search'", "render to a new --out")


def test_pretrain_lists_every_task(tmp_path, capsys):
    code, err = run_cli(capsys, "pretrain", "--images", tmp_path, *TINY, "--task", "bogus", "--out", tmp_path / "o")
    assert_one_line_error(code, err, "unknown --task 'bogus'", "classification, multi-instance, segmentation")


def test_resume_from_another_checkpoint_names_the_two_runs(tmp_path, capsys):
    images = image_folder(tmp_path / "render", ["00000", "00001"], per_class=8)
    for name, seed in (("pre-a", "0"), ("pre-b", "1")):
        assert run_cli(capsys, "pretrain", "--images", images, *TINY, "--seed", seed, "--out", tmp_path / name)[0] == 0
    tuned = tmp_path / "tuned"
    common = ["finetune", "--data", images, *TINY, "--out", tuned]
    assert run_cli(capsys, *common, "--checkpoint", tmp_path / "pre-a")[0] == 0
    code, err = run_cli(capsys, *common, "--checkpoint", tmp_path / "pre-b", "--resume")
    assert_one_line_error(code, err, "--resume with another pre-trained start (--checkpoint)", "pre-a", "pre-b")


def test_npz_labels_with_gaps_are_said(tmp_path, capsys):
    import numpy as np

    data = tmp_path / "gaps.npz"
    np.savez(data, images=np.zeros((12, 8, 8), dtype=np.uint8), labels=(np.arange(12) % 3) * 5)
    code, err = run_cli(capsys, "finetune", "--scratch", "--data", data, *TINY, "--out", tmp_path / "run")
    assert code == 0, err
    assert "labels run 0..10 and 8 of those classes have no image (1, 2, 3, 4, 6, ...)" in err


def test_preview_says_it_replaces_an_existing_sheet(tmp_path, capsys):
    images = image_folder(tmp_path / "render", ["00000", "00001"], per_class=3)
    out = tmp_path / "p.png"
    out.write_bytes(b"old")
    code, err = run_cli(capsys, "preview", images, "--out", out, "--rows", "2", "--columns", "3")
    assert code == 0 and f"{out} exists: the new contact sheet replaces it" in err
    assert out.read_bytes() != b"old"


def test_pretrain_on_images_refuses_instances(tmp_path, capsys):
    images = image_folder(tmp_path / "render", ["00000", "00001"], per_class=8)
    code, err = run_cli(capsys, "pretrain", "--images", images, *TINY, "--instances", "4", "--out", tmp_path / "o")
    assert_one_line_error(code, err, "--instances is ignored with --images")
    assert not (tmp_path / "o").exists()


def test_a_render_names_its_first_warning(tmp_path, capsys):
    params = tmp_path / "params"
    params.mkdir()
    (params / "00000.csv").write_text("1e300,0.1,0.1,0.5,0.0,0.0,0.5\n0.5,0.1,0.1,0.5,0.0,0.0,0.5\n")
    code, _ = run_cli(capsys, "render", "fractal", "--params", params, "--out", tmp_path / "out", "--size", "32",
                      "--points", "500", "--patches", "1", "--flips", "1", "--quiet")
    assert code == 0
    out = run_cli.stdout
    assert "25 draws had warnings (degenerate 25; e.g. category 0 draw 0: degenerate: the attractor is" in out


@pytest.mark.parametrize("flag", ["--iterations", "--mix-points", "--object-points"])
def test_layout_only_scenes_refuse_cloud_settings(tmp_path, capsys, flag):
    out = tmp_path / "scenes"
    code, err = run_cli(capsys, "scenes", "--params", tmp_path / "none", "--out", out, "--layout-only", flag, "50")
    assert_one_line_error(code, err, f"{flag} is ignored by --layout-only")
    assert not out.exists()


@pytest.fixture
def small_render(tiny_catalog, tmp_path, capsys):
    out = tmp_path / "render"
    flags = ["render", "fractal", "--params", tiny_catalog, "--size", "32", "--points", "300", "--patches", "1",
             "--flips", "2", "--quiet"]
    assert run_cli(capsys, *flags, "--out", out)[0] == 0
    return out, flags


@pytest.mark.parametrize("text, needle", [("null", "JSON null"), ("[1, 2]", "JSON an array"), ('"x"', "JSON a string")])
def test_a_manifest_that_is_no_object_is_refused(small_render, capsys, text, needle):
    out, flags = small_render
    (out / "manifest.json").write_text(text)
    for argv in (["status", out], [*flags, "--out", out, "--seed", "7"]):  # not adopted as another seed's render
        code, err = run_cli(capsys, *argv)
        assert_one_line_error(code, err, "manifest.json is not a valid manifest", needle)
    assert (out / "manifest.json").read_text() == text


def test_status_of_a_manifest_missing_its_keys(small_render, capsys):
    out, _ = small_render
    (out / "manifest.json").write_text('{"kind": "dataset"}')
    code, err = run_cli(capsys, "status", out)
    assert_one_line_error(code, err, "its manifest is damaged (KeyError: 'shard')")


def test_a_truncated_png_is_missing_and_rendered_again(small_render, capsys):
    out, flags = small_render
    victim = sorted(out.rglob("*.png"))[0]
    whole = victim.read_bytes()
    victim.write_bytes(whole[:50])
    code, _ = run_cli(capsys, "status", out)
    assert code == 1 and "1 missing" in run_cli.stdout
    assert run_cli(capsys, *flags, "--out", out)[0] == 0
    assert victim.read_bytes() == whole


def test_formula_dataset_refuses_a_segmentation_family(tmp_path):
    import fdsl
    from fdsl.core.errors import FdslError

    with pytest.raises(FdslError, match="makes image/mask pairs"):
        fdsl.FormulaDataset("segrcdb", tmp_path, {"size": 32})


def test_a_list_for_a_one_value_option_and_two_configs_are_refused(tmp_path, capsys):
    out = tmp_path / "cat"
    listed = tmp_path / "list.yaml"
    listed.write_text("categories: [2, 3]\n")
    code, err = run_cli(capsys, "search", "fractal", "--config", listed, "--out", out)
    assert_one_line_error(code, err, "--categories takes one value, got a list (2, 3)")
    code, err = run_cli(capsys, "search", "fractal", "--config", listed, "--config", listed, "--out", out)
    assert_one_line_error(code, err, "--config given twice")
    assert not out.exists()


def test_the_command_line_over_the_config_is_said(tmp_path, capsys):
    config = tmp_path / "c.yaml"
    config.write_text("categories: 3\nsize: 32\npoints: 500\nfill-rate: 0.05\n")
    code, err = run_cli(capsys, "search", "fractal", "--config", config, "--categories", "2", "--out",
                        tmp_path / "cat", "--quiet")
    assert code == 0, err
    assert f"--categories 2 on the command line overrides 3 from --config {config}" in err
    assert len(list((tmp_path / "cat").glob("*.csv"))) == 2


@pytest.mark.parametrize("shards, shuffle, needle", [
    ("missing-folder", 100, "does not exist"),
    (".", -1, "shuffle must be a whole number"),
    (".", float("nan"), "shuffle must be a whole number"),
])
def test_webdataset_pipeline_checks_its_arguments(tmp_path, shards, shuffle, needle):
    pytest.importorskip("webdataset")
    import fdsl
    from fdsl.core.errors import FdslError

    with pytest.raises(FdslError, match=needle):
        fdsl.webdataset_pipeline(tmp_path / shards, shuffle=shuffle)


@pytest.mark.parametrize("call, needle", [
    (lambda fdsl, t: fdsl.search_catalog("fractal", t / "a", categories="3"), "--categories must be a whole number, "
                                                                               "got '3' (str)"),
    (lambda fdsl, t: fdsl.search_catalog("fractal", t / "a", categories=2.5), "got 2.5 (float)"),
    (lambda fdsl, t: fdsl.search_catalog("fractal", t / "a", categories=True), "got True (bool)"),
    (lambda fdsl, t: fdsl.search_catalog("fractal", t / "a", seed="1"), "--seed must be a whole number"),
    (lambda fdsl, t: fdsl.render_catalog("fractal", t, t / "r", workers="2"), "--workers must be a whole number"),
    (lambda fdsl, t: fdsl.render_catalog("fractal", t, t / "r", format="webdataset", shard_size="5"),
     "--shard-size must be a whole number"),
    (lambda fdsl, t: fdsl.FormulaDataset("fractal", t, settings=[1, 2]), "settings must be a dict of render settings"),
])
def test_the_python_api_refuses_wrong_types_in_one_line(tmp_path, call, needle):
    """A script's '3' or 2.5 where a count goes was a TypeError deep in a comparison (or a silent int())."""
    import fdsl

    with pytest.raises(fdsl.FdslError, match=needle.replace("(", r"\(").replace(")", r"\)")):
        call(fdsl, tmp_path)
    assert not (tmp_path / "a").exists() and not (tmp_path / "r").exists()


def test_formula_dataset_refuses_a_seed_or_count_that_is_no_whole_number(tiny_catalog):
    import fdsl

    with pytest.raises(fdsl.FdslError, match="--seed must be a whole number"):
        fdsl.FormulaDataset("fractal", tiny_catalog, {"size": 32}, seed="x")
    with pytest.raises(fdsl.FdslError, match="--instances must be a whole number"):
        fdsl.FormulaDataset("fractal", tiny_catalog, {"size": 32}, instances=2.5)  # int() truncated it before
    assert len(fdsl.FormulaDataset("fractal", tiny_catalog, {"size": 32}, seed=np.int64(3), instances=2)) == 6


def test_a_switch_given_a_value_in_the_config_names_the_file(tmp_path, capsys):
    config = tmp_path / "c.yaml"
    config.write_text('quiet: "no"\n')
    code, err = run_cli(capsys, "search", "fractal", "--config", config, "--out", tmp_path / "cat")
    assert_one_line_error(code, err, f"--config {config}: 'quiet' is a switch; give it true or false, got 'no'")
    assert not (tmp_path / "cat").exists()


def test_the_segmentation_experiment_points_at_its_own_option(tmp_path, capsys):
    code, err = run_cli(capsys, "experiment", "segmentation", "--shared", tmp_path / "none", "--out", tmp_path / "x")
    assert_one_line_error(code, err, "Fashion-MNIST not found", "pass --shared DIR")
    assert "--data" not in err and not (tmp_path / "x").exists()
