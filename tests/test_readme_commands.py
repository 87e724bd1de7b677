"""Every `fdsl ...` command in the README's shell blocks is a valid command line of today's CLI (parsed, not run:
the README's commands are the published sizes), so a renamed option cannot leave the README behind."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from fdsl.cli import build_parser

README = Path(__file__).resolve().parents[1] / "README.md"


def _commands() -> list[str]:
    blocks = re.findall(r"```bash\n(.*?)```", README.read_text(), flags=re.S)
    lines = [line.split("  #")[0].strip() for block in blocks for line in block.splitlines()]
    return [line for line in lines if line.startswith("fdsl ")]


def test_the_readme_shows_commands():
    assert len(_commands()) >= 5


@pytest.mark.parametrize("command", _commands())
def test_readme_command_parses(command, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # output paths are checked for writability relative to here
    argv = shlex.split(command)[1:]
    args = build_parser().parse_args(argv)
    assert callable(args.run)
