"""What a render survives: a second writer, foreign files, an impossible search size, no numba cache, Ctrl-C."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fdsl.core.files import folder_lock
from helpers import assert_one_line_error, run_cli

SMALL = ["--size", "32", "--points", "500", "--patches", "1", "--flips", "2", "--quiet"]
REPO = Path(__file__).resolve().parents[1]


def test_a_second_writer_is_refused_with_one_line(tiny_catalog, tmp_path, capsys):
    out = tmp_path / "ds"
    out.mkdir()
    with folder_lock(out, "render"):  # a render in progress
        code, err = run_cli(capsys, "render", "fractal", "--params", tiny_catalog, "--out", out, *SMALL)
        assert_one_line_error(code, err, "another 'fdsl render' is writing to", "choose another --out")
        assert not list(out.rglob("*.png"))
    code, _ = run_cli(capsys, "render", "fractal", "--params", tiny_catalog, "--out", out, *SMALL)
    assert code == 0 and len(list(out.rglob("*.png"))) == 3 * 25 * 2  # the lock is released with the first


def test_a_foreign_file_under_an_image_name_is_rendered_over(tiny_catalog, tmp_path, capsys):
    out = tmp_path / "ds"
    assert run_cli(capsys, "render", "fractal", "--params", tiny_catalog, "--out", out, *SMALL)[0] == 0
    image = out / "00001" / "00001_07_count_0_flip1.png"
    good = image.read_bytes()
    image.write_text("not a png, same name")
    code, _ = run_cli(capsys, "render", "fractal", "--params", tiny_catalog, "--out", out, *SMALL)
    assert code == 0 and "wrote 1 images (149 already there)" in run_cli.stdout
    assert image.read_bytes() == good


def test_an_impossible_number_of_categories_is_refused(tmp_path, capsys):
    code, err = run_cli(capsys, "search", "fractal", "--categories", "1000000000000", "--out", tmp_path / "c")
    assert_one_line_error(code, err, "--categories must be between 1 and 10000000, got 1000000000000")
    assert not (tmp_path / "c").exists()


def test_no_writable_numba_cache_falls_back_with_one_line(tmp_path):
    """Installed read-only (a file where numba's in-tree __pycache__ would go) with an unwritable home."""
    copy = tmp_path / "site"
    shutil.copytree(REPO / "fdsl", copy / "fdsl", ignore=shutil.ignore_patterns("__pycache__"))
    (copy / "fdsl" / "kernels" / "numba" / "__pycache__").write_text("blocks the cache folder")
    blocker = tmp_path / "home-is-a-file"
    blocker.write_text("")
    env = {k: v for k, v in os.environ.items() if k not in ("NUMBA_CACHE_DIR", "XDG_CACHE_HOME")}
    env.update(HOME=str(blocker / "home"), PYTHONPATH=str(copy), PYTHONDONTWRITEBYTECODE="1",
               TMPDIR=str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    code = ("from fdsl.formulas import create_formula\n"
            "f = create_formula('bezier')\n"
            "import numpy as np\n"
            "print(f.render_draw(np.array([[.1, .1, .5, .9, .9, .1, .9, .9, 200.]]), 0, None, f.RenderSettings(size=32), None)[0].max())")
    # cwd: not the checkout, whose fdsl would shadow the copy ("-c" puts the working directory first).
    result = subprocess.run([sys.executable, "-c", code], env=env, cwd=tmp_path, capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "200"
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot write numba's kernel cache" in lines[0], result.stderr
    assert any((tmp_path / "tmp").glob("fdsl-numba-cache-*/*"))


def default_ctrl_c() -> None:
    """In the child: Ctrl-C does what it does at a terminal, even when these tests run as a background job
    (a non-interactive shell starts background commands with SIGINT ignored, and that is inherited)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.parametrize("moment", ["workers-starting", "rendering"])
def test_ctrl_c_during_a_multi_worker_render_prints_one_line_and_exits_130(moment, tiny_catalog, tmp_path):
    out = tmp_path / "ds"
    command = [sys.executable, "-m", "fdsl", "render", "fractal", "--params", str(tiny_catalog), "--out", str(out),
               "--size", "256", "--points", "200000", "--patches", "10", "--workers", "2", "--quiet"]
    # A terminal's Ctrl-C goes to the whole foreground process group: the command and its workers.
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True, preexec_fn=default_ctrl_c)
    try:
        deadline = time.monotonic() + 300
        # The manifest is written just before the pool starts; the workers then spend a second or two importing.
        ready = ((lambda: (out / "manifest.json").exists()) if moment == "workers-starting"
                 else (lambda: len(list(out.rglob("*.png"))) >= 10))
        while not ready():
            assert process.poll() is None and time.monotonic() < deadline, process.communicate()
            time.sleep(0.05)
        time.sleep(0.3 if moment == "workers-starting" else 0.0)
        os.killpg(process.pid, signal.SIGINT)
        _, err = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 130
    assert err.strip() == "fdsl: interrupted; run the same command again to resume", err
    assert len(list(out.rglob("*.png"))) < 3 * 25 * 10 * 4  # interrupted, not finished


def test_the_lock_file_is_not_data(tiny_catalog, tmp_path, capsys):
    from torchvision.datasets import ImageFolder

    out = tmp_path / "ds"
    assert run_cli(capsys, "render", "fractal", "--params", tiny_catalog, "--out", out, *SMALL)[0] == 0
    assert len(ImageFolder(str(out))) == 3 * 25 * 2


CTRL_C_WHILE_THE_POOL_STARTS = """
import os, signal, sys, time
import fdsl.core.workers as workers

real = workers.multiprocessing.get_context


class StartingPool:  # the Ctrl-C lands while the worker processes are being started
    def __init__(self, context):
        self.context = context

    def Pool(self, *args, **kwargs):
        os.kill(os.getpid(), signal.SIGINT)
        return self.context.Pool(*args, **kwargs)


workers.multiprocessing.get_context = lambda kind: StartingPool(real(kind))
if __name__ == "__main__":
    try:
        workers.worker_pool(2, print, ("started",))
        time.sleep(1)
        print("lost")
    except KeyboardInterrupt:
        print("interrupted")
"""


def test_a_ctrl_c_while_the_workers_start_is_not_lost(tmp_path):
    script = tmp_path / "start.py"
    script.write_text(CTRL_C_WHILE_THE_POOL_STARTS)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120, env=env,
                          preexec_fn=default_ctrl_c)
    assert done.stdout.strip() == "interrupted", (done.stdout, done.stderr[-1000:])
