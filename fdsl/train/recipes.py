"""Training configuration: one flat dataclass of plain values, and the papers' recipes as named presets.

A recipe fills every value for a stage (pre-training or fine-tuning); any value
can then be overridden from the command line.  The pieces themselves
(optimisers, schedules, RandAugment, Mixup/CutMix, label smoothing) are timm's.
"""

from __future__ import annotations

import dataclasses
import math

from fdsl.errors import FdslError

TRAIN_CROPS = ("crop", "resized", "pad")
MAX_IMAGE_SIZE = 1024  # beyond this a batch of one allocates gigabytes before anything else is checked


@dataclasses.dataclass
class TrainConfig:
    model: str = "resnet18"
    epochs: int = 90
    batch_size: int = 256
    opt: str = "sgd"
    lr: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 1e-4
    sched: str = "multistep"              # timm schedule: multistep, cosine, ...
    decay_at: tuple = (1 / 3, 2 / 3)      # multistep: fractions of training where lr *= decay_rate
    decay_rate: float = 0.1
    warmup_epochs: float = 0.0
    warmup_lr: float = 1e-6
    min_lr: float = 0.0
    image_size: int = 224
    crop_pct: float = 224 / 362           # train: random crop of this fraction; eval: centre crop
    train_crop: str = "crop"              # "crop" (RandomCrop, the ResNet papers), "resized" (timm RandomResizedCrop)
                                          # or "pad" (reflect-pad by image_size / 8, then RandomCrop: the CIFAR recipe)
    hflip: float = 0.0
    auto_augment: str | None = None       # e.g. "rand-m9-mstd0.5-inc1" (RandAugment)
    color_jitter: float | None = None
    re_prob: float = 0.0                  # random erasing
    mean: tuple = (0.2, 0.2, 0.2)
    std: tuple = (0.5, 0.5, 0.5)
    interpolation: str = "bilinear"
    mixup: float = 0.0
    cutmix: float = 0.0
    mixup_switch_prob: float = 0.5
    label_smoothing: float = 0.0
    drop_path: float = 0.0
    layer_decay: float = 0.0              # layer-wise lr decay for fine-tuning ViTs (timm); 0: off
    label_noise: float = 0.0
    seed: int = 0
    workers: int = 0
    threads: int = 0                      # torch CPU threads (0: torch's default); 1 is fastest on a busy machine
    device: str = "auto"                  # auto: cuda when available, else cpu
    render_device: str = "cpu"            # on-the-fly data: cpu (DataLoader workers) or cuda (fdsl.data.device_batches)
    amp: bool = True                      # bf16 autocast on CUDA (ignored on CPU)
    channels_last: bool = True            # on CUDA
    log_every: int = 20                   # steps between JSONL loss records
    checkpoint_every: int = 0             # steps between mid-epoch checkpoints (0: end of each epoch only)
    eval_every: int = 1                   # epochs between evaluations (the last epoch is always evaluated)

    def validate(self) -> None:
        if self.epochs < 1:
            raise FdslError(f"--epochs must be at least 1, got {self.epochs}")
        if self.batch_size < 1:
            raise FdslError(f"--batch-size must be at least 1, got {self.batch_size}")
        if not self.lr > 0 or not math.isfinite(self.lr):
            raise FdslError(f"--lr must be a positive number, got {self.lr}")
        if not (8 <= self.image_size <= MAX_IMAGE_SIZE):
            raise FdslError(f"--image-size must be between 8 and {MAX_IMAGE_SIZE}, got {self.image_size}")
        for flag, value, low, high in (("weight-decay", self.weight_decay, 0, 10), ("momentum", self.momentum, 0, 1),
                                       ("hflip", self.hflip, 0, 1), ("label-smoothing", self.label_smoothing, 0, 1),
                                       ("drop-path", self.drop_path, 0, 1), ("re-prob", self.re_prob, 0, 1),
                                       ("mixup", self.mixup, 0, 100), ("cutmix", self.cutmix, 0, 100),
                                       ("layer-decay", self.layer_decay, 0, 1), ("warmup-epochs", self.warmup_epochs,
                                                                                  0, self.epochs)):
            if not (math.isfinite(value) and low <= value <= high):
                raise FdslError(f"--{flag} must be between {low} and {high:g}, got {value}")
        if self.eval_every < 1:
            raise FdslError(f"--eval-every must be at least 1, got {self.eval_every}")
        if not (0 < self.crop_pct <= 1):
            raise FdslError(f"--crop-pct must be in (0, 1], got {self.crop_pct}")
        if not (0 <= self.label_noise <= 1):
            raise FdslError(f"--label-noise must be between 0 and 1, got {self.label_noise}")
        if self.workers < 0:
            raise FdslError(f"--workers must be >= 0, got {self.workers}")
        if self.train_crop not in TRAIN_CROPS:
            raise FdslError(f"--train-crop must be one of {', '.join(TRAIN_CROPS)}, got {self.train_crop}")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)

