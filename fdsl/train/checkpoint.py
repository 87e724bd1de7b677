"""Checkpoints: weights as safetensors, a JSON sidecar and a resume state, written so a kill loses nothing.

A run folder holds ``model.safetensors`` (a plain timm state dict) and ``model.json``
(model name and keyword arguments, classes, recipe, data fingerprint, epoch, metrics):
what users load.  Resuming uses ``checkpoints/step-NNNNNNNNN/`` folders, each holding the
three files of one step.  A save writes the three files into a hidden temporary folder,
fsyncs them, renames the folder to its final name (the moment the checkpoint becomes
complete), updates the ``checkpoints/LATEST`` pointer, deletes the older checkpoint, and
publishes the weights and sidecar at the top of the run folder.  A kill at any moment
therefore leaves at least one complete checkpoint (or none yet), and ``--resume`` takes the
newest complete one (of a complete run, it finishes what the last save left undone).
Loading a pre-trained model needs only timm and safetensors::

    model = timm.create_model(meta["model"], num_classes=len(meta["classes"]), **meta["model_kwargs"])
    model.load_state_dict(safetensors.torch.load_file("run/model.safetensors"))

A classification run also holds timm's ``config.json`` (fdsl.train.hub_config), so that
``timm.create_model("local-dir:run", pretrained=True)`` does the same in one call.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import sys
from pathlib import Path

import torch

from fdsl.core.errors import FdslError
from fdsl.core.files import PART_SUFFIX, atomic_write_bytes, sync_folder
from fdsl.train import hub_config

WEIGHTS, SIDECAR, STATE = "model.safetensors", "model.json", "state.pt"
CHECKPOINTS, LATEST = "checkpoints", "LATEST"
FORMAT = "fdsl-checkpoint/1"


def weights_bytes(weights: dict, metadata: dict) -> bytes:
    """safetensors bytes whose header is the same whatever the process: safetensors writes the metadata from a
    Rust HashMap, in an order that changes from one process to the next, so two identical runs gave files that
    differ in their first bytes.  The header is re-written with sorted keys (readers look keys up by name; the
    tensor offsets count from the end of the header, so they stay valid), padded to 8 bytes as safetensors does."""
    from safetensors.torch import save as safetensors_bytes

    raw = safetensors_bytes(weights, metadata=metadata)
    length = int.from_bytes(raw[:8], "little")
    header = json.dumps(json.loads(raw[8:8 + length]), sort_keys=True, separators=(",", ":")).encode()
    header += b" " * (-len(header) % 8)
    return len(header).to_bytes(8, "little") + header + raw[8 + length:]


def save(folder: Path, weights: dict, meta: dict, state: dict) -> Path:
    """Write one complete checkpoint of step ``meta['global_step']``; returns its folder."""
    folder = Path(folder)
    root = folder / CHECKPOINTS
    root.mkdir(parents=True, exist_ok=True)
    meta = {"format": FORMAT, **meta}
    name = f"step-{int(meta['global_step']):09d}"
    staging = root / f".{name}.{os.getpid()}.tmp"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    buffer = io.BytesIO()
    torch.save(_canonical(state), buffer)
    _write_synced(staging / WEIGHTS, weights_bytes(weights, hub_config.safetensors_metadata(meta)))
    _write_synced(staging / STATE, buffer.getvalue())
    _write_synced(staging / SIDECAR, _json_bytes(meta))
    timm_config = hub_config.timm_config(meta)
    if timm_config is not None:
        _write_synced(staging / hub_config.CONFIG, timm_config)
    sync_folder(staging)
    final = root / name
    if final.exists():  # the same step saved again (an epoch end right after a mid-epoch save)
        shutil.rmtree(final)
    os.replace(staging, final)
    sync_folder(root)
    settle(folder, final)
    return final


def settle(folder: Path, final: Path) -> None:
    """Everything a save does once checkpoint ``final`` is complete: the pointer, the older checkpoints deleted, the
    weights and sidecar published.  Run again on resuming a complete run, since a kill may have landed in between;
    the sidecar is published last, so a run whose model.json says complete has nothing left to do."""
    root = Path(folder) / CHECKPOINTS
    atomic_write_bytes(root / LATEST, final.name.encode(), durable=True)
    for old in root.iterdir():
        if old.name != final.name and old.name != LATEST and old.is_dir():
            shutil.rmtree(old, ignore_errors=True)  # older checkpoints and temporaries of killed saves
    _publish(folder, final)


def _canonical(value):
    """``value`` with every string interned and every container rebuilt, so that torch.save writes the same bytes
    for equal states: pickle writes a string it has met before as a reference to it, by object identity, and a
    resumed run's optimizer state (unpickled from a checkpoint) holds other string objects than a fresh run's, so
    equal states of a resumed and an uninterrupted run gave different state.pt files."""
    if type(value) is str:
        return sys.intern(value)
    if type(value) is dict:
        return {_canonical(key): _canonical(item) for key, item in value.items()}
    if type(value) in (list, tuple):
        return type(value)(_canonical(item) for item in value)
    return value


def _publish(folder: Path, checkpoint: Path) -> None:
    """The weights and sidecar at the top of the run folder: a hard link (no second copy) renamed into place."""
    # Temporaries of a publish that a kill interrupted (one training process per run folder: none is in use).
    for stale in [*folder.glob(f".{WEIGHTS}.*.tmp"), *folder.glob(f".*{PART_SUFFIX}")]:
        stale.unlink(missing_ok=True)
    link = folder / f".{WEIGHTS}.{os.getpid()}.tmp"
    try:
        os.link(checkpoint / WEIGHTS, link)
    except OSError:  # a filesystem without hard links
        shutil.copyfile(checkpoint / WEIGHTS, link)
    os.replace(link, folder / WEIGHTS)
    link.unlink(missing_ok=True)  # still there when the weights were already this file (rename then does nothing)
    if (checkpoint / hub_config.CONFIG).is_file():
        atomic_write_bytes(folder / hub_config.CONFIG, (checkpoint / hub_config.CONFIG).read_bytes(), durable=True)
    atomic_write_bytes(folder / SIDECAR, (checkpoint / SIDECAR).read_bytes(), durable=True)


def latest(folder: Path) -> Path | None:
    """The newest complete checkpoint folder of a run, or None when no save has completed yet.

    A ``step-*`` folder only ever appears by renaming a staging folder whose files were all
    written and fsynced, so one holding its three files is complete.  ``LATEST`` is not trusted
    over the folders themselves: a kill between the rename and the pointer update leaves it one
    step behind, and a stale pointer may name a folder deleted since.
    """
    root = Path(folder) / CHECKPOINTS
    if not root.is_dir():
        return None
    complete = sorted(p for p in root.glob("step-*") if _complete(p))
    return complete[-1] if complete else None


def _complete(checkpoint: Path) -> bool:
    return checkpoint.is_dir() and all((checkpoint / name).is_file() for name in (WEIGHTS, STATE, SIDECAR))


def _json_bytes(meta: dict) -> bytes:
    return (json.dumps(meta, indent=2, default=_plain) + "\n").encode()


def _write_synced(path: Path, data: bytes) -> None:
    with open(path, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


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
        raise FdslError(f"checkpoint {path} not found; give a run folder written by 'fdsl pretrain' or 'fdsl finetune'")
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


def load_state(checkpoint: Path) -> dict:
    file = Path(checkpoint) / STATE
    try:
        return torch.load(file, map_location="cpu", weights_only=False)
    except Exception as exc:  # torch raises many types for a damaged pickle
        raise FdslError(f"{file} is corrupt ({exc.__class__.__name__}); delete that checkpoint folder to resume "
                        "from the one before, or start over") from None
