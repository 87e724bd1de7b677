"""One epoch of training and one pass of evaluation: the two loops every task shares (timm's train.py shape)."""

from __future__ import annotations

from torchvision.datasets.vision import StandardTransform

import dataclasses

import numpy as np
import torch

from fdsl.data.formula import Keyed, seeded
from fdsl.core.errors import FdslError
from fdsl.core.progress import bar
from fdsl.core.seeding import rng_for
from fdsl.train import augment, logs
from fdsl.train.context import Context, batches, evaluation_network, forward_mode, loader, to_device
from fdsl.train.recipes import TrainConfig


@dataclasses.dataclass
class Training:
    """What changes while training: the model (and its DDP wrapper), optimiser, schedule and position."""

    model: torch.nn.Module
    net: torch.nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: object
    criterion: torch.nn.Module
    mixing: object | None
    steps_per_epoch: int
    step: int = 0
    epoch_loss: list = dataclasses.field(default_factory=lambda: [0.0, 0])


def train_one_epoch(run: Training, batches_of_epoch, epoch: int, config: TrainConfig, ctx: Context, folder,
                    on_step=None, progress: bool = True) -> bool:
    """Train on the epoch's batches from ``run.step`` on; False when ``on_step`` asked to stop (a simulated kill).

    ``on_step(step, at_epoch_end)`` runs after every step (mid-epoch checkpoints) and returns True to stop.
    """
    window = [0.0, 0]
    done_in_epoch = run.step - epoch * run.steps_per_epoch
    meter = bar(total=run.steps_per_epoch, initial=done_in_epoch, desc=f"epoch {epoch + 1}/{config.epochs}",
                enabled=progress and ctx.main)
    try:
        for images, targets in batches(batches_of_epoch):
            run.scheduler.step_update(run.step)
            images, targets = to_device(images, targets, config, ctx)
            seed_step(int(rng_for(config.seed, "step", run.step).integers(2**62)), ctx)  # dropout, drop-path
            if run.mixing is not None:
                with seeded([config.seed, 0x313, run.step]):
                    images, targets = run.mixing(images, targets)
            with forward_mode(config, ctx):
                loss = run.criterion(run.net(images), targets)
            if not torch.isfinite(loss):
                raise FdslError(f"training diverged at step {run.step} (loss {loss.item()}); lower --lr")
            run.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            run.optimizer.step()
            run.step += 1
            value = loss.item()
            run.epoch_loss = [run.epoch_loss[0] + value, run.epoch_loss[1] + 1]
            meter.update(1)
            meter.set_postfix(loss=f"{value:.3f}", lr=f"{run.optimizer.param_groups[0]['lr']:.2g}")
            window = [window[0] + value, window[1] + 1]
            if ctx.main and (run.step % config.log_every == 0 or run.step == 1):
                # The mean over the steps since the last record: single-batch losses are too noisy to plot.
                logs.append(folder, {"kind": "step", "step": run.step, "epoch": epoch + 1, "loss": window[0] / window[1],
                                     "lr": run.optimizer.param_groups[0]["lr"]})
                window = [0.0, 0]
            if on_step is not None and on_step(run.step, run.step % run.steps_per_epoch == 0):
                return False
    finally:
        meter.close()
    return True


def seed_step(seed: int, ctx: Context) -> None:
    """What torch.manual_seed does for the generators a step on ``ctx.device`` draws from, without its
    every-backend wrapper (0.15-3 ms a call in torch 2.14, once per step)."""
    torch.default_generator.manual_seed(seed)
    if ctx.device.type == "cuda":
        torch.cuda.manual_seed_all(seed)


def evaluation_batches(model, dataset, eval_transforms, config: TrainConfig, ctx: Context, progress: bool = False,
                       limit: int | None = None, desc: str = "eval"):
    """(logits, targets) on the device for this rank's share of ``dataset`` (or of a fixed sample of ``limit``
    items), the model in eval mode meanwhile: the one evaluation pass every task's ``validate`` scores."""
    indices = np.arange(len(dataset))
    if limit is not None and limit < len(dataset):
        indices = np.sort(rng_for(config.seed, "fit-sample").choice(len(dataset), size=limit, replace=False))
    mine = [(0, int(i)) for i in indices[ctx.rank::ctx.world]]
    keyed = Keyed(dataset, seed=config.seed, transforms=eval_transforms)  # (image, target) -> (tensor, target)
    was_training = model.training
    model.eval()
    network, layout = evaluation_network(model, config, ctx)
    data = loader(keyed, mine, config, max(1, config.batch_size), False, ctx)
    meter = bar(total=len(data), desc=desc, enabled=progress and ctx.main)
    try:
        for images, targets in batches(data):
            meter.update(1)
            images, targets = to_device(images, targets, config, ctx)
            with forward_mode(config, ctx, layout):
                logits = network(images.contiguous(memory_format=layout)).float()
            yield logits, targets
    finally:
        meter.close()
        model.train(was_training)


@torch.inference_mode()
def validate(model, dataset, config: TrainConfig, ctx: Context, progress: bool = False, limit: int | None = None,
             desc: str = "eval") -> dict:
    """Top-1/top-5 (%) and mean loss over ``dataset`` (or a fixed sample of ``limit`` items), summed over ranks.

    Multi-label targets (multi-instance pre-training): top-k counts an image when one of the k
    highest-scoring classes is present in it; the loss is the binary cross-entropy summed over classes.
    """
    top1 = top5 = loss_sum = count = 0.0
    for logits, targets in evaluation_batches(model, dataset, StandardTransform(augment.eval_transform(config)),
                                              config, ctx, progress, limit, desc):
        ranked = logits.topk(min(5, logits.shape[1]), dim=1).indices
        if targets.ndim == 2:
            loss_sum += torch.nn.functional.binary_cross_entropy_with_logits(
                logits, targets, reduction="none").sum().item()
            hits = targets.gather(1, ranked) > 0
            top1 += hits[:, 0].sum().item()
            top5 += hits.any(dim=1).sum().item()
        else:
            loss_sum += torch.nn.functional.cross_entropy(logits, targets, reduction="sum").item()
            top1 += (ranked[:, 0] == targets).sum().item()
            top5 += (ranked == targets[:, None]).any(dim=1).sum().item()
        count += len(targets)
    top1, top5, loss_sum, count = ctx.sum([top1, top5, loss_sum, count])
    if count == 0:
        raise FdslError("the evaluation set is empty")
    return {"top1": 100 * top1 / count, "top5": 100 * top5 / count, "loss": loss_sum / count, "count": int(count)}
