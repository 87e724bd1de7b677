"""The data-side speed-ups keep every item's bytes: a batch fetch through ``Keyed.__getitems__`` equals item by
item fetches, the global generators come back unchanged, and decoded pixels kept in memory give the same
images as decoding afresh (and are not kept by DataLoader workers or shipped to them)."""

import pickle
import random
import zipfile

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from PIL import Image  # noqa: E402
from torchvision import transforms as T  # noqa: E402
from torchvision.datasets.vision import StandardTransform  # noqa: E402

from fdsl.data.formula import Keyed  # noqa: E402
from fdsl.data.real import open_images  # noqa: E402


@pytest.fixture()
def zipped(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "images.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for i in range(12):
            image = Image.fromarray(rng.integers(0, 256, (20, 20, 3), dtype=np.uint8))
            name = tmp_path / f"{i}.jpg"
            image.save(name, quality=90)
            archive.write(name, f"{'ab'[i % 2]}/{i}.jpg")
    return path


def _augmenting():
    # torch (crop, flip), python random (a RandomApply-like draw via RandomChoice) and numpy all drawn
    def numpy_noise(tensor):
        return tensor + float(np.random.rand())
    return StandardTransform(T.Compose([T.RandomCrop(16), T.RandomHorizontalFlip(), T.RandomChoice(
        [T.ColorJitter(0.5), T.RandomGrayscale(1.0)]), T.ToTensor(), T.Lambda(numpy_noise)]))


def test_batch_fetch_equals_item_fetches_and_restores_generators(zipped):
    keyed = Keyed(open_images(str(zipped)), seed=3, transforms=_augmenting())
    keys = [(1, i) for i in (5, 0, 7, 3)]
    torch.manual_seed(11), random.seed(11), np.random.seed(11)
    before = (torch.get_rng_state(), random.getstate(), np.random.get_state()[1].copy())
    batch = keyed.__getitems__(keys)
    after = (torch.get_rng_state(), random.getstate(), np.random.get_state()[1].copy())
    assert torch.equal(before[0], after[0]) and before[1] == after[1] and np.array_equal(before[2], after[2])
    for key, (image, target) in zip(keys, batch):
        single, single_target = keyed[key]
        assert torch.equal(image, single) and target == single_target
    assert not torch.equal(batch[0][0], keyed[(2, 5)][0])  # another epoch: another augmentation


def test_loader_batches_equal_item_by_item(zipped):
    keyed = Keyed(open_images(str(zipped)), seed=0, transforms=_augmenting())
    keys = [(0, i) for i in range(12)]
    loader = torch.utils.data.DataLoader(keyed, batch_size=4, sampler=keys)
    images = torch.cat([images for images, _ in loader])
    assert torch.equal(images, torch.stack([keyed[key][0] for key in keys]))


def test_kept_pixels_give_the_decoded_image(zipped):
    fresh, reused = open_images(str(zipped)), open_images(str(zipped))
    first = [np.asarray(reused[i][0]) for i in range(12)]  # decoded, and kept
    assert len(reused._decoded) == 12
    again = [np.asarray(reused[i][0]) for i in range(12)]  # from memory
    for i in range(12):
        assert np.array_equal(first[i], again[i])
        assert np.array_equal(again[i], np.asarray(fresh.load(i).convert("RGB")))
        assert reused[i][0].mode == "RGB"
    copied = pickle.loads(pickle.dumps(reused))  # what a spawned worker receives: no pixels
    assert copied._decoded is None and np.array_equal(np.asarray(copied[4][0]), again[4])


def test_workers_do_not_keep_pixels(zipped, monkeypatch):
    import fdsl.data.labelled as labelled

    dataset = open_images(str(zipped))
    monkeypatch.setattr(labelled.torch.utils.data, "get_worker_info", lambda: object())
    dataset[0]
    assert dataset._decoded is None
