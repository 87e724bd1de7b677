"""Training configuration: one flat dataclass of plain values, and the papers' recipes as named presets.

A recipe fills every value for a stage (pre-training or fine-tuning); any value
can then be overridden from the command line.  The pieces themselves
(optimisers, schedules, RandAugment, Mixup/CutMix, label smoothing) are timm's.
"""

from __future__ import annotations

import dataclasses
import difflib

from fdsl.core.checks import SEEDS, resolve_torch_device
from fdsl.core.numbers import Range, at_least, between, check_fields, positive
from fdsl.core.errors import FdslError

TRAIN_CROPS = ("crop", "resized", "pad")
SMALL_CONVS = ("matmul", "onednn")
MAX_IMAGE_SIZE = 1024  # beyond this a batch of one allocates gigabytes before anything else is checked


def flag(default, help: str, within: Range | None = None):
    """A training value that ``fdsl pretrain`` / ``finetune`` expose as ``--name-with-dashes`` (default: the
    recipe's); ``within`` bounds it, checked on the command line and in ``validate`` alike."""
    return dataclasses.field(default=default, metadata={"help": help, "within": within})


def command_line_fields() -> list:
    """The TrainConfig fields a user may override from the command line, in declaration order."""
    return [f for f in dataclasses.fields(TrainConfig) if "help" in f.metadata]


@dataclasses.dataclass
class TrainConfig:
    model: str = "resnet18"
    epochs: int = flag(90, 'training epochs', at_least(1))
    batch_size: int = flag(256, 'images per step and process', at_least(1))
    opt: str = flag("sgd", 'timm optimiser name (sgd, adamw, ...)')
    lr: float = flag(0.1, 'peak learning rate', positive())
    momentum: float = flag(0.9, 'SGD momentum', between(0, 1))
    weight_decay: float = flag(1e-4, 'weight decay', between(0, 10))
    sched: str = flag("multistep", 'timm schedule (multistep, cosine, ...)')
    decay_at: tuple = (1 / 3, 2 / 3)      # multistep: fractions of training where lr *= decay_rate
    decay_rate: float = 0.1
    warmup_epochs: float = flag(0.0, 'linear warm-up length in epochs', at_least(0))
    warmup_lr: float = 1e-6
    min_lr: float = 0.0
    image_size: int = flag(224, 'model input side in pixels', between(8, MAX_IMAGE_SIZE))
    crop_pct: float = flag(224 / 362, "random-crop (train) and centre-crop (eval) size as a fraction of the "
                                       "resized image", between(0, 1, open_low=True))
    train_crop: str = flag("crop", "'crop' (RandomCrop, the ResNet papers), 'resized' (RandomResizedCrop) or 'pad' "
                                   "(reflect-pad by image_size / 8, then RandomCrop: the CIFAR recipe)")
    hflip: float = flag(0.0, 'horizontal flip probability', between(0, 1))
    auto_augment: str | None = flag(None, 'timm auto-augment policy, e.g. rand-m9-mstd0.5-inc1')
    color_jitter: float | None = None
    re_prob: float = flag(0.0, 'random erasing probability', between(0, 1))
    mean: tuple = (0.2, 0.2, 0.2)
    std: tuple = (0.5, 0.5, 0.5)
    interpolation: str = "bilinear"
    mixup: float = flag(0.0, 'Mixup alpha (0: off)', between(0, 100))
    cutmix: float = flag(0.0, 'CutMix alpha (0: off)', between(0, 100))
    mixup_switch_prob: float = 0.5
    label_smoothing: float = flag(0.0, 'label smoothing', between(0, 1, open_high=True, why='1 erases the labels'))
    drop_path: float = flag(0.0, 'stochastic depth rate', between(0, 1, open_high=True, why='1 drops every block'))
    layer_decay: float = flag(0.0, "layer-wise learning-rate decay for ViT fine-tuning (timm), e.g. 0.75 (0: off)",
                              between(0, 1))
    label_noise: float = dataclasses.field(default=0.0, metadata={"within": between(0, 1)})
    seed: int = dataclasses.field(default=0, metadata={"within": SEEDS})
    workers: int = flag(0, 'DataLoader worker processes (0: the training process loads its own images)', at_least(0))
    threads: int = flag(0, "torch CPU threads (0: torch's default; 1 is fastest when other jobs share the cores)",
                        at_least(0, why="0: torch's default"))
    device: str = "auto"                  # auto: cuda when available, else cpu
    render_device: str = flag("cpu", "where --params images are rendered: cpu (DataLoader workers) or cuda "
                                     "(on the training GPU, fdsl.data.device_batches)")
    amp: bool = True                      # bf16 autocast on CUDA (ignored on CPU)
    channels_last: bool = True            # CUDA: training and evaluation; CPU: evaluation only, on a copy
    small_convs: str = flag("matmul", "CPU float32 convolutions with at most 4 output pixels (a ResNet's last "
                                      "stages at 32 px): 'matmul' (unfold + one matrix product; resnet10t trains "
                                      "1.5x faster) or 'onednn' (torch's kernel); equal to rounding")
    log_every: int = 20                   # steps between JSONL loss records
    tensorboard: bool = False             # also TensorBoard event files in RUN/tensorboard (rebuilt from metrics.jsonl)
    checkpoint_every: int = flag(0, "also checkpoint every N steps inside an epoch (0: epoch ends only)",
                                at_least(0, why="0: epoch ends only"))
    eval_every: int = flag(1, 'epochs between evaluations (the last epoch is always evaluated)', at_least(1))

    def validate(self) -> None:
        check_fields(self)  # every declared range, as the command line checked it
        if self.warmup_epochs > self.epochs:
            raise FdslError(f"--warmup-epochs must be between 0 and {self.epochs} (--epochs), got {self.warmup_epochs}")
        if self.device != "auto":
            resolve_torch_device(self.device)
        if self.train_crop not in TRAIN_CROPS:
            raise FdslError(f"--train-crop must be one of {', '.join(TRAIN_CROPS)}, got {self.train_crop}")
        if self.small_convs not in SMALL_CONVS:
            raise FdslError(f"--small-convs must be one of {', '.join(SMALL_CONVS)}, got {self.small_convs}")
        check_timm_names(self)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


