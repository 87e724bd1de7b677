"""A machine without ../shared/data gets CIFAR-10 through torchvision's download (faked here: no network)."""

from __future__ import annotations

import numpy as np
import pytest
import torchvision

from fdsl.core.errors import FdslError
from fdsl.experiments.reproduce import data_spec


class FakeCIFAR10:
    """torchvision.datasets.CIFAR10's surface that fdsl reads: ``data`` (N, 32, 32, 3) uint8 and ``targets``."""

    calls: list = []

    def __init__(self, root, train, download):
        FakeCIFAR10.calls.append((root, train, download))
        rng = np.random.default_rng(0)
        self.data = rng.integers(0, 256, (30, 32, 32, 3), dtype=np.uint8)
        self.targets = [k % 10 for k in range(30)]


class Offline:
    def __init__(self, root, train, download):
        raise RuntimeError("<urlopen error [Errno -3] Temporary failure in name resolution>")


@pytest.fixture
def no_shared_data(tmp_path, monkeypatch):
    monkeypatch.setenv("FDSL_CACHE", str(tmp_path / "cache"))
    FakeCIFAR10.calls = []
    return tmp_path / "empty-shared"


def test_cifar10_comes_from_torchvision_once_then_from_the_cache(no_shared_data, monkeypatch, capsys):
    from fdsl.data.real import open_images

    monkeypatch.setattr(torchvision.datasets, "CIFAR10", FakeCIFAR10)
    path = data_spec("cifar10", no_shared_data)
    assert FakeCIFAR10.calls and FakeCIFAR10.calls[0][1:] == (True, True)  # the training split, downloaded
    err = capsys.readouterr().err
    assert "not found: CIFAR-10 from torchvision's download" in err and err.count("\n") == 1
    assert data_spec("cifar10", no_shared_data) == path and len(FakeCIFAR10.calls) == 1  # cached, not again

    saved = np.load(path)
    assert saved["images"].shape == (30, 32, 32, 3) and saved["labels"].tolist() == [k % 10 for k in range(30)]
    dataset = open_images(path)
    assert len(dataset) == 30 and len(dataset.classes) == 10


def test_no_shared_copy_and_no_network_is_one_clear_error(no_shared_data, monkeypatch):
    monkeypatch.setattr(torchvision.datasets, "CIFAR10", Offline)
    with pytest.raises(FdslError, match="torchvision could not download it .*Temporary failure"):
        data_spec("cifar10", no_shared_data)
    assert not list((no_shared_data.parent / "cache").glob("*.npz"))  # nothing half-written
