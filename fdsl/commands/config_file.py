"""``--config FILE.yaml`` on any verb (timm train.py's ``-c``): the file's keys are that verb's options, and an
option also typed on the command line wins over the file.

The file is turned into option words placed before the typed ones (argparse keeps the last value), so a key is
checked exactly like the option: an unknown key, a bad value or a wrong type is one line and exit 2.  The run
folder keeps the resolved values (``model.json`` "config"), not the file.
"""

from __future__ import annotations

from pathlib import Path

from fdsl.core.errors import FdslError


def expand_config(argv: list[str]) -> list[str]:
    """``argv`` with ``--config FILE`` replaced by the file's options, inserted after the verb words."""
    return split_config(argv)[0]


def split_config(argv: list[str]) -> tuple[list[str], str | None, list[str], list[str]]:
    """(the expanded argv, the --config path or None, the file's option words, the typed words)."""
    if "--config" not in argv and not any(word.startswith("--config=") for word in argv):
        return argv, None, [], argv
    rest, path = [], None
    words = iter(argv)
    for word in words:
        if word == "--config" or word.startswith("--config="):
            if path is not None:  # the file read would be one of them, the other dropped
                raise FdslError("--config given twice; merge the files into one")
            path = next(words, None) if word == "--config" else word.split("=", 1)[1]
            if path is None:
                raise FdslError("--config takes a YAML file (e.g. --config pretrain.yaml)")
        else:
            rest.append(word)
    verbs = 0
    while verbs < len(rest) and not rest[verbs].startswith("-"):
        verbs += 1
    words = config_words(Path(path))
    return rest[:verbs] + words + rest[verbs:], path, words, rest


def config_words(path: Path) -> list[str]:
    import yaml

    try:
        values = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise FdslError(f"cannot read --config {path} ({exc.strerror or exc})") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise FdslError(f"--config {path} is not YAML ({str(exc).splitlines()[0]})") from None
    if values is None:
        return []
    if not isinstance(values, dict):
        raise FdslError(f"--config {path} must map option names to values (e.g. 'epochs: 10'), got a "
                        f"{type(values).__name__}")
    words = []
    for key, value in values.items():
        flag = "--" + str(key).replace("_", "-")
        if isinstance(value, bool):
            if value:
                words.append(flag)
            continue  # false: the option's default (a flag that is off)
        if isinstance(value, dict) or value is None:
            raise FdslError(f"--config {path}: '{key}' must be a value or a list of values")
        for item in value if isinstance(value, list) else [value]:
            words += [flag, str(item)]
    return words


def _verb_actions(parser, typed: list[str]) -> list:
    """The argparse actions of the verb typed (and of the parsers above it)."""
    import argparse

    actions = []
    current, verb_words = parser, iter(word for word in typed if not word.startswith("-"))
    while current is not None:
        actions += current._actions
        verbs = next((a for a in current._actions if isinstance(a, argparse._SubParsersAction)), None)
        current = verbs.choices.get(next(verb_words, None)) if verbs is not None else None
    return actions


def check_switches(parser, typed: list[str], path: str | None, from_file: list[str]) -> None:
    """A switch (an option that takes no value, e.g. --quiet) given a value in the file: say so naming the file,
    not argparse's 'unrecognized arguments: no' about a word the user never typed."""
    switches = {option for action in _verb_actions(parser, typed) if action.option_strings and action.nargs == 0
                for option in action.option_strings}
    for position, word in enumerate(from_file):
        value = from_file[position + 1] if position + 1 < len(from_file) else None
        if word in switches and value is not None and not value.startswith("--"):
            raise FdslError(f"--config {path}: '{word[2:]}' is a switch; give it true or false, got '{value}'")


def check_repeated(parser, typed: list[str], path: str | None, from_file: list[str]) -> None:
    """An option that takes one value keeps the last of its values in argparse, in silence: say it when the command
    line overrides the file, and refuse a list of values for it in the file."""
    import argparse

    flags = {}  # option string -> the option's name, for the one-value options of the verb typed
    for action in _verb_actions(parser, typed):
        if type(action) is argparse._StoreAction and action.option_strings:
            flags.update({option: action.option_strings[-1] for option in action.option_strings})

    def given(words):
        found: dict[str, list[str]] = {}
        for position, word in enumerate(words):
            name, equals, value = word.partition("=")
            if name in flags:
                found.setdefault(flags[name], []).append(value if equals else " ".join(words[position + 1:position + 2]))
        return found

    from fdsl.core.notes import note

    # Typed twice, the last wins as in every argparse tool, and the user sees both on their own command line (the
    # usual way to re-run a command with one setting changed); the file's values are out of sight.
    typed_values, file_values = given(typed), given(from_file)
    for flag, values in file_values.items():
        if len(values) > 1:
            raise FdslError(f"--config {path}: {flag} takes one value, got a list ({', '.join(values)})")
        if flag in typed_values:
            note(f"{flag} {typed_values[flag][-1]} on the command line overrides {values[0]} from --config {path}")
