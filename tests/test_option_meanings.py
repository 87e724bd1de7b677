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


def test_true_false_settings_are_also_bare_flags():
    from fdsl.cli import build_parser

    parse = build_parser().parse_args
    base = ["experiment", "reproduce", "--out", "x"]
    assert parse([*base, "--colourise"]).colourise is True  # as 'fdsl pretrain --colourise'
    assert parse([*base, "--colourise", "false"]).colourise is False
    assert parse(base).colourise is None  # not given: the plan's default
