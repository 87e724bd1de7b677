"""One meaning per option name across verbs: a user who learned --seed or --device in one verb is not surprised
in another."""

from __future__ import annotations

from helpers import cli_parsers


def _options(name):
    for words, parser in cli_parsers():
        for action in parser._actions:
            if name in action.option_strings:
                yield " ".join(words), action


def test_every_seed_defaults_to_zero():
    seeds = dict(_options("--seed"))
    assert {"search fractal", "render fractal", "pretrain", "finetune", "scenes"} <= set(seeds)
    assert {verb: action.default for verb, action in seeds.items() if action.default not in (0, None)} == {}


def test_every_device_accepts_auto():
    from fdsl.catalog.specs import Device

    devices = dict(_options("--device"))
    assert {"render fractal", "pretrain", "finetune", "evaluate"} <= set(devices)
    assert all("auto" in action.help for action in devices.values())
    assert Device.parse("auto") in (Device(), Device("torch", "cuda"))


def test_workers_zero_means_this_process_alone_in_every_verb():
    workers = dict(_options("--workers"))
    assert {"search fractal", "render fractal", "scenes", "pretrain", "finetune", "evaluate",
            "experiment reproduce"} <= set(workers)
    for verb, action in workers.items():
        assert "0" in action.help and "this process" in action.help or "training process" in action.help, verb
        if action.type is not None and verb.split()[0] in ("search", "render", "scenes"):
            assert action.type("0") == action.type("1") == 1  # no process beside this one
            assert action.type("2") == 2


def test_true_false_settings_are_also_bare_flags():
    from fdsl.cli import build_parser

    parse = build_parser().parse_args
    base = ["experiment", "reproduce", "--out", "x"]
    assert parse([*base, "--colourise"]).colourise is True  # as 'fdsl pretrain --colourise'
    assert parse([*base, "--colourise", "false"]).colourise is False
    assert parse(base).colourise is None  # not given: the plan's default


def test_a_dataset_smaller_than_the_batch_trains_in_whole_batches_and_says_so(tmp_path, capsys):
    import json

    from helpers import run_cli

    out = tmp_path / "run"
    code, err = run_cli(capsys, "finetune", "--scratch", "--model", "resnet10t", "--data", "sklearn-digits",
                        "--train-images", "20", "--image-size", "16", "--epochs", "1", "--out", str(out), "--quiet")
    assert code == 0, err
    assert "--batch-size 256 is larger than the 20 training images" in err and "batches of 20" in err
    assert json.loads((out / "model.json").read_text())["config"]["batch_size"] == 20
    assert "for 1 epoch:" in run_cli.stdout  # not "1 epochs"


def test_a_finished_stage_from_before_a_new_setting_is_still_that_stage(tmp_path):
    """An experiment folder trained before a setting existed (here: --tensorboard) is resumed, not refused as
    "trained with other settings"; a setting that really changed is still refused."""
    import dataclasses
    import json

    import pytest

    from fdsl.core.errors import FdslError
    from fdsl.experiments.plan import run_stage
    from fdsl.train import checkpoint
    from fdsl.train.recipes import TrainConfig

    config = TrainConfig()
    old = config.to_dict()
    del old["tensorboard"]
    folder = tmp_path / "stage"
    folder.mkdir()
    (folder / checkpoint.SIDECAR).write_text(json.dumps({"format": checkpoint.FORMAT, "complete": True, "model": "m",
                                                         "classes": ["a"], "model_kwargs": {}, "config": old}))
    never = lambda resume: pytest.fail("a finished stage was trained again")  # noqa: E731
    assert run_stage(folder, config, never)["complete"]
    with pytest.raises(FdslError, match=r"trained with other settings \(lr\)"):
        run_stage(folder, dataclasses.replace(config, lr=0.5), never)