# Kataoka et al. (ACCV 2020 / IJCV), reference-algorithms.md 1.3.
RESNET_SGD = {
    "pretrain": dict(opt="sgd", lr=0.1, momentum=0.9, weight_decay=1e-4, sched="multistep", decay_at=(1 / 3, 2 / 3),
                     decay_rate=0.1, epochs=90, batch_size=256, image_size=224, crop_pct=224 / 362, train_crop="crop",
                     hflip=0.0, mean=(0.2, 0.2, 0.2), std=(0.5, 0.5, 0.5)),
    "finetune": dict(opt="sgd", lr=0.01, momentum=0.9, weight_decay=1e-4, sched="multistep", decay_at=(1 / 3, 2 / 3),
                     decay_rate=0.1, epochs=90, batch_size=256, image_size=224, crop_pct=224 / 256, train_crop="crop",
                     hflip=0.0, mean=IMAGENET_MEAN, std=IMAGENET_STD),
}

# Nakashima et al. (AAAI 2022) DeiT recipe; lr is 5e-4 x batch / 512.
DEIT = {
    "pretrain": dict(opt="adamw", lr=5e-4, weight_decay=0.05, sched="cosine", warmup_epochs=5, warmup_lr=1e-6,
                     min_lr=1e-5, epochs=300, batch_size=64, image_size=224, crop_pct=0.875, train_crop="resized",
                     hflip=0.0, auto_augment="rand-m9-mstd0.5-inc1", color_jitter=0.4, re_prob=0.25,
                     interpolation="bicubic", mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5), mixup=0.8, cutmix=1.0,
                     label_smoothing=0.1, drop_path=0.1, model="deit_tiny_patch16_224"),
    "finetune": dict(opt="sgd", lr=0.01, momentum=0.9, weight_decay=1e-4, sched="cosine", warmup_epochs=10,
                     warmup_lr=1e-6, min_lr=1e-5, epochs=1000, batch_size=96, image_size=224, crop_pct=0.875,
                     train_crop="resized", hflip=0.5, auto_augment="rand-m9-mstd0.5-inc1", re_prob=0.0,
                     interpolation="bicubic", mean=IMAGENET_MEAN, std=IMAGENET_STD, mixup=0.8, cutmix=1.0,
                     label_smoothing=0.1, drop_path=0.0, model="deit_tiny_patch16_224"),
}

# The DeiT recipe scaled to small images and short CPU runs (docs/training.md, "Small ViTs"): AdamW 1e-3,
# weight decay 0.05, cosine with a short warm-up, drop-path 0.1, label smoothing 0.1, no flip for the
# formula images; fine-tuning adds the CIFAR augmentation (reflect-pad crop, flip) and Mixup/CutMix.
VIT_SMALL = {
    "pretrain": dict(opt="adamw", lr=1e-3, weight_decay=0.05, sched="cosine", warmup_epochs=1, warmup_lr=1e-6,
                     min_lr=1e-5, epochs=15, batch_size=128, image_size=32, crop_pct=0.8, train_crop="crop",
                     hflip=0.0, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5), label_smoothing=0.1, drop_path=0.1,
                     model="vit-nano-p4"),
    "finetune": dict(opt="adamw", lr=1e-3, weight_decay=0.05, sched="cosine", warmup_epochs=1, warmup_lr=1e-6,
                     min_lr=1e-5, epochs=25, batch_size=128, image_size=32, crop_pct=1.0, train_crop="pad",
                     hflip=0.5, mean=IMAGENET_MEAN, std=IMAGENET_STD, mixup=0.8, cutmix=1.0, label_smoothing=0.1,
                     drop_path=0.1, model="vit-nano-p4"),
}

RECIPES = {"resnet-sgd": RESNET_SGD, "deit": DEIT, "vit-small": VIT_SMALL}
# Learning rates these recipes scale linearly with batch / 512.
SCALED_LR = {"deit"}


def recipe_config(name: str, stage: str, overrides: dict) -> TrainConfig:
    """The recipe's values for ``stage``, then every non-None override on top."""
    if name not in RECIPES:
        raise FdslError(f"unknown recipe '{name}'; choose one of: {', '.join(sorted(RECIPES))}")
    values = dict(RECIPES[name][stage])
    given = {k: v for k, v in overrides.items() if v is not None}
    values.update(given)
    if name in SCALED_LR and "lr" not in given:
        values["lr"] = values["lr"] * values["batch_size"] / 512
    known = {f.name for f in dataclasses.fields(TrainConfig)}
    config = TrainConfig(**{k: v for k, v in values.items() if k in known})
    config.validate()
    return config
