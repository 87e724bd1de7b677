"""The runs a picture compares: a run folder (checkpoint) or a timm model whose pretrained weights are on disk.

Models are rebuilt exactly as a user would, with plain timm + safetensors through
``fdsl.train.checkpoint`` (whose errors are already one line), and put in eval mode on the CPU:
a picture of a small model takes seconds and must not compete with training for a GPU.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import torch

from fdsl.core.errors import FdslError


@dataclass
class Run:
    """One column of a picture: its label, where it came from, the sidecar, and (lazily) its model."""

    label: str
    source: str
    meta: dict
    _model: torch.nn.Module | None = field(default=None, repr=False)

    @property
    def folder(self) -> Path | None:
        return None if self.meta.get("reference") else Path(self.source)

    @property
    def model_name(self) -> str:
        return str(self.meta.get("preset") or self.meta["model"])

    @property
    def config(self) -> dict:
        return self.meta.get("config") or {}

    @property
    def image_size(self) -> int:
        return int(self.config.get("image_size") or 224)

    @property
    def crop_pct(self) -> float:
        return float(self.config.get("crop_pct") or 1.0)

    @property
    def mean(self) -> tuple:
        return tuple(self.config.get("mean") or (0.485, 0.456, 0.406))

    @property
    def std(self) -> tuple:
        return tuple(self.config.get("std") or (0.229, 0.224, 0.225))

    def model(self) -> torch.nn.Module:
        if self._model is None:
            self._model = _build(self)
            self._model.eval()
        return self._model


def load_runs(specs: list, labels: list | None = None, need_model: bool = True) -> list[Run]:
    """Runs from folders (or timm names of cached pretrained models), labelled by ``labels`` or their folder names.

    Every sidecar is read (and, with ``need_model``, every model built) before any picture
    is drawn, so a bad run is reported before anything is computed.
    """
    if not specs:
        raise FdslError("give at least one run folder (written by 'fdsl pretrain' or 'fdsl finetune')")
    if labels and len(labels) != len(specs):
        raise FdslError(f"{len(labels)} --label values for {len(specs)} runs; give one --label per run, or none")
    names = labels or _default_labels(specs)
    runs = [_open(str(spec), str(name), need_model) for spec, name in zip(specs, names)]
    if need_model:
        for run in runs:
            run.model()
    return runs


def _default_labels(specs: list) -> list[str]:
    """The folder names, or the whole paths when two runs share a folder name (runs/a/pre vs runs/b/pre)."""
    short = [Path(str(s)).name or str(s) for s in specs]
    return short if len(set(short)) == len(short) else [str(s) for s in specs]


def _open(spec: str, label: str, need_model: bool) -> Run:
    from fdsl.train import checkpoint

    path = Path(spec)
    if not path.exists() and _is_timm_name(spec):
        return _reference(spec, label)
    if not need_model:  # curves read metrics.jsonl only; the sidecar adds the model's name when present
        if not path.is_dir():
            raise FdslError(f"run folder {spec} not found; give a folder written by 'fdsl pretrain' or 'fdsl finetune'")
        try:
            meta = checkpoint.read_meta(path)
        except FdslError:
            meta = {"model": "?", "classes": [], "model_kwargs": {}}
        return Run(label, spec, meta)
    if path.is_dir() and not (path / checkpoint.SIDECAR).is_file() and not (path / checkpoint.WEIGHTS).is_file():
        raise FdslError(f"{spec} has no model (no {checkpoint.SIDECAR} / {checkpoint.WEIGHTS}); give a run folder "
                        "written by 'fdsl pretrain' or 'fdsl finetune' after its first checkpoint")
    return Run(label, spec, checkpoint.read_meta(path))


def _build(run: Run) -> torch.nn.Module:
    import timm

    from fdsl.train import checkpoint
    from fdsl.train import model as models

    if run.meta.get("reference"):
        return _pretrained(run.source)
    try:
        model = timm.create_model(run.meta["model"], num_classes=len(run.meta["classes"]), **run.meta["model_kwargs"])
    except (TypeError, ValueError, RuntimeError) as exc:
        raise FdslError(f"timm cannot rebuild {run.meta['model']} of {run.source}: "
                        f"{str(exc).splitlines()[0][:100]}") from None
    models.load_weights(model, checkpoint.load_weights(run.source), str(run.source))
    return model


def _is_timm_name(spec: str) -> bool:
    import timm

    return "/" not in spec.rstrip("/") and timm.is_model(spec.split(".")[0])


def _reference(name: str, label: str) -> Run:
    """A natural-image reference: a timm model with its pretrained weights, taken only from the local cache."""
    import timm

    cfg = timm.get_pretrained_cfg(name.split(".")[0])
    size = int(cfg.input_size[-1]) if cfg and cfg.input_size else 224
    config = {"image_size": size, "crop_pct": getattr(cfg, "crop_pct", 0.875) or 0.875,
              "mean": list(getattr(cfg, "mean", (0.485, 0.456, 0.406))),
              "std": list(getattr(cfg, "std", (0.229, 0.224, 0.225)))}
    return Run(label, name, {"model": name, "classes": [], "model_kwargs": {}, "config": config, "reference": True})


def _pretrained(name: str) -> torch.nn.Module:
    import timm

    # Offline on purpose: a picture should never start a download; the weights are used only when already cached.
    previous = os.environ.get("HF_HUB_OFFLINE")
    os.environ["HF_HUB_OFFLINE"] = "1"
    try:
        return timm.create_model(name, pretrained=True)
    except Exception as exc:  # huggingface_hub and timm raise many types for "not cached"
        raise FdslError(f"{name}: its pretrained weights are not on disk ({exc.__class__.__name__}); give a run folder, "
                        "or download the weights once with timm.create_model(name, pretrained=True)") from None
    finally:
        if previous is None:
            os.environ.pop("HF_HUB_OFFLINE", None)
        else:
            os.environ["HF_HUB_OFFLINE"] = previous
