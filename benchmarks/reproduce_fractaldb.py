"""FractalDB pre-training vs training from scratch, same model and fine-tuning budget (about 30 min on 2 cores).

    .venv/bin/python benchmarks/reproduce_fractaldb.py --out /tmp/reproduce [--data cifar10 --data omniglot]

The same as ``fdsl experiment reproduce``; prints our figure (FractalDB pre-trained), the
baseline measured in the same run (the same model from scratch) and their ratio.
Needs ../shared/data (CIFAR-10 zip, Omniglot npz) or --shared DIR.
"""

from __future__ import annotations

import subprocess
import sys

if __name__ == "__main__":
    args = sys.argv[1:]
    if not any(a.startswith("--data") for a in args):
        args += ["--data", "cifar10", "--data", "omniglot"]
    print("load average at start:", open("/proc/loadavg").read().split()[:3] if sys.platform == "linux" else "n/a")
    raise SystemExit(subprocess.call([sys.executable, "-m", "fdsl", "experiment", "reproduce", *args]))
