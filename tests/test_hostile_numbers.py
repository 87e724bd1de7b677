"""Every numeric option of every verb goes through the one checker (fdsl.core.numbers.Number), and refuses
NaN, infinities, overflow, words, fractions of a count and values out of its declared range: exit 2, one line,
no traceback, nothing written.  The cases are generated from the parsers, so a new option is covered (or, with
a bare int/float type, refused by the first test) without anyone writing its case."""

from __future__ import annotations

import argparse
import math

import pytest

from fdsl.cli import main
from fdsl.core.errors import FdslError
from fdsl.core.numbers import Number
from helpers import cli_parsers


def _options():
    for words, parser in cli_parsers():
        for action in parser._actions:
            if action.option_strings and not isinstance(action, (argparse._HelpAction, argparse._VersionAction)):
                yield words, action


def test_no_numeric_option_escapes_the_shared_checker():
    bare = [f"fdsl {' '.join(words)} {action.option_strings[0]}" for words, action in _options()
            if action.type in (int, float)
            or (action.type is None and action.nargs is None and isinstance(action, argparse._StoreAction)
                and isinstance(action.default, (int, float)) and not isinstance(action.default, bool))]
    assert not bare, f"numeric options not parsed by fdsl.core.numbers.Number: {', '.join(bare)}"


def _hostile_values(number: Number) -> list[str]:
    values = ["nan", "inf", "-inf", "1e999", "twelve", ""]
    if number.kind is int:
        values.append("2.5")
    span = number.within
    if span is not None:
        if math.isfinite(span.low):
            values.append(repr(span.low - 1) if number.kind is int or not span.open_low else repr(span.low))
        if math.isfinite(span.high):
            values.append(repr(span.high + 1) if number.kind is int or not span.open_high else repr(span.high))
    return values


CASES = [pytest.param(words, action.option_strings[0], value,
                      id=f"{'-'.join(words)}{action.option_strings[0]}={value or 'empty'}")
         for words, action in _options() if isinstance(action.type, Number)
         for value in _hostile_values(action.type)]


def test_there_are_hundreds_of_generated_cases():
    assert len(CASES) > 400, len(CASES)


@pytest.fixture(scope="module")
def parser():
    from fdsl.cli import build_parser

    return build_parser()  # one parser for the ~1,800 cases (building it imports every verb)


@pytest.mark.parametrize("words,flag,value", CASES)
def test_hostile_number_is_refused_in_one_line(words, flag, value, parser):
    # The parser raises FdslError, which main() prints as one line with exit code 2 (checked below on a sample).
    with pytest.raises(FdslError) as refused:
        parser.parse_args([*words, f"{flag}={value}"])
    message = str(refused.value)
    assert "\n" not in message and flag in message and "Traceback" not in message, message


@pytest.mark.parametrize("words,flag,value", CASES[::97])
def test_hostile_number_through_main_is_exit_2_and_writes_nothing(words, flag, value, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    try:
        code = main([*words, f"{flag}={value}"])
    except SystemExit as stop:
        code = stop.code
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and flag in err[0] and "Traceback" not in err[0], err
    assert not any(tmp_path.iterdir())  # nothing written


def test_a_number_in_range_is_taken_as_written():
    assert Number(int)("3e2") == 300 and Number(float)("0.25") == 0.25
    assert Number(int)("9223372036854775807") == 2**63 - 1  # exact past 2**53


def test_the_python_api_holds_the_same_ranges():
    """The ranges are the dataclasses' own, so a value that never met the parser (the Python API, a --config
    file) is refused the same way; an infinity is refused even by an open-ended range."""
    from fdsl.train.recipes import recipe_config

    for values, message in ((dict(lr=float("inf")), "--lr must be above 0, got inf"),
                            (dict(epochs=0), "--epochs must be at least 1, got 0"),
                            (dict(warmup_epochs=float("nan")), "--warmup-epochs must be at least 0, got nan"),
                            (dict(seed=2**64), "--seed must be between 0 and 2**63 - 1")):
        with pytest.raises(FdslError, match=message.replace("*", r"\*")):
            recipe_config("resnet-sgd", "pretrain", values)
