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
    if "--config" not in argv and not any(word.startswith("--config=") for word in argv):
        return argv
    rest, path = [], None
    words = iter(argv)
    for word in words:
        if word == "--config":
            path = next(words, None)
            if path is None:
                raise FdslError("--config takes a YAML file (e.g. --config pretrain.yaml)")
        elif word.startswith("--config="):
            path = word.split("=", 1)[1]
        else:
            rest.append(word)
    verbs = 0
    while verbs < len(rest) and not rest[verbs].startswith("-"):
        verbs += 1
    return rest[:verbs] + config_words(Path(path)) + rest[verbs:]


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
