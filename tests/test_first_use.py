"""What a new user meets first: fine-tuning takes the checkpoint's settings, recipes fit short runs, and
what is taken from elsewhere is said in one line on stderr."""

import json

from helpers import assert_one_line_error, run_cli

from fdsl.train.recipes import recipe_config


def _pretrain(capsys, catalog, out, *extra):
    code, err = run_cli(capsys, "pretrain", "--params", str(catalog), "--render", "size=64", "--render",
                        "points=5000", "--instances", "6", "--heldout-per-category", "2", "--epochs", "1",
                        "--batch-size", "8", "--out", str(out), "--quiet", "--no-learnability-check", *extra)
    assert code == 0, err
    return err


def test_finetune_takes_the_checkpoint_recipe_and_image_size(tiny_catalog, tmp_path, capsys):
    pre = tmp_path / "pre"
    _pretrain(capsys, tiny_catalog, pre, "--model", "vit-nano-p4", "--recipe", "vit-small", "--image-size", "32")
    out = tmp_path / "ft"
    code, err = run_cli(capsys, "finetune", "--checkpoint", str(pre), "--data", "sklearn-digits", "--train-images",
                        "40", "--epochs", "1", "--batch-size", "16", "--out", str(out), "--quiet")
    assert code == 0, err
    assert "fdsl: note: from the checkpoint: recipe vit-small and image size 32" in err
    meta = json.loads((out / "model.json").read_text())
    assert meta["recipe"] == "vit-small" and meta["config"]["image_size"] == 32
    assert meta["config"]["opt"] == "adamw"  # vit-small's fine-tuning stage, not resnet-sgd's SGD


def test_explicit_settings_win_over_the_checkpoint(tiny_catalog, tmp_path, capsys):
    pre = tmp_path / "pre"
    _pretrain(capsys, tiny_catalog, pre, "--model", "resnet10t", "--image-size", "32")
    out = tmp_path / "ft"
    code, err = run_cli(capsys, "finetune", "--checkpoint", str(pre), "--data", "sklearn-digits", "--train-images",
                        "40", "--epochs", "1", "--batch-size", "16", "--recipe", "resnet-sgd", "--image-size", "40",
                        "--out", str(out), "--quiet")
    assert code == 0, err
    assert "from the checkpoint" not in err
    assert json.loads((out / "model.json").read_text())["config"]["image_size"] == 40


def test_a_recipe_warm_up_is_fitted_to_a_short_run_and_said(capsys):
    config = recipe_config("deit", "pretrain", {"epochs": 1})
    assert 0 < config.warmup_epochs <= 0.5
    assert "warm-up epochs fitted" in capsys.readouterr().err
    assert recipe_config("vit-small", "pretrain", {"epochs": 10}).warmup_epochs == 1  # fits: kept as written


def test_a_warm_up_the_user_typed_is_still_checked(tiny_catalog, tmp_path, capsys):
    code, err = run_cli(capsys, "pretrain", "--params", str(tiny_catalog), "--out", str(tmp_path / "r"),
                        "--epochs", "1", "--warmup-epochs", "5", "--quiet")
    assert_one_line_error(code, err, "--warmup-epochs must be between 0 and 1")
    assert not (tmp_path / "r").exists()


def test_a_note_goes_to_stderr_once(capsys):
    from fdsl.core.notes import note, warn

    for _ in range(3):
        warn("the task is too hard for this budget (test)")
    note("something taken from elsewhere (test)")
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("fdsl: warning: the task is too hard for this budget (test)") == 1
    assert "fdsl: note: something taken from elsewhere (test)" in captured.err


def test_a_run_folder_is_a_timm_local_model(tiny_catalog, tmp_path, capsys):
    import safetensors
    import timm
    import torch
    from timm.data import resolve_data_config

    from fdsl.train.checkpoint import load_weights, read_meta
    from fdsl.train.model import create

    run = tmp_path / "pre"
    _pretrain(capsys, tiny_catalog, run, "--model", "vit-nano-p4", "--recipe", "vit-small", "--image-size", "32")
    model = timm.create_model(f"local-dir:{run}", pretrained=True).eval()
    meta = read_meta(run)
    ours = create(meta["model"], len(meta["classes"]), seed=0, **meta["model_kwargs"])
    ours.load_state_dict(load_weights(run))
    ours.eval()
    batch = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.equal(model(batch), ours(batch))  # the same weights, head included
    data = resolve_data_config(model=model)
    assert tuple(data["input_size"]) == (3, 32, 32) and tuple(data["mean"]) == tuple(meta["config"]["mean"])
    with safetensors.safe_open(str(run / "model.safetensors"), "pt") as weights:
        header = weights.metadata()
    assert header["recipe"] == "vit-small" and header["formula"] == "fractal" and header["fdsl_version"]
    assert header["classes"] == "3"


