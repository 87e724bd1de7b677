"""A JSONL metrics log per run, and the curves PNG drawn from it (or from several runs, to compare)."""

from __future__ import annotations

import json
from pathlib import Path

METRICS = "metrics.jsonl"
METRICS_CSV = "metrics.csv"
CURVES = "curves.png"
# The columns of metrics.csv, one row per epoch (from 1); a value not measured that epoch is left empty.
CSV_COLUMNS = ("epoch", "step", "train_loss", "val_top1", "val_top5", "val_loss", "fit_top1", "heldout_top1",
               "heldout_top5", "heldout_loss", "val_miou", "val_pixel_acc", "heldout_miou", "heldout_pixel_acc",
               "epoch_seconds")


def append(folder: Path, record: dict) -> None:
    with open(Path(folder) / METRICS, "a") as handle:
        handle.write(json.dumps(record) + "\n")


def read(folder: Path) -> list[dict]:
    path = Path(folder) / METRICS
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def truncate_after(folder: Path, step: int) -> None:
    """On resume, drop records written after the checkpoint we restart from."""
    records = [r for r in read(folder) if r.get("step", 0) <= step]
    path = Path(folder) / METRICS
    if path.exists():
        path.write_text("".join(json.dumps(r) + "\n" for r in records))


def write_csv(folder: Path) -> Path:
    """metrics.csv beside metrics.jsonl, for spreadsheets and CSV loggers: rewritten whole from the JSONL, so a
    resumed run's rows are the uninterrupted run's."""
    import csv
    import io

    from fdsl.core.files import atomic_write_bytes

    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for record in read(folder):
        if record.get("kind") == "epoch":
            writer.writerow({key: record.get(key, "") for key in CSV_COLUMNS})
    path = Path(folder) / METRICS_CSV
    atomic_write_bytes(path, buffer.getvalue().encode())
    return path


TENSORBOARD = "tensorboard"


def write_tensorboard(folder: Path) -> Path:
    """TensorBoard event files in RUN/tensorboard, rebuilt whole from metrics.jsonl at every epoch end: a resumed
    run then shows one curve, not the killed run's tail twice.  Scalars: the step losses, and every number of each
    epoch record under its split (val/top1, heldout/loss, ...), indexed by the global step."""
    import shutil

    from torch.utils.tensorboard import SummaryWriter

    out = Path(folder) / TENSORBOARD
    shutil.rmtree(out, ignore_errors=True)
    writer = SummaryWriter(log_dir=str(out))
    try:
        for record in read(folder):
            step = int(record.get("step", 0))
            if record.get("kind") == "step" and "loss" in record:
                writer.add_scalar("train/loss", record["loss"], step)
            elif record.get("kind") == "epoch":
                for key, value in record.items():
                    if key in ("kind", "step") or not isinstance(value, (int, float)):
                        continue
                    split, _, name = key.partition("_")
                    writer.add_scalar(f"{split}/{name}" if name else key, value, step)
    finally:
        writer.close()
    return out


def summary(metrics: dict) -> str:
    """One line for an epoch's metrics: loss, then top-1 of each evaluated split."""
    parts = [f"loss {metrics['train_loss']:.3f}"]
    for prefix, name in (("val", "validation"), ("fit", "training sample"), ("heldout", "unseen formula images")):
        if f"{prefix}_top1" in metrics:
            parts.append(f"{name} top-1 {metrics[f'{prefix}_top1']:.2f}%")
        if f"{prefix}_miou" in metrics:  # segmentation
            parts.append(f"{name} mIoU {metrics[f'{prefix}_miou']:.2f}%, pixel accuracy "
                         f"{metrics[f'{prefix}_pixel_acc']:.2f}%")
    return ", ".join(parts) + f" ({metrics['epoch_seconds']:.0f} s)"


def plot(runs: dict[str, Path], out: Path, title: str = "") -> Path:
    """Training loss per step and validation top-1 per epoch of each named run."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (loss_axis, acc_axis) = plt.subplots(1, 2, figsize=(10, 3.6))
    for label, folder in runs.items():
        records = read(folder)
        steps = [r for r in records if r.get("kind") == "step"]
        epochs = [r for r in records if r.get("kind") == "epoch"]
        if steps:
            loss_axis.plot([r["step"] for r in steps], [r["loss"] for r in steps], label=label, lw=1)
        for key, name in (("val_top1", ""), ("heldout_top1", "unseen formula images"), ("fit_top1", "training sample"),
                          ("val_miou", "mIoU"), ("heldout_miou", "unseen formula images, mIoU")):
            points = [r for r in epochs if key in r]
            if points:
                text = f"{label}: {name}" if name and len(runs) > 1 else (name or label)
                acc_axis.plot([r["epoch"] for r in points], [r[key] for r in points], marker="o", label=text)
    loss_axis.set(xlabel="step", ylabel="training loss", title="loss")
    acc_axis.set(xlabel="epoch", ylabel="top-1 or mIoU (%)", title="accuracy")
    for axis in (loss_axis, acc_axis):
        axis.grid(alpha=0.3)
        if axis.get_legend_handles_labels()[0]:
            axis.legend()
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(out, dpi=110)
    plt.close(figure)
    return Path(out)
