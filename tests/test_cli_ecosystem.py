"""What a new user meets first: the version, help that ends with examples, a missing extra, logs, the wheel."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from fdsl import __version__
from fdsl.cli import VERBS, main
from fdsl.core.progress import PlainProgress, bar

ROOT = Path(__file__).resolve().parents[1]

# Runs `fdsl ARGV` as if torch, torchvision and timm were not installed.
WITHOUT_TRAINING_EXTRAS = """
import sys
class NotInstalled:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("torch", "torchvision", "timm"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, NotInstalled())
from fdsl.cli import main
raise SystemExit(main(sys.argv[1:]))
"""


def _without_extras(*argv, cwd):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-c", WITHOUT_TRAINING_EXTRAS, *map(str, argv)], capture_output=True,
                          text=True, cwd=cwd, env=env, timeout=300)


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0 and capsys.readouterr().out.strip() == f"fdsl {__version__}"


@pytest.mark.parametrize("verb", VERBS)
def test_every_verb_help_ends_with_examples(verb, capsys):
    with pytest.raises(SystemExit):
        main([verb, "--help"])
    lines = capsys.readouterr().out.rstrip().splitlines()
    examples = lines[lines.index("examples:") + 1:]
    assert examples and all(line.startswith(f"  fdsl {verb} ") for line in examples), lines[-4:]
    assert all(len(line) > 12 for line in examples)


def test_training_verbs_without_the_extras_say_which_to_install(tmp_path):
    digits = ["--data", "sklearn-digits", "--out", tmp_path / "run"]
    for argv in (["finetune", "--scratch", "--model", "resnet18", *digits],
                 ["pretrain", "--params", tmp_path, "--out", tmp_path / "run"],
                 ["experiment", "digits-demo", "--out", tmp_path / "run"],
                 ["viz", "curves", tmp_path, "--out", tmp_path / "c.png"]):
        result = _without_extras(*argv, cwd=tmp_path)
        assert result.returncode == 2, result.stderr
        assert result.stderr.strip().splitlines() == [
            "fdsl: error: this command needs the training extras (torch is not installed): pip install 'fdsl[train]'"]
        assert not (tmp_path / "run").exists()


def test_generation_needs_no_training_extras(tiny_catalog, tmp_path):
    out = tmp_path / "shards"
    result = _without_extras("render", "fractal", "--params", tiny_catalog, "--out", out, "--size", "24",
                             "--points", "300", "--patches", "1", "--quiet", "--format", "webdataset", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert _without_extras("status", out, cwd=tmp_path).returncode == 0


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_is_live_on_a_terminal_and_plain_occasional_lines_in_a_log():
    from tqdm import tqdm

    assert isinstance(bar(10, "x", stream=_Terminal()), tqdm)
    log = io.StringIO()
    progress = bar(100_000, "render fractal", stream=log)
    assert isinstance(progress, PlainProgress)
    for _ in range(100_000):
        progress.update()
    progress.close()
    assert log.getvalue() == ""  # a fast job prints nothing between two of its interval's lines
    progress = PlainProgress(3, "epoch", stream=log, interval=0)
    progress.set_postfix(loss="0.5")
    progress.update()
    assert re.fullmatch(r"epoch: 1/3 \(\d+\.\d/s\), loss 0\.5\n", log.getvalue()), log.getvalue()
    silent = io.StringIO()
    quiet = bar(10, "x", enabled=False, stream=silent)
    quiet.update(10)
    quiet.close()
    assert silent.getvalue() == ""


def test_the_wheel_holds_what_the_cli_needs(tmp_path):
    import shutil

    # Built from a copy of the tracked sources, so that the checkout gets no build/ or egg-info folders.
    source = tmp_path / "source"
    shutil.copytree(ROOT / "fdsl", source / "fdsl", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, source / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", ".", "--no-deps", "--no-build-isolation", "--quiet",
                    "--wheel-dir", str(tmp_path)], cwd=source, check=True, capture_output=True, timeout=300)
    wheel, = tmp_path.glob("fdsl-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        entry_points = next(archive.read(n).decode() for n in names if n.endswith("entry_points.txt"))
        metadata = next(archive.read(n).decode() for n in names if n.endswith("METADATA"))
    package = {p.relative_to(ROOT).as_posix() for p in (ROOT / "fdsl").rglob("*.py")}
    assert package <= names  # every module, sub-packages included
    assert "fdsl = fdsl.cli:main" in entry_points
    assert f"Version: {__version__}" in metadata and "Requires-Dist: isal==1.9.1" in metadata
    assert not any(n.startswith(("tests/", "benchmarks/")) for n in names)
