"""A whole command in a fresh interpreter ends cleanly: nothing but its own output on stderr at exit."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow


def test_an_experiment_with_two_jobs_leaves_no_leaked_semaphore(tmp_path):
    # Terminated pool workers left tqdm's lock to the resource tracker, which warned "leaked semaphore objects"
    # after every --jobs 2 experiment; workers that exit by themselves release it.
    argv = ["experiment", "reproduce", "--data", "sklearn-digits", "--formula", "fractal", "--categories", "4",
            "--search-options", "points=2000,size=64,fill_rate=0.1", "--render-size", "16", "--view-size", "0",
            "--render-options", "points=500,patches=1", "--instances", "4", "--image-size", "16",
            "--pretrain-epochs", "1", "--finetune-epochs", "1", "--batch-size", "16", "--train-images", "30",
            "--seeds", "0", "--threads", "1", "--quiet", "--jobs", "2", "--out", str(tmp_path / "run")]
    done = subprocess.run([sys.executable, "-m", "fdsl", *argv], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "leaked" not in done.stderr and "resource_tracker" not in done.stderr, done.stderr
    assert (tmp_path / "run" / "results.json").is_file()
