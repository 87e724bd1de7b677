"""Checkpoints: weights as safetensors, a JSON sidecar, and a resume state.

A run folder holds ``model.safetensors`` (a plain timm state dict),
``model.json`` (model name and keyword arguments, classes, recipe, data
fingerprint, epoch, metrics) and ``state.pt`` (optimiser and position, for
``--resume``).  Each file is written under a temporary name then renamed; the
sidecar goes last and names the step it describes, so a run killed in the middle
of a save is detected rather than half-loaded.  Loading a pre-trained model
needs only timm and safetensors::

    model = timm.create_model(meta["model"], num_classes=len(meta["classes"]), **meta["model_kwargs"])
    model.load_state_dict(safetensors.torch.load_file("run/model.safetensors"))
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import torch

from fdsl.errors import FdslError
from fdsl.fileio import atomic_write_bytes

WEIGHTS, SIDECAR, STATE = "model.safetensors", "model.json", "state.pt"
FORMAT = "fdsl-checkpoint/1"


def save(folder: Path, weights: dict, meta: dict, state: dict | None) -> None:
    from safetensors.torch import save as safetensors_bytes

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(folder / WEIGHTS, safetensors_bytes(weights, metadata={"format": "pt"}))
    if state is not None:
        buffer = io.BytesIO()
        torch.save(state, buffer)
        atomic_write_bytes(folder / STATE, buffer.getvalue())
    meta = {"format": FORMAT, **meta}
    atomic_write_bytes(folder / SIDECAR, (json.dumps(meta, indent=2, default=_plain) + "\n").encode())


def _plain(value):
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(f"not JSON: {type(value).__name__}")


def _folder(path: Path) -> Path:
    path = Path(path)
    if path.is_file() and path.name in (WEIGHTS, SIDECAR):
        return path.parent
    return path


def read_meta(path: Path) -> dict:
    folder = _folder(path)
    sidecar = folder / SIDECAR
    if not folder.exists():
        raise FdslError(f"checkpoint {path} not found; give the folder written by 'fdsl pretrain' (or --scratch)")
    if not sidecar.is_file():
        raise FdslError(f"{folder} has no {SIDECAR}: not an fdsl checkpoint folder (or its run never saved)")
    try:
        meta = json.loads(sidecar.read_text())
    except (OSError, ValueError):
        raise FdslError(f"{sidecar} is unreadable or not JSON; the checkpoint is corrupt") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise FdslError(f"{sidecar} is not an {FORMAT} sidecar")
    for key in ("model", "classes", "model_kwargs"):
        if key not in meta:
            raise FdslError(f"{sidecar} lacks '{key}'; the checkpoint is corrupt")
    return meta


def load_weights(path: Path) -> dict:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    file = _folder(path) / WEIGHTS
    if not file.is_file():
        raise FdslError(f"{file} not found; the checkpoint folder is incomplete")
    try:
        return load_file(str(file))
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise FdslError(f"{file} is corrupt or truncated ({str(exc).splitlines()[0][:80]}); "
                        "re-run the training that wrote it") from None


def load_state(path: Path) -> dict | None:
    file = _folder(path) / STATE
    if not file.is_file():
        return None
    try:
        return torch.load(file, map_location="cpu", weights_only=False)
    except Exception as exc:  # torch raises many types for a damaged pickle
        raise FdslError(f"{file} is corrupt ({exc.__class__.__name__}); delete the run folder to start over") from None