def test_a_catalog_of_another_family_is_refused_or_said(tmp_path, capsys):
    from helpers import make_catalog

    rcdb = tmp_path / "rcdb"
    code, err = run_cli(capsys, "search", "rcdb", "--categories", "2", "--out", str(rcdb), "--quiet")
    assert code == 0, err
    code, err = run_cli(capsys, "render", "fractal", "--params", str(rcdb), "--out", str(tmp_path / "x"), "--quiet")
    assert_one_line_error(code, err, "is a catalog of 'rcdb'", "not of 'fractal'")
    assert not (tmp_path / "x").exists()
    fractal = make_catalog(tmp_path / "fractal", seed=3, categories=2, points=20_000, size=128, fill_rate=0.15)
    code, err = run_cli(capsys, "render", "ofdb", "--params", str(fractal), "--out", str(tmp_path / "o"),
                        "--size", "32", "--points", "2000", "--quiet")
    assert code == 0, err
    assert "searched as" not in err  # OFDB renders FractalDB's catalogs as its own
    code, err = run_cli(capsys, "render", "onepfrac", "--params", str(fractal), "--out", str(tmp_path / "p"),
                        "--size", "32", "--points", "2000", "--quiet")
    assert code == 0, err
    assert "was searched as 'fractal'" in err and "read as 'onepfrac'" in err


def test_the_python_api_shows_its_names_and_loads_a_run(tiny_catalog, tmp_path, capsys):
    from pathlib import Path

    import torch

    import fdsl

    names = dir(fdsl)
    for name in ("search_catalog", "render_catalog", "FormulaDataset", "list_families", "load_model", "FdslError"):
        assert name in names and name in fdsl.__all__
    assert (Path(fdsl.__file__).parent / "py.typed").is_file()
    assert "fractal" in fdsl.list_families() and "perlin" in fdsl.list_families()
    out = fdsl.render_catalog(None, tiny_catalog, tmp_path / "images", size=32, points=2000, patches=1, flips=1,
                              weight_delta=0.4)
    assert out.images == 3 * 25  # the family read from the catalog's manifest: FractalDB, 25 weight rows
    run = tmp_path / "pre"
    _pretrain(capsys, tiny_catalog, run, "--model", "resnet10t", "--image-size", "32")
    model = fdsl.load_model(run).eval()
    assert model.pretrained_cfg["input_size"] == [3, 32, 32] or tuple(model.pretrained_cfg["input_size"]) == (3, 32, 32)
    assert model(torch.zeros(1, 3, 32, 32)).shape == (1, 3)
    try:
        fdsl.load_model(tmp_path / "nowhere")
    except fdsl.FdslError as exc:
        assert "not found" in str(exc)
    else:
        raise AssertionError("a missing run folder must be an FdslError")


def test_an_option_the_task_ignores_is_refused(tiny_catalog, tmp_path, capsys):
    base = ["pretrain", "--params", str(tiny_catalog), "--out", str(tmp_path / "r"), "--quiet"]
    for extra, needle in ((["--task", "segmentation", "--repeat", "3"], "--repeat is ignored by --task segmentation"),
                          (["--task", "segmentation", "--colourise"], "--colourise is ignored by --task segmentation"),
                          (["--decoder", "upernet"], "--decoder is ignored by --task classification"),
                          (["--objects", "2"], "--objects is ignored by --task classification")):
        code, err = run_cli(capsys, *base, *extra)
        assert_one_line_error(code, err, needle)
    code, err = run_cli(capsys, "pretrain", "--images", str(tmp_path), "--render", "size=64", "--out",
                        str(tmp_path / "r"), "--quiet")
    assert_one_line_error(code, err, "--render is ignored with --images")
    code, err = run_cli(capsys, "finetune", "--scratch", "--model", "resnet10t", "--data", "sklearn-digits",
                        "--num-classes", "5", "--out", str(tmp_path / "f"), "--quiet")
    assert_one_line_error(code, err, "--num-classes is for --task segmentation")
    assert not (tmp_path / "r").exists() and not (tmp_path / "f").exists()


