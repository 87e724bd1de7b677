"""Is the pre-training task being learned?  One number decides, and a line says so when it is not.

Measured here and in the literature (docs/training.md, "When does pre-training help"): a
pre-training task the network barely learns leaves it *worse* than random weights for
fine-tuning (FractalDB at 2 % on unseen images: -10.6 points on CIFAR-10), while a task it
learns well helps (Perlin at 93 %: +6.9).  So every pre-training run measures accuracy on
formula images it never trained on and warns when that accuracy stays near chance.
"""

from __future__ import annotations

from fdsl.train.learnability import verdict as learnability_verdict
from fdsl.core.notes import plural

# After this many epochs (or at the end of a shorter run) a task still near chance is not being learned.
PATIENCE_EPOCHS = 4


def not_learned_threshold(num_classes: int) -> float:
    """Held-out top-1 (%) below which the task counts as not learned: 3x chance, at least chance + 5 points."""
    chance = 100.0 / max(num_classes, 1)
    return min(max(3 * chance, chance + 5), 50.0)


def pretraining(heldout_top1: float | None, epochs_done: int, epochs: int, num_classes: int,
                learnability: dict | None = None) -> str | None:
    """A one-line warning when held-out accuracy says the task is not being learned, else None.

    With the run's learnability check (fdsl.train.learnability) the line also says whose fault it is:
    the data's (no training-free learner tells the categories apart either) or the model's.
    """
    if heldout_top1 is None or num_classes < 2 or epochs_done < min(PATIENCE_EPOCHS, epochs):
        return None
    chance = 100.0 / num_classes
    if heldout_top1 < not_learned_threshold(num_classes):
        return (f"pre-training accuracy {heldout_top1:.1f} % on unseen formula images after "
                f"{plural(epochs_done, 'epoch')} "
                f"(chance {chance:.1f} %): the task is too hard for this budget; transfer is likely negative"
                + ("; " + learnability_verdict(learnability, not_learned_threshold(num_classes)) if learnability
                   else " (try fewer categories, more epochs, a larger render or the multi-instance task)"))
    return None
