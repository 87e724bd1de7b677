"""kill -9 of the writers not covered elsewhere (a search; a fine-tuning run), then the same command again: the
result is byte for byte an uninterrupted run's.  Renders, pairs, scenes, 3D views, WebDataset and pre-training
are killed in test_write_kinds, test_webdataset, test_3d_render and test_train_kill."""

import hashlib
import subprocess
import sys



def _tree(folder):
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _fdsl(*argv):
    return [sys.executable, "-m", "fdsl", *map(str, argv)]


def _kill_after(command, seconds):
    import os
    import signal
    import time

    process = subprocess.Popen(command, stderr=subprocess.PIPE, start_new_session=True)
    time.sleep(seconds)
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=60)
    return process.returncode


def test_a_killed_search_run_again_gives_the_same_catalog(tmp_path):
    # A slow search (a high filling rate rejects most candidates), killed at several moments: before, during
    # and after its categories are written (it writes into a hidden staging folder renamed at the end).
    argv = ("search", "fractal", "--categories", "6", "--seed", "5", "--points", "20000", "--size", "128",
            "--fill-rate", "0.2", "--quiet")
    reference = tmp_path / "reference"
    subprocess.run(_fdsl(*argv, "--out", reference), check=True, capture_output=True)
    for moment in (1.0, 2.5, 4.0):
        killed = tmp_path / f"killed-{moment}"
        killed_early = _kill_after(_fdsl(*argv, "--out", killed), moment) != 0
        # Under the name there is nothing or the whole catalog (the kill may land after the final rename,
        # while the process exits): never a part of it.
        if killed_early and not (killed.exists() and any(killed.iterdir())):
            subprocess.run(_fdsl(*argv, "--out", killed), check=True, capture_output=True)
        assert _tree(killed) == _tree(reference)
