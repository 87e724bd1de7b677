"""``fdsl viz curves``: training loss and accuracy of several runs on one figure (each run's curves.png, together).

Reads only ``metrics.jsonl``, so it also works on a run that is still training or was killed.
"""

from __future__ import annotations

import numpy as np

from fdsl.core.errors import FdslError
from fdsl.viz.figure import Picture, pyplot, title

# Accuracy series a run may log each epoch, and how the legend names them.
SERIES = {"val_top1": "validation", "heldout_top1": "unseen formula images", "fit_top1": "training sample"}


def read_curves(folder) -> dict:
    """{"step", "loss"} per logged step and {"epoch", "train_loss", <series>} per epoch, as arrays."""
    from fdsl.train import logs

    try:
        records = logs.read(folder)
    except (OSError, ValueError):
        raise FdslError(f"{folder}/{logs.METRICS} is unreadable or not JSON lines; the run's log is damaged") from None
    steps = [r for r in records if r.get("kind") == "step"]
    epochs = [r for r in records if r.get("kind") == "epoch"]
    if not steps and not epochs:
        raise FdslError(f"{folder} has no training records ({logs.METRICS} missing or empty); give a run folder "
                        "written by 'fdsl pretrain' or 'fdsl finetune'")
    curves = {"step": np.array([r["step"] for r in steps], dtype=np.int64),
              "loss": np.array([r["loss"] for r in steps], dtype=np.float64),
              "epoch": np.array([r["epoch"] for r in epochs], dtype=np.int64),
              "train_loss": np.array([r.get("train_loss", np.nan) for r in epochs], dtype=np.float64)}
    for key in SERIES:
        if any(key in r for r in epochs):
            curves[key] = np.array([r.get(key, np.nan) for r in epochs], dtype=np.float64)
    return curves


def curves(runs: list) -> Picture:
    """``numbers[label]`` = read_curves(run folder); loss per step (left) and top-1 per epoch (right)."""
    plt = pyplot()
    for run in runs:
        if run.folder is None:
            raise FdslError(f"{run.source} is a timm model, not a run folder; curves read a run's metrics.jsonl")
    numbers = {run.label: read_curves(run.folder) for run in runs}
    figure, (loss_axis, accuracy_axis) = plt.subplots(1, 2, figsize=(10, 3.8))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    styles = {"val_top1": "-", "heldout_top1": "--", "fit_top1": ":"}
    for index, run in enumerate(runs):
        colour, data = colours[index % len(colours)], numbers[run.label]
        if len(data["step"]):
            loss_axis.plot(data["step"], data["loss"], color=colour, lw=1, label=run.label)
        for key, name in SERIES.items():
            if key in data:
                accuracy_axis.plot(data["epoch"], data[key], styles[key], color=colour, marker="o", ms=3,
                                   label=f"{run.label}: {name}")
    loss_axis.set(xlabel="step", ylabel="training loss", title="loss (mean over each logged window)")
    accuracy_axis.set(xlabel="epoch", ylabel="top-1 (%)", title="accuracy per epoch")
    from matplotlib.ticker import MaxNLocator

    accuracy_axis.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole numbers
    for axis in (loss_axis, accuracy_axis):
        axis.grid(alpha=0.3)
        if axis.get_legend_handles_labels()[0]:
            axis.legend(fontsize=7)
    title(figure, f"Training curves of {len(runs)} run{'s' if len(runs) > 1 else ''}")
    figure.tight_layout()
    return Picture(numbers, figure, "training curves")
