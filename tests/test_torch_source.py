"""Pre-training batches rendered and augmented on the device (run here on the CPU with the same code)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fdsl.data.formula import EpochSampler, FormulaDataset
from fdsl.core.errors import FdslError
from fdsl.formulas import create_formula
from fdsl.formulas.ifs.fractal import FractalRenderSettings
from fdsl.data.device_batches import DeviceAugment, DeviceBatches, device_augment_for

SYSTEMS = [
    np.array([[0.5, 0, 0, 0.5, 0, 0, 1 / 3], [0.5, 0, 0, 0.5, 0.5, 0, 1 / 3], [0.5, 0, 0, 0.5, 0.25, 0.5, 1 / 3]]),
    np.array([[0.6, -0.5, 0.5, 0.6, 0.1, 0.0, 0.8], [0.3, 0.0, 0.0, 0.3, 0.7, 0.2, 0.2]]),
    np.array([[0.0, 0.0, 0.0, 0.16, 0.0, 0.0, 0.01], [0.85, 0.04, -0.04, 0.85, 0.0, 1.6, 0.85],
              [0.2, -0.26, 0.23, 0.22, 0.0, 1.6, 0.07], [-0.15, 0.28, 0.26, 0.24, 0.0, 0.44, 0.07]]),
]


@pytest.fixture
def dataset(tmp_path):
    formula = create_formula("fractal")
    for k, system in enumerate(SYSTEMS):
        formula.save_params(system, tmp_path / f"{k:05d}.csv")
    settings = FractalRenderSettings(size=36, points=2000, pad=2, patches=2)
    return FormulaDataset("fractal", tmp_path, settings, seed=4, instances=6)


def source(dataset, batch_size=4, seed=4, **augment):
    augment = DeviceAugment(28, **{"hflip": 0.5, **augment})
    return DeviceBatches(dataset, EpochSampler(len(dataset), seed=seed), batch_size, augment, device="cpu")


def test_batches_have_the_training_shapes_labels_and_normalisation(dataset):
    batches = list(source(dataset))
    assert len(batches) == len(source(dataset)) == len(dataset) // 4
    images, labels = batches[0]
    assert images.shape == (4, 3, 28, 28) and images.dtype == torch.float32
    assert labels.dtype == torch.int64 and set(labels.tolist()) <= {0, 1, 2}
    # Grey 0 and 127 normalised with mean 0.2, std 0.5; the three channels are the same grey.
    expected = np.array([(0 - 0.2) / 0.5, (127 / 255 - 0.2) / 0.5])
    values = images.unique().numpy()
    assert len(values) == 2 and np.allclose(values, expected, atol=1e-6)
    assert torch.equal(images[:, 0], images[:, 2])


def test_items_and_labels_follow_the_cpu_dataset(dataset):
    src = source(dataset)
    index = torch.arange(len(dataset))
    categories, draws, views, labels = src.items(index)
    for i in range(len(dataset)):
        category, instance = divmod(i, dataset.instances)
        draw, view = divmod(dataset.image_index(instance), dataset.views)
        assert (int(categories[i]), int(draws[i]), int(views[i]), int(labels[i])) == (category, draw, view,
                                                                                       dataset.target(i))


def test_same_seed_same_epoch_same_batches_and_batch_size_does_not_matter(dataset):
    a = torch.cat([x for x, _ in source(dataset, batch_size=4)])
    b = torch.cat([x for x, _ in source(dataset, batch_size=4)])
    assert torch.equal(a, b)
    one_big = source(dataset, batch_size=len(dataset))
    c = torch.cat([x for x, _ in one_big])
    assert torch.equal(a, c[:len(a)])
    # A sample depends on its index and epoch only, not on its batch mates.
    src = source(dataset)
    solo, _ = src.batch(torch.tensor([7]), epoch=0)
    mixed, _ = src.batch(torch.tensor([3, 7, 11]), epoch=0)
    assert torch.equal(solo[0], mixed[1])


def test_a_new_epoch_reorders_and_re_augments(dataset):
    src = source(dataset)
    first = [y for _, y in src]
    src.set_epoch(1)
    second = [y for _, y in src]
    assert not all(torch.equal(a, b) for a, b in zip(first, second))
    x0, _ = src.batch(torch.tensor([5, 6, 7, 8]), epoch=0)
    x1, _ = src.batch(torch.tensor([5, 6, 7, 8]), epoch=1)
    assert not torch.equal(x0, x1)  # other crops / flips of the same images


def test_ranks_split_an_epoch_without_overlap(dataset):
    seen = []
    for rank in range(2):
        sampler = EpochSampler(len(dataset), seed=4, rank=rank, world=2)
        src = DeviceBatches(dataset, sampler, 3, DeviceAugment(28), device="cpu")
        seen.append(set(sampler.indices().tolist()))
        assert sum(len(y) for _, y in src) == 9
    assert not (seen[0] & seen[1]) and len(seen[0] | seen[1]) == len(dataset)


def test_resize_then_crop_and_config_mapping(dataset):
    images, _ = source(dataset, resize=40).batch(torch.arange(4), 0)
    assert images.shape == (4, 3, 28, 28)

    class Config:
        image_size, crop_pct, hflip, mean, std = 28, 0.7, 0.5, (0.5,) * 3, (0.5,) * 3
        train_crop, auto_augment, color_jitter, re_prob = "crop", None, 0.0, 0.0

    augment = device_augment_for(Config)
    assert (augment.image_size, augment.resize, augment.hflip) == (28, 40, 0.5)
    Config.auto_augment = "rand-m9-mstd0.5-inc1"
    with pytest.raises(FdslError, match="render-device cpu"):
        device_augment_for(Config)
    with pytest.raises(FdslError, match="smaller than the crop"):
        DeviceBatches(dataset, EpochSampler(len(dataset)), 2, DeviceAugment(64), device="cpu").batch(
            torch.arange(2), 0)


def test_training_end_to_end_on_a_tiny_model(dataset):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 16, 5, stride=2), torch.nn.ReLU(),
                                torch.nn.Conv2d(16, 16, 3, stride=2), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(4),
                                torch.nn.Flatten(), torch.nn.Linear(256, 3))
    optimiser = torch.optim.Adam(model.parameters(), lr=3e-3)
    src = source(dataset, batch_size=6)
    losses = []
    for epoch in range(8):
        src.set_epoch(epoch)
        for images, labels in src:
            loss = torch.nn.functional.cross_entropy(model(images), labels)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            losses.append(loss.item())
    assert all(np.isfinite(losses))
    assert np.mean(losses[-3:]) < np.mean(losses[:3])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (none visible to torch)")
def test_cuda_batches_equal_cpu_batches(dataset):
    """Without a resize every step is exact on both devices (integer rendering, gathers, flips, one IEEE
    divide and subtract per pixel): bit-identical.  A bilinear resize is not claimed to be (docs/gpu.md)."""
    cpu = torch.cat([x for x, _ in source(dataset)])
    sampler = EpochSampler(len(dataset), seed=4)
    gpu = DeviceBatches(dataset, sampler, 4, DeviceAugment(28, hflip=0.5), device="cuda")
    assert torch.equal(torch.cat([x for x, _ in gpu]).cpu(), cpu)


def test_pretrain_engine_runs_with_render_device_cuda_wiring(tmp_path, dataset, monkeypatch):
    """The real training engine with --render-device cuda, the GPU check lifted so it runs here on the CPU."""
    import fdsl.data.device_batches as gpu_source
    from fdsl.train import engine
    from fdsl.train.recipes import recipe_config

    seen = []
    real = gpu_source.DeviceBatches.batch

    def spy(self, indices, epoch):
        seen.append(self.device.type)
        return real(self, indices, epoch)

    monkeypatch.setattr(gpu_source, "_require_cuda", lambda device: None)
    monkeypatch.setattr(gpu_source.DeviceBatches, "batch", spy)
    config = recipe_config("resnet-sgd", "pretrain", dict(epochs=1, batch_size=6, image_size=28, crop_pct=0.8,
                                                          device="cpu", render_device="cuda", lr=0.01))
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(),
                                torch.nn.Linear(4, 3))
    meta = {"stage": "pretrain", "model": "tiny", "model_kwargs": {}, "classes": dataset.classes}
    engine.fit(model, dataset, None, config, tmp_path / "run", meta, progress=False)
    assert seen == ["cpu"] * (len(dataset) // 6)
    assert (tmp_path / "run").is_dir()


def test_render_device_cuda_without_a_gpu_is_one_line_error(tmp_path, dataset, capsys):
    from fdsl.cli import main

    if torch.cuda.is_available():
        pytest.skip("a GPU is present: the no-GPU error cannot happen")
    code = main(["pretrain", "--params", str(tmp_path),  # the fixture wrote its CSVs here
                 "--formula", "fractal", "--render", "size=36", "--render", "points=2000", "--instances", "2",
                 "--out", str(tmp_path / "run"), "--device", "cpu", "--render-device", "cuda", "--epochs", "1",
                 "--batch-size", "2", "--image-size", "28", "--quiet"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "--render-device cuda" in err and len(err.splitlines()) == 1
