"""Where real data lives on this machine: one setting for tests, benchmarks and experiments.

``FDSL_SHARED_DATA`` names the folder (CIFAR-10 zip, Omniglot npz, the published
FractalDB categories...).  Unset, it is ``../shared/data`` beside the repository
root (the project machines' layout), whatever the working directory.
"""

from __future__ import annotations

import os
from pathlib import Path

ENVIRONMENT_VARIABLE = "FDSL_SHARED_DATA"


def shared_data_dir() -> Path:
    value = os.environ.get(ENVIRONMENT_VARIABLE)
    if value:
        return Path(value).expanduser()
    return Path(__file__).resolve().parents[3] / "shared" / "data"  # fdsl/core/ -> repository root -> ../shared/data