def test_fdsl_recipes_prints_what_the_defaults_are(capsys):
    code, err = run_cli(capsys, "recipes", "vit-small", "--stage", "finetune", "--json")
    assert code == 0, err
    values = json.loads(run_cli.stdout)["vit-small"]["finetune"]
    assert values["opt"] == "adamw" and values["image_size"] == 32
    code, err = run_cli(capsys, "recipes")
    assert code == 0 and "resnet-sgd    pretrain  sgd lr 0.1" in run_cli.stdout


def _parsers():
    from helpers import cli_parsers

    for words, parser in cli_parsers():
        yield " ".join(("fdsl", *words)), parser


def test_every_option_of_every_verb_says_what_it_does():
    import argparse

    bare = []
    for name, parser in _parsers():
        for action in parser._actions:
            if isinstance(action, (argparse._HelpAction, argparse._VersionAction, argparse._SubParsersAction)):
                continue
            text = (action.help or "").strip()
            # "(default: X)" alone says what the value is, not what the option does.
            if not text or text.startswith("(default"):
                bare.append(f"{name} {'/'.join(action.option_strings) or action.dest}")
    assert not bare, f"{len(bare)} options without help text: {', '.join(bare[:15])}"


def test_json_results_for_scripts(tiny_catalog, tmp_path, capsys):
    code, err = run_cli(capsys, "search", "perlin", "--categories", "2", "--out", str(tmp_path / "c"), "--quiet",
                        "--json")
    assert code == 0, err
    found = json.loads(run_cli.stdout)
    assert found["categories"] == 2 and found["formula"] == "perlin"
    code, err = run_cli(capsys, "render", "perlin", "--params", str(tmp_path / "c"), "--out", str(tmp_path / "d"),
                        "--size", "16", "--instances", "3", "--quiet", "--json")
    assert code == 0, err
    assert json.loads(run_cli.stdout)["written"] == 6
    _pretrain(capsys, tiny_catalog, tmp_path / "pre", "--model", "resnet10t", "--image-size", "16", "--json")
    result = json.loads(run_cli.stdout)  # the JSON alone on stdout: the epoch lines went to stderr
    assert result["stage"] == "pretrain" and result["epoch"] == 1 and "heldout_top1" in result["metrics"]


