"""On-the-fly formula data and real-data readers: determinism, sharding, label noise, splits, bad inputs."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from fdsl.data.formula import EpochSampler, FormulaDataset, Keyed, noisy_labels, pretraining_dataset
from fdsl.core.errors import FdslError
from fdsl.formulas import create_formula
from fdsl.data.real import keep_classes, open_images, split
from fdsl.write.engine import render_unit
from helpers import SHARED_DATA, make_catalog

SHARED = SHARED_DATA
TINY = {"size": 24, "points": 800, "patches": 2}


@pytest.fixture(scope="module")
def catalog(tmp_path_factory):
    return make_catalog(tmp_path_factory.mktemp("catalog") / "params", seed=3, categories=3,
                        points=2000, size=64, fill_rate=0.1)


def tiny_dataset(catalog, instances=8, seed=5):
    settings = create_formula("fractal").RenderSettings(**TINY)
    return FormulaDataset("fractal", catalog, settings, seed=seed, instances=instances)


def test_on_the_fly_images_are_the_rendered_dataset(catalog):
    dataset = tiny_dataset(catalog, instances=None)
    formula = create_formula("fractal")
    assert len(dataset) == 3 * formula.images_per_category(dataset.settings)
    # Item (category 1, draw 3, view 2) is byte-identical to what 'fdsl render' writes for it.
    views, _ = render_unit(formula, dataset.settings, 5, dataset.categories[1], 1, 3, dataset.context)
    index = 1 * dataset.instances + 3 * dataset.views + 2
    assert np.array_equal(dataset.render(index), views[2][1])
    assert dataset.target(index) == 1
    assert np.array_equal(dataset.render(index), tiny_dataset(catalog, instances=None).render(index))
    assert not np.array_equal(dataset.render(index), tiny_dataset(catalog, instances=None, seed=6).render(index))


def test_fewer_instances_spread_over_all_draws(catalog):
    dataset = tiny_dataset(catalog, instances=8)
    picked = [dataset.image_index(i) for i in range(8)]
    assert picked == sorted(set(picked)) and picked[-1] >= dataset.available * 7 // 8 - 1
    with pytest.raises(FdslError, match="--instances"):
        tiny_dataset(catalog, instances=dataset.available + 1)


def test_sampler_deals_each_index_to_exactly_one_rank():
    epochs = {}
    for epoch in (0, 1):
        shards = []
        for rank in range(3):
            sampler = EpochSampler(100, seed=7, rank=rank, world=3)
            sampler.set_epoch(epoch)
            shards.append([i for _, i in sampler])
            assert all(e == epoch for e, _ in sampler)
        flat = sum(shards, [])
        assert len(flat) == len(set(flat)) == 99 and {len(s) for s in shards} == {33}
        epochs[epoch] = flat
    assert epochs[0] != epochs[1]
    # Resuming inside an epoch leaves out exactly the pairs already taken.
    sampler = EpochSampler(100, seed=7, rank=1, world=3)
    sampler.set_epoch(1)
    full = list(sampler)
    sampler.set_epoch(1, skip=10)
    assert list(sampler) == full[10:]


def test_workers_give_the_same_augmented_batches(catalog):
    from torchvision import transforms as T

    transform = T.Compose([T.RandomResizedCrop(16), T.RandomHorizontalFlip(), T.ToTensor()])
    keyed = Keyed(tiny_dataset(catalog), transform, seed=1)
    sampler = EpochSampler(len(keyed), seed=2)
    sampler.set_epoch(3)
    batches = {}
    for workers in (0, 2):
        loader = torch.utils.data.DataLoader(keyed, batch_size=5, sampler=sampler, num_workers=workers)
        batches[workers] = [(x.clone(), y.clone()) for x, y in loader]
    assert len(batches[0]) == len(batches[2]) == 5
    for (x0, y0), (x2, y2) in zip(batches[0], batches[2]):
        assert torch.equal(x0, x2) and torch.equal(y0, y2)
    # The augmentation depends on the epoch: the same index looks different next epoch.
    assert not torch.equal(keyed[(3, 0)][0], keyed[(4, 0)][0])
    assert torch.equal(keyed[(3, 0)][0], keyed[(3, 0)][0])


def test_label_noise_changes_exactly_the_requested_fraction():
    targets = np.repeat(np.arange(10), 50)
    labels, changed = noisy_labels(targets, 10, 0.3, seed=4)
    assert changed.sum() == 150
    assert np.all(labels[changed] != targets[changed]) and np.all(labels[~changed] == targets[~changed])
    assert labels.min() >= 0 and labels.max() <= 9
    assert np.array_equal(labels, noisy_labels(targets, 10, 0.3, seed=4)[0])
    with pytest.raises(FdslError):
        noisy_labels(targets, 10, 1.5, seed=0)


def _image_tree(root: Path, classes=("cat", "dog"), per_class=6) -> Path:
    for c, name in enumerate(classes):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            Image.fromarray(np.full((10, 12, 3), 20 * c + i, np.uint8)).save(root / name / f"{i}.png")
    return root


def test_folder_zip_and_npz_read_the_same_way(tmp_path):
    folder = _image_tree(tmp_path / "tree" / "train")
    archive = tmp_path / "data.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        for path in sorted(folder.rglob("*.png")):
            handle.write(path, path.relative_to(tmp_path / "tree"))
    from_folder, from_zip = open_images(str(folder)), open_images(str(archive))
    assert from_folder.classes == from_zip.classes == ["cat", "dog"]
    assert list(from_folder.targets) == list(from_zip.targets) == [0] * 6 + [1] * 6
    for i in (0, 7):
        assert np.array_equal(np.asarray(from_folder[i][0]), np.asarray(from_zip[i][0]))
    images = np.zeros((6, 8, 8), bool)
    np.savez(tmp_path / "a.npz", images=images, labels=np.array([0, 0, 1, 1, 2, 2]))
    arrays = open_images(str(tmp_path / "a.npz"))
    assert arrays.classes == ["0", "1", "2"] and np.asarray(arrays[0][0]).max() == 0  # False = ink = black
    # Omniglot's layout: (characters, drawings, H, W) with (characters, drawings) labels.
    np.savez(tmp_path / "b.npz", images=np.ones((3, 2, 8, 8), bool), labels=np.repeat(np.arange(3), 2).reshape(3, 2))
    grouped = open_images(str(tmp_path / "b.npz"))
    assert len(grouped) == 6 and list(grouped.targets) == [0, 0, 1, 1, 2, 2] and np.asarray(grouped[5][0]).min() == 255


def test_a_folder_is_a_torchvision_image_folder_with_a_transform(tmp_path):
    import torchvision
    from torchvision.transforms import ToTensor

    folder = _image_tree(tmp_path / "tree")
    (folder / ".fdsl-partial").mkdir()  # a hidden folder is not a class
    (folder / "cat" / ".6.png.123.part").write_bytes(b"half an image")  # nor a hidden file an image
    dataset = open_images(str(folder), transform=ToTensor())
    assert isinstance(dataset, torchvision.datasets.ImageFolder)
    assert dataset.classes == ["cat", "dog"] and dataset.class_to_idx == {"cat": 0, "dog": 1} and len(dataset) == 12
    image, target = dataset[7]
    assert target == 1 and image.shape == (3, 10, 12) and image.dtype == torch.float32
    assert torch.allclose(image, torch.full_like(image, 21 / 255))  # dog 1: grey 20 * 1 + 1
    # The same files as torchvision's own ImageFolder lists, in the same order.
    plain = torchvision.datasets.ImageFolder(str(tmp_path / "tree"), is_valid_file=lambda p: not
                                            Path(p).name.startswith("."), allow_empty=True)
    assert [Path(p) for p, _ in plain.samples if "fdsl-partial" not in p] == dataset.files


def test_split_is_stratified_disjoint_and_fixed():
    digits = open_images("sklearn-digits")
    train, val = split(digits, 0.2, seed=3, train_limit=500)
    assert len(train) == 500 and not set(train.indices) & set(val.indices)
    assert np.bincount(train.targets).min() >= 49 and abs(len(val) - 0.2 * len(digits)) < 10
    again, _ = split(digits, 0.2, seed=3, train_limit=500)
    assert np.array_equal(train.indices, again.indices)
    assert len(keep_classes(digits, 3).classes) == 3


@pytest.mark.parametrize("make, message", [
    (lambda p: p, "not found"),
    (lambda p: (p.mkdir(), p)[1], "no images"),
    (lambda p: (p.with_suffix(".zip").write_bytes(b"not a zip at all"), p.with_suffix(".zip"))[1], "zip"),
    (lambda p: (_image_tree(p, per_class=1), (p / "cat" / "0.png").write_bytes(b"garbage"), p)[2], "decode"),
])
def test_bad_datasets_are_one_line_errors(tmp_path, make, message):
    with pytest.raises(FdslError, match=message) as error:
        dataset = open_images(str(make(tmp_path / "data")))
        dataset[0]
    assert "\n" not in str(error.value)


def test_pretraining_source_is_params_or_images(catalog, tmp_path):
    dataset, data = pretraining_dataset(params=catalog, render_options={"size": "24", "points": "800"}, instances=4)
    assert data["formula"] == "fractal" and data["render"]["size"] == 24 and len(dataset) == 12
    images, data = pretraining_dataset(images=_image_tree(tmp_path / "imgs"))
    assert data["kind"] == "images" and len(images) == 12
    with pytest.raises(FdslError, match="unknown render setting"):
        pretraining_dataset(params=catalog, render_options={"colour": "1"})
    with pytest.raises(FdslError, match="exactly one"):
        pretraining_dataset()


@pytest.mark.skipif(not (SHARED / "cifar10" / "train.zip").exists(), reason="../shared/data/cifar10 is absent")
def test_cifar_zip_is_read_in_place():
    cifar = open_images(str(SHARED / "cifar10" / "train.zip"))
    assert len(cifar) == 50000 and len(cifar.classes) == 10
    assert cifar[123][0].size == (32, 32)


def test_keyed_follows_the_torchvision_convention():
    """A joint transform is always called as ``transforms(image, target)``; ``transform`` and ``target_transform``
    apply to each alone (torchvision's VisionDataset), whatever attributes the callables carry."""
    import torchvision

    items = [("image", 3)]
    joint = Keyed(items, transforms=lambda image, target: (image.upper(), target + 1))
    assert isinstance(joint, torchvision.datasets.VisionDataset)
    assert joint[(0, 0)] == ("IMAGE", 4)
    alone = Keyed(items, transform=str.upper, target_transform=lambda t: -t)
    assert alone[0] == ("IMAGE", -3)
    with pytest.raises(ValueError):
        Keyed(items, transform=str.upper, transforms=lambda image, target: (image, target))


def test_every_dataset_follows_the_torchvision_convention(catalog, tmp_path):
    """FormulaDataset, the real-image sources and image/mask pairs are VisionDatasets: ``root``, and
    ``transform`` / ``target_transform`` or one joint ``transforms(image, target)``."""
    import torchvision

    live = FormulaDataset("fractal", catalog, {"size": 32, "points": 1000, "patches": 1}, instances=2,
                          transform=lambda image: image.size, target_transform=lambda t: t + 10)
    assert isinstance(live, torchvision.datasets.VisionDataset) and live.root == str(catalog)
    assert live[3] == ((32, 32), 11)
    joint = FormulaDataset("fractal", catalog, {"size": 32, "points": 1000, "patches": 1}, instances=2,
                           transforms=lambda image, target: (image.mode, -target))
    assert joint[3] == ("RGB", -1) and live.heldout(1)[0][1] == 10
    digits = open_images("sklearn-digits", transform=lambda image: image.size, target_transform=str)
    assert isinstance(digits, torchvision.datasets.VisionDataset) and digits[0] == ((8, 8), "0")
    assert open_images("sklearn-digits", transforms=lambda image, target: (target, image.mode))[0] == (0, "RGB")
    with pytest.raises(ValueError):
        open_images("sklearn-digits", transform=str, transforms=lambda image, target: (image, target))
