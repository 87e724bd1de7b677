"""Can the categories be told apart at all?  Learners that train nothing, on images training never sees.

A pre-training run that stays near chance on unseen formula images has two possible causes: the data
(categories that look alike at the resolution the model sees) or the model and recipe (a small ViT with
4-px patches did not leave chance on FractalDB images that a pixel nearest-neighbour classifier tells
apart 81 % of the time, ../shared/docs/evidence.md).  Two cheap baselines, measured on the exact view the
model is evaluated on (the run's evaluation transform), separate the two:

- **pixel 1-NN**: each unseen image takes the label of its nearest reference image in pixel space;
- **random-feature probe**: the run's own model with its random initial weights as a fixed feature
  extractor, and a ridge-regression classifier on the pooled features (its penalty chosen on a split of the
  reference images, never on the unseen ones).

Neither learns a filter, so a task either of them solves is learnable by construction; a model that then
stays near chance is the model's problem, not the data's.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from fdsl.core.errors import FdslError

REFERENCE_PER_CATEGORY = 100    # reference images per category the unseen ones are compared with
RIDGE_PENALTIES = (1e-3, 1e-2, 1e-1, 1.0, 10.0)  # times the mean feature variance x reference count
BATCH = 256


@dataclasses.dataclass
class Learnability:
    """Top-1 (%) of the training-free learners on unseen images, and what they were measured on."""

    chance: float
    pixel_knn: float
    random_features: float | None
    reference_images: int
    unseen_images: int
    image_size: int

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def summary(self) -> str:
        probe = "" if self.random_features is None else f", random-feature probe {self.random_features:.1f} %"
        return (f"learnability at {self.image_size} px: pixel 1-NN {self.pixel_knn:.1f} %{probe} on "
                f"{self.unseen_images} unseen images (chance {self.chance:.1f} %)")

    @property
    def best(self) -> float:
        return max(self.pixel_knn, self.random_features or 0.0)


def measure(reference, unseen, transform, image_size: int, model: torch.nn.Module | None = None,
            per_category: int = REFERENCE_PER_CATEGORY, progress: bool = True) -> Learnability:
    """Pixel 1-NN (and, given ``model``, a random-feature probe) top-1 on ``unseen``, with up to
    ``per_category`` images of each category of ``reference`` as the labelled side.

    Both datasets yield (PIL image, integer label); ``transform`` turns an image into the tensor the model
    is evaluated on.  Reference images are drawn at random (a fixed seed) within each category: an even spread
    would alias with a family's periodic instance order (FractalDB's image 4k+v is flip v of a draw, so every
    4th image is the same flip) and compare unseen images with references of one flip only.
    """
    if per_category < 1:
        raise FdslError(f"--reference-per-category must be at least 1, got {per_category}")
    chosen = _random_per_category(_targets(reference), per_category)
    if len(unseen) == 0 or len(chosen) == 0:
        raise FdslError("the learnability check needs reference and unseen images; both sides are empty here")
    ref_x, ref_y = _tensors(reference, chosen, transform, progress, "learnability: reference")
    test_x, test_y = _tensors(unseen, np.arange(len(unseen)), transform, progress, "learnability: unseen")
    num_classes = int(max(ref_y.max(), test_y.max())) + 1
    knn = _top1(_nearest_labels(ref_x.flatten(1), test_x.flatten(1), ref_y), test_y)
    probe = None
    if model is not None:
        ref_f, test_f = _features(model, ref_x), _features(model, test_x)
        probe = _top1(_ridge_predict(ref_f, ref_y, test_f, num_classes), test_y)
    return Learnability(chance=100.0 / num_classes, pixel_knn=knn, random_features=probe,
                        reference_images=len(chosen), unseen_images=len(unseen), image_size=image_size)


def verdict(learnability: dict, threshold: float) -> str:
    """What a pretext accuracy below ``threshold`` means next to the training-free learners."""
    best = max(learnability["pixel_knn"], learnability.get("random_features") or 0.0)
    if best >= threshold:
        return (f"the data is learnable (a learner that trains nothing reaches {best:.1f} % on unseen images): "
                "this model or recipe is not learning it (try a CNN such as resnet10t with --recipe resnet-sgd, "
                "a higher learning rate or more epochs)")
    return (f"the data itself is hard to tell apart at this resolution (best training-free learner "
            f"{best:.1f} %): render larger and show the whole shape (--view-size), or use fewer categories")


def _targets(dataset) -> np.ndarray:
    targets = getattr(dataset, "targets", None)
    if targets is None:
        raise FdslError("the learnability check needs a dataset with one integer label per image")
    targets = np.asarray(targets)
    if targets.ndim != 1 or not np.issubdtype(targets.dtype, np.integer):
        raise FdslError("the learnability check measures single-label tasks; this dataset has several labels "
                        "per image (--task multi-instance)")
    return targets


def _random_per_category(targets: np.ndarray, per_category: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    picks = []
    for label in np.unique(targets):
        members = np.flatnonzero(targets == label)
        picks.append(rng.choice(members, size=min(per_category, len(members)), replace=False))
    return np.sort(np.concatenate(picks)) if picks else np.zeros(0, dtype=np.int64)


def _tensors(dataset, indices: np.ndarray, transform, progress: bool, desc: str):
    from fdsl.core.progress import bar

    images, labels = [], []
    meter = bar(len(indices), desc, enabled=progress)  # a plain line now and then in a log file, not \r fragments
    for index in indices:
        image, label = dataset[int(index)]
        meter.update(1)
        if not isinstance(label, (int, np.integer)):
            raise FdslError("the learnability check measures single-label tasks; this dataset has several "
                            "labels per image (--task multi-instance)")
        images.append(transform(image))
        labels.append(int(label))
    meter.close()
    return torch.stack(images).float(), torch.tensor(labels, dtype=torch.int64)


def _nearest_labels(reference: torch.Tensor, queries: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    out = []
    for start in range(0, len(queries), BATCH):
        distances = torch.cdist(queries[start:start + BATCH], reference)
        out.append(labels[distances.argmin(dim=1)])
    return torch.cat(out)


@torch.inference_mode()
def _features(model: torch.nn.Module, images: torch.Tensor) -> torch.Tensor:
    """Pooled pre-logit features of the model as initialised (timm's forward_head(pre_logits=True))."""
    was_training = model.training
    model.eval()
    try:
        parts = [model.forward_head(model.forward_features(images[i:i + BATCH]), pre_logits=True).flatten(1)
                 for i in range(0, len(images), BATCH)]
    finally:
        model.train(was_training)
    return torch.cat(parts).double()


def _ridge_predict(train_f: torch.Tensor, train_y: torch.Tensor, test_f: torch.Tensor, num_classes: int):
    """Ridge regression to one-hot targets; the penalty is chosen on every 5th reference image held back."""
    mean, std = train_f.mean(0), train_f.std(0).clamp_min(1e-8)
    train_f, test_f = (train_f - mean) / std, (test_f - mean) / std
    back = torch.zeros(len(train_f), dtype=torch.bool)
    back[::5] = True
    if back.all() or not back.any():
        back[:] = False
    best_penalty, best_score = RIDGE_PENALTIES[0], -1.0
    if back.any():
        for penalty in RIDGE_PENALTIES:
            weights = _ridge(train_f[~back], train_y[~back], num_classes, penalty)
            score = _top1(_logits(train_f[back], weights).argmax(1), train_y[back])
            if score > best_score:
                best_penalty, best_score = penalty, score
    return _logits(test_f, _ridge(train_f, train_y, num_classes, best_penalty)).argmax(1)


def _ridge(features: torch.Tensor, labels: torch.Tensor, num_classes: int, penalty: float) -> torch.Tensor:
    x = torch.cat([features, torch.ones(len(features), 1, dtype=features.dtype)], dim=1)
    y = torch.nn.functional.one_hot(labels, num_classes).to(features.dtype)
    gram = x.T @ x
    gram += penalty * len(x) * torch.eye(len(gram), dtype=gram.dtype)
    return torch.linalg.solve(gram, x.T @ y)


def _logits(features: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    return torch.cat([features, torch.ones(len(features), 1, dtype=features.dtype)], dim=1) @ weights


def _top1(predicted: torch.Tensor, labels: torch.Tensor) -> float:
    return 100.0 * float((predicted == labels).double().mean()) if len(labels) else 0.0
