"""Pre-training batches rendered and augmented on the training device: no CPU workers, no image copies.

``DeviceBatches`` stands where a DataLoader over ``fdsl.data.formula.FormulaDataset``
would: the same items (index -> category, draw, view, label), the same epoch
order (``EpochSampler``: a permutation keyed by (seed, epoch), dealt to ranks),
but each batch is rendered by the formula's torch renderer on the device and
augmented there with tensor ops (resize, random crop, flips, normalisation).

Determinism: an image depends only on (seed, category, draw, view); its crop
and flips only on (seed, epoch, index), through the same counter-based hash
as the renderer.  So a batch is the same whatever the batch size or the rank
that renders it (bit-identical on one device type; across CPU and CUDA the
images, crops and flips are exact, a bilinear resize may differ in the last bits).  Only host-side index
vectors cross to the device.  On CUDA the next batch is rendered on a side
stream while the model trains on the current one.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from fdsl.core.errors import FdslError
from fdsl.formulas import create_formula
from fdsl.kernels.torch.ifs import absorb, stream_keys
from fdsl.core.seeding import kernel_key
from fdsl.core.checks import resolve_torch_device


class DeviceAugment:
    """The ResNet-recipe train transform on batches: resize (shorter side), random crop, flips, normalise."""

    def __init__(self, image_size: int, resize: int | None = None, hflip: float = 0.0, vflip: float = 0.0,
                 mean=(0.2, 0.2, 0.2), std=(0.5, 0.5, 0.5)):
        if image_size < 1:
            raise FdslError(f"image size must be at least 1, got {image_size}")
        if resize is not None and resize < image_size:
            raise FdslError(f"resize side {resize} is smaller than the crop {image_size}")
        if not (0.0 <= hflip <= 1.0 and 0.0 <= vflip <= 1.0):
            raise FdslError(f"flip probabilities must be in [0, 1], got hflip={hflip}, vflip={vflip}")
        self.image_size, self.resize, self.hflip, self.vflip = image_size, resize, hflip, vflip
        self.mean = torch.tensor(mean, dtype=torch.float32).reshape(1, -1, 1, 1)
        self.std = torch.tensor(std, dtype=torch.float32).reshape(1, -1, 1, 1)

    def __call__(self, images: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
        """uint8 (B, H, W) or (B, H, W, 3) -> float32 (B, 3, S, S); keys: (B, 2) int32 per-sample keys."""
        device = images.device
        x = images.unsqueeze(1) if images.dim() == 3 else images.permute(0, 3, 1, 2)
        x = x.to(torch.float32).div_(255.0)
        if self.resize is not None and min(x.shape[-2:]) != self.resize:
            height, width = x.shape[-2:]
            scale = self.resize / min(height, width)
            size = (max(self.resize, round(height * scale)), max(self.resize, round(width * scale)))
            x = F.interpolate(x, size=size, mode="bilinear", antialias=True, align_corners=False)
        batch, _, height, width = x.shape
        crop = self.image_size
        if height < crop or width < crop:
            raise FdslError(f"images of {height}x{width} are smaller than the crop {crop}; render a larger --size")
        # Three independent words per sample: crop row, crop column, flips.
        words = [absorb(keys[:, 0], torch.tensor(k, dtype=torch.int32, device=device)) ^ keys[:, 1] for k in range(3)]
        words = [absorb(w, keys[:, 1]) for w in words]
        top = _below(words[0], height - crop + 1)
        left = _below(words[1], width - crop + 1)
        rows = (top[:, None] + torch.arange(crop, device=device))[:, None, :, None]
        cols = (left[:, None] + torch.arange(crop, device=device))[:, None, None, :]
        x = x.gather(2, rows.expand(batch, x.shape[1], crop, width)).gather(3, cols.expand(batch, x.shape[1], crop, crop))
        unit = (words[2] & 0xFFFF).to(torch.float32) / 65536.0
        unit_v = ((words[2] >> 16) & 0xFFFF).to(torch.float32) / 65536.0
        x = torch.where((unit < self.hflip).reshape(-1, 1, 1, 1), x.flip(3), x)
        x = torch.where((unit_v < self.vflip).reshape(-1, 1, 1, 1), x.flip(2), x)
        if x.shape[1] == 1:
            x = x.expand(batch, 3, crop, crop)
        return (x - self.mean.to(device)) / self.std.to(device)


def device_augment_for(config) -> DeviceAugment:
    """The device version of a training config's train transform (``fdsl.train.augment.train_transform``).

    Only the ResNet-recipe pieces exist on the device (resize, random crop, flips);
    recipes with RandAugment, RandomResizedCrop, colour jitter or random erasing
    keep the CPU data path.
    """
    unsupported = [name for name, on in (("train_crop=resized", getattr(config, "train_crop", "crop") != "crop"),
                                         ("auto_augment", bool(getattr(config, "auto_augment", None))),
                                         ("color_jitter", bool(getattr(config, "color_jitter", 0))),
                                         ("re_prob", bool(getattr(config, "re_prob", 0)))) if on]
    if unsupported:
        raise FdslError(f"--render-device cuda augments on the GPU with random crop and flips only; this recipe "
                        f"also uses {', '.join(unsupported)}: use --render-device cpu")
    resize = max(config.image_size, int(round(config.image_size / config.crop_pct)))
    return DeviceAugment(config.image_size, resize=resize, hflip=config.hflip, mean=config.mean, std=config.std)


def device_batches(train_set, sampler, config, device: torch.device, targets=None) -> DeviceBatches:
    """The training engine's hook: ``--render-device cuda`` batches for ``fdsl.train.engine.fit``.

    Renders on the training device itself (each DDP rank on its own GPU) and
    yields device tensors, so the engine's host-to-device move is a no-op.
    """
    if config.render_device != "cuda":
        raise FdslError(f"--render-device must be cpu or cuda, got '{config.render_device}'")
    device = torch.device(device)
    _require_cuda(device)
    if not hasattr(train_set, "formula_name"):
        raise FdslError("--render-device cuda renders a --params catalog on the fly; --images folders are read by "
                        "the CPU data loader (drop --render-device)")
    return DeviceBatches(train_set, sampler, config.batch_size, device_augment_for(config), device=device,
                         targets=targets, augment_seed=config.seed)


def _require_cuda(device: torch.device) -> None:
    if device.type != "cuda":
        raise FdslError(f"--render-device cuda renders on the training GPU, but training runs on {device}; "
                        "add --device cuda, or use --render-device cpu")


def _below(word: torch.Tensor, n: int) -> torch.Tensor:
    """An integer in [0, n) from a random int32 word (16-bit precision: ample for crop offsets)."""
    return ((word & 0xFFFF).to(torch.int64) * n) >> 16


class DeviceBatches:
    """Iterable of (images float32 (B, 3, S, S), labels int64 (B,)) on ``device`` for one epoch at a time.

    dataset: a ``fdsl.data.formula.FormulaDataset`` (its formula name, categories,
    settings, seed, ``instances`` and ``image_index`` are used: the images are rendered here).
    sampler: its ``EpochSampler``; ``set_epoch`` is forwarded to it.
    targets: optional labels per dataset index (e.g. with label noise); default: the category.
    augment_seed: seed of crops and flips (the training seed); default: the dataset's seed.
    """

    def __init__(self, dataset, sampler, batch_size: int, augment: DeviceAugment, device="cuda",
                 drop_last: bool = True, compiled: bool = False, targets=None,
                 augment_seed: int | None = None):
        if batch_size < 1:
            raise FdslError(f"--batch-size must be at least 1, got {batch_size}")
        self.dataset, self.sampler, self.batch_size, self.augment = dataset, sampler, batch_size, augment
        self.drop_last = drop_last
        self.device = resolve_torch_device(device)
        self.renderer = create_formula(dataset.formula_name).create_torch_renderer(
            dataset.categories, dataset.settings, dataset.seed, self.device)
        self.renderer.compiled = compiled
        # The dataset's own choice of images per instance, as a device table (no per-batch host calls).
        self.image_of_instance = torch.tensor([dataset.image_index(i) for i in range(dataset.instances)],
                                              dtype=torch.int64, device=self.device)
        self.augment_key = kernel_key(dataset.seed if augment_seed is None else augment_seed, "augment-torch")
        self.targets = None if targets is None else torch.as_tensor(targets, dtype=torch.int64, device=self.device)

    def set_epoch(self, epoch: int, skip: int = 0) -> None:
        self.sampler.set_epoch(epoch, skip)

    def __len__(self) -> int:
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def items(self, indices: torch.Tensor):
        """Dataset indices -> (categories, draws, views, labels), as FormulaDataset.render maps them."""
        ds = self.dataset
        # Index = category * instances + instance, the dataset's layout (its __len__ and render()).
        categories, instances = indices // ds.instances, indices % ds.instances
        image_index = self.image_of_instance[instances]
        labels = categories if self.targets is None else self.targets[indices]
        return categories, image_index // ds.views, image_index % ds.views, labels

    def batch(self, indices: torch.Tensor, epoch: int):
        """One batch for these dataset indices (any composition gives the same per-sample result)."""
        indices = indices.to(self.device, torch.int64)
        categories, draws, views, labels = self.items(indices)
        images, _ = self.renderer.render_draws(categories, draws, warnings=False)
        images = self.renderer.view(images, views)
        keys = stream_keys(self.augment_key, torch.full_like(indices, epoch), indices)
        return self.augment(images, keys), labels

    def __iter__(self):
        order = torch.as_tensor(self.sampler.indices(), dtype=torch.int64)
        epoch = self.sampler.epoch
        chunks = [order[k:k + self.batch_size] for k in range(0, len(order), self.batch_size)]
        if self.drop_last and chunks and len(chunks[-1]) < self.batch_size:
            chunks.pop()
        if self.device.type != "cuda":
            for chunk in chunks:
                yield self.batch(chunk, epoch)
            return
        yield from self._prefetched(chunks, epoch)

    def _prefetched(self, chunks, epoch):
        """Render batch k + 1 on a side stream while the caller trains on batch k."""
        side = torch.cuda.Stream(self.device)
        main = torch.cuda.current_stream(self.device)

        def launch(chunk):
            side.wait_stream(main)
            with torch.cuda.stream(side):
                return self.batch(chunk, epoch)

        pending = launch(chunks[0]) if chunks else None
        for k in range(len(chunks)):
            main.wait_stream(side)
            images, labels = pending
            # Made on the side stream, used on the main one: keep the allocator from reusing them early.
            images.record_stream(main)
            labels.record_stream(main)
            pending = launch(chunks[k + 1]) if k + 1 < len(chunks) else None
            yield images, labels