# timm keeps no list of its schedule names (create_scheduler_v2 is an if/elif chain): these are only the
# suggestions for a typo; whether a name works is decided by timm itself (check_timm_names).
SCHEDULE_NAMES = ("cosine", "tanh", "step", "constant", "multistep", "poly", "wsd", "rsqrt")
AUTO_AUGMENT_EXAMPLES = ("rand-m9-mstd0.5-inc1", "rand-m9-mstd0.5", "augmix-m5-w4-d2", "original", "originalr", "v0",
                         "v0r", "3a")


COMMON_OPTIMISERS = ("sgd", "adamw", "adam", "lamb", "lion", "rmsprop")


def unknown_name(flag: str, value: str, names, what: str, common=None) -> FdslError:
    """One line: the unknown name, timm's close matches (difflib), else a few of timm's names."""
    names = list(names)
    close = difflib.get_close_matches(str(value).lower(), names, n=4, cutoff=0.5)
    shown = [n for n in (common or names) if n in names][:8]
    hint = f"did you mean {', '.join(close)}?" if close else f"{what} include {', '.join(shown)}"
    return FdslError(f"unknown {flag} '{value}': {hint}")


def check_timm_names(config: "TrainConfig") -> None:
    """Optimiser, schedule, augmentation policy and model, checked by timm now rather than after the data is built
    (timm would otherwise fail mid-setup with its own traceback)."""
    import timm.optim
    import torch

    opt = config.opt.lower()
    base = opt[len("lookahead_"):] if opt.startswith("lookahead_") else opt
    try:
        timm.optim.get_optimizer_info(base)
    except ValueError:
        raise unknown_name("--opt", config.opt, timm.optim.list_optimizers(), "timm's optimisers",
                           COMMON_OPTIMISERS) from None
    from timm.scheduler import create_scheduler_v2

    if config.sched == "none":  # timm's 'none' gives no scheduler object at all
        raise FdslError("--sched none: use --sched constant for a fixed learning rate")
    probe = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    try:  # the same call as the engine's, on a dummy optimiser: timm itself says whether the name works
        create_scheduler_v2(probe, sched=config.sched, num_epochs=max(config.epochs, 1), step_on_epochs=False,
                            updates_per_epoch=1)
    except ValueError:
        raise unknown_name("--sched", config.sched, SCHEDULE_NAMES, "timm's schedules") from None
    except (TypeError, AssertionError) as exc:  # e.g. plateau, which steps per epoch on a metric
        raise FdslError(f"--sched {config.sched} cannot be used here (timm: {str(exc).splitlines()[0]}); fdsl "
                        f"updates the schedule every step: use one of {', '.join(SCHEDULE_NAMES)}") from None
    if config.auto_augment:
        from timm.data import create_transform

        try:
            create_transform(32, is_training=True, auto_augment=config.auto_augment)
        except Exception:  # timm asserts, raises ValueError or KeyError, depending on which part is wrong
            raise unknown_name("--auto-augment", config.auto_augment, AUTO_AUGMENT_EXAMPLES,
                               "timm's policies") from None
    from fdsl.train.model import check_name  # model names are the model module's; it imports nothing of recipes

    check_name(config.model)


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