def test_cifar10_without_the_shared_folder_comes_from_torchvision(tmp_path, monkeypatch, capsys):
    import numpy as np
    import pytest
    import torchvision

    from fdsl.core.errors import FdslError
    from fdsl.data.real import open_images
    from fdsl.experiments.reproduce import data_spec

    class Offline:
        def __init__(self, *args, **kwargs):
            raise OSError("<urlopen error [Errno -3] Temporary failure in name resolution>")

    monkeypatch.setenv("FDSL_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(torchvision.datasets, "CIFAR10", Offline)
    with pytest.raises(FdslError, match="torchvision could not download it .*name resolution"):
        data_spec("cifar10", tmp_path / "no-shared")

    class Downloaded:  # what torchvision's CIFAR10 gives: .data (N, 32, 32, 3) uint8 and .targets
        def __init__(self, root, train, download):
            assert train and download
            self.data = np.full((20, 32, 32, 3), 7, dtype=np.uint8)
            self.targets = [i % 10 for i in range(20)]

    monkeypatch.setattr(torchvision.datasets, "CIFAR10", Downloaded)
    spec = data_spec("cifar10", tmp_path / "no-shared")
    assert "torchvision's download" in capsys.readouterr().err
    images = open_images(spec)
    assert len(images) == 20 and len(images.classes) == 10 and images[3][0].size == (32, 32)
    monkeypatch.setattr(torchvision.datasets, "CIFAR10", Offline)
    assert data_spec("cifar10", tmp_path / "no-shared") == spec  # cached: no second download


def test_a_config_file_sets_options_and_the_command_line_wins(tiny_catalog, tmp_path, capsys):
    config = tmp_path / "pre.yaml"
    config.write_text("model: resnet10t\nimage_size: 16\nepochs: 1\nbatch_size: 8\ninstances: 6\n"
                      "heldout_per_category: 2\nrender: [size=64, points=5000]\nlearnability_check: true\n"
                      "quiet: true\n")
    out = tmp_path / "run"
    code, err = run_cli(capsys, "pretrain", "--params", str(tiny_catalog), "--config", str(config),
                        "--image-size", "24", "--no-learnability-check", "--out", str(out))
    assert code == 0, err
    saved = json.loads((out / "model.json").read_text())["config"]
    assert saved["image_size"] == 24 and saved["batch_size"] == 8 and saved["epochs"] == 1
    config.write_text("epochs: 1\nno_such_option: 3\n")
    code, err = run_cli(capsys, "pretrain", "--params", str(tiny_catalog), "--config", str(config),
                        "--out", str(tmp_path / "r2"))
    assert_one_line_error(code, err, "unrecognized arguments: --no-such-option 3")
    config.write_text("- a list\n")
    code, err = run_cli(capsys, "pretrain", "--params", str(tiny_catalog), "--config", str(config),
                        "--out", str(tmp_path / "r3"))
    assert_one_line_error(code, err, "must map option names to values")
    code, err = run_cli(capsys, "pretrain", "--config", str(tmp_path / "missing.yaml"), "--out", str(tmp_path / "r"))
    assert_one_line_error(code, err, "cannot read --config")


def test_a_rendered_dataset_exports_to_hugging_face_datasets(tmp_path, capsys):
    import pytest

    datasets = pytest.importorskip("datasets", reason="the hf extra (pip install 'fdsl[hf]') is not installed")
    code, err = run_cli(capsys, "search", "perlin", "--categories", "2", "--out", str(tmp_path / "c"), "--quiet")
    assert code == 0, err
    code, err = run_cli(capsys, "render", "perlin", "--params", str(tmp_path / "c"), "--out", str(tmp_path / "d"),
                        "--size", "16", "--instances", "3", "--quiet")
    assert code == 0, err
    code, err = run_cli(capsys, "export", str(tmp_path / "d"), "--out", str(tmp_path / "hf"), "--shard-size", "4",
                        "--quiet")
    assert code == 0, err
    datasets.disable_progress_bars()
    loaded = datasets.load_dataset("parquet", data_dir=str(tmp_path / "hf"), cache_dir=str(tmp_path / "cache"))
    capsys.readouterr()
    train = loaded["train"]
    assert len(train) == 6 and train.features["label"].names == ["00000", "00001"]
    assert sorted(train["label"]) == [0, 0, 0, 1, 1, 1] and train[0]["image"].size == (16, 16)
    code, err = run_cli(capsys, "export", str(tmp_path / "d"), "--out", str(tmp_path / "hf"), "--quiet")
    assert_one_line_error(code, err, "already exists and is not empty")


def test_pretrain_and_finetune_from_python_as_the_commands_do(tiny_catalog, tmp_path, capsys):
    import pytest

    import fdsl

    assert {"pretrain", "finetune"} <= set(fdsl.__all__) & set(dir(fdsl))
    pre = fdsl.pretrain(tmp_path / "pre", params=tiny_catalog, render=["size=64", "points=5000"], instances=6,
                        heldout_per_category=2, epochs=1, batch_size=8, model="resnet10t", image_size=32,
                        no_learnability_check=True)
    assert pre["model"] == "resnet10t" and pre["complete"] and pre["config"]["image_size"] == 32
    tuned = fdsl.finetune(tmp_path / "tuned", checkpoint=tmp_path / "pre", data="sklearn-digits", train_images=40,
                          epochs=1, batch_size=8)
    assert tuned["config"]["image_size"] == 32  # inherited from the checkpoint, as on the command line
    assert fdsl.load_model(tmp_path / "tuned").eval()(__import__("torch").zeros(1, 3, 32, 32)).shape == (1, 10)
    with pytest.raises(fdsl.FdslError, match="unrecognized arguments: --epoch-count"):
        fdsl.finetune(tmp_path / "bad", scratch=True, data="sklearn-digits", epoch_count=3)
    with pytest.raises(fdsl.FdslError, match="--epochs must be at least 1"):
        fdsl.finetune(tmp_path / "bad", scratch=True, model="resnet10t", data="sklearn-digits", epochs=0)
    assert not (tmp_path / "bad").exists()