# SegRCDB's mmsegmentation configs (reference-algorithms.md 6): AdamW 6e-4, weight decay 0.01, poly (power 1)
# with a warm-up, flips; fine-tuning AdamW 5e-4.  Sizes and lengths are for a CPU; override them for a GPU.
SEGMENTATION = {
    "pretrain": dict(opt="adamw", lr=6e-4, weight_decay=0.01, sched="poly", decay_rate=1.0, warmup_epochs=1,
                     warmup_lr=1e-6, min_lr=0.0, epochs=30, batch_size=16, image_size=128, hflip=0.5,
                     mean=IMAGENET_MEAN, std=IMAGENET_STD, model="resnet18"),
    "finetune": dict(opt="adamw", lr=5e-4, weight_decay=0.01, sched="poly", decay_rate=1.0, warmup_epochs=1,
                     warmup_lr=1e-6, min_lr=0.0, epochs=30, batch_size=16, image_size=128, hflip=0.5,
                     mean=IMAGENET_MEAN, std=IMAGENET_STD, model="resnet18"),
}

RECIPES = {"resnet-sgd": RESNET_SGD, "deit": DEIT, "vit-small": VIT_SMALL, "segmentation": SEGMENTATION}
# Learning rates these recipes scale linearly with batch / 512.
SCALED_LR = {"deit"}


def fitted_warmup(name: str, stage: str, warmup: float, epochs: int) -> float:
    """The recipe's warm-up, or its share of the recipe's own epochs when it would fill more than half the run.

    A recipe's warm-up is written for its own length (DeiT: 5 of 300 epochs); a 1-epoch run keeps the share
    (1/60 of an epoch) instead of being refused for a warm-up longer than itself.  Said in one line.
    """
    if warmup <= epochs / 2:
        return warmup
    share = warmup / RECIPES[name][stage]["epochs"]
    fitted = round(min(share * epochs, epochs / 2), 4)
    from fdsl.core.notes import note

    note(f"recipe {name}'s {warmup:g} warm-up epochs fitted to {fitted:g} for a {epochs}-epoch run (the recipe's "
         f"share, {warmup:g}/{RECIPES[name][stage]['epochs']}); --warmup-epochs sets it")
    return fitted


def recipe_config(name: str, stage: str, overrides: dict) -> TrainConfig:
    """The recipe's values for ``stage``, then every non-None override on top."""
    if name not in RECIPES:
        raise FdslError(f"unknown recipe '{name}'; choose one of: {', '.join(sorted(RECIPES))}")
    values = dict(RECIPES[name][stage])
    given = {k: v for k, v in overrides.items() if v is not None}
    values.update(given)
    if name in SCALED_LR and "lr" not in given:
        values["lr"] = values["lr"] * values["batch_size"] / 512
    if "warmup_epochs" not in given and values.get("warmup_epochs"):
        values["warmup_epochs"] = fitted_warmup(name, stage, values["warmup_epochs"], values["epochs"])
    known = {f.name for f in dataclasses.fields(TrainConfig)}
    config = TrainConfig(**{k: v for k, v in values.items() if k in known})
    config.validate()
    return config
