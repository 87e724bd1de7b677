"""``--resume``: continue a run from its newest complete checkpoint, and only if it is the same run.

A run's identity is everything that decides its result: the training settings (except the
few below that only change speed or logging), the data (fingerprints, data seed, render
settings, instances, split), the classes, the model and its starting weights.  Resuming with
any of them changed would train one model on two runs' data and record only the second, so it
is refused with the setting and both values.
"""

from __future__ import annotations

import json
from pathlib import Path

from tqdm import tqdm

from fdsl.core.errors import FdslError
from fdsl.train import checkpoint
from fdsl.train.model import load_weights

# Settings that may change between a run and its resumption without changing its result.
RESUMABLE_CHANGES = {"workers", "threads", "device", "log_every", "checkpoint_every", "eval_every",
                     "tensorboard"}
# Sidecar entries that identify the run beside its settings.
IDENTITY = ("stage", "model", "model_kwargs", "classes", "data", "init", "parent", "freeze", "label_noise")


def restore(folder: Path, run, config, sidecar: dict, main: bool) -> dict | None:
    """Load the newest complete checkpoint into ``run`` (a loop.Training); its sidecar, or None to start afresh."""
    found = checkpoint.latest(folder)
    if found is None:
        if (Path(folder) / checkpoint.STATE).is_file():
            raise FdslError(f"{folder} was written by an older fdsl (a top-level {checkpoint.STATE}); it cannot be "
                            "resumed: start a new --out")
        if main:
            tqdm.write(f"--resume: {folder} holds no complete checkpoint yet; starting from the beginning")
        return None
    saved = checkpoint.read_meta(found)
    state = checkpoint.load_state(found)
    check_same_run(saved, state["config"], config.to_dict(), sidecar)
    load_weights(run.model, checkpoint.load_weights(found), str(found))
    run.optimizer.load_state_dict(state["optimizer"])
    run.step, run.epoch_loss = int(state["global_step"]), list(state["epoch_loss"])
    return saved


# What a run saved before the setting existed did, where that is not the setting's default.
BEFORE_THE_SETTING = {"small_convs": "onednn"}  # 2026-12-07: tiny-map convolutions became matmuls on the CPU


def saved_setting(saved_config: dict, key: str, config_type=None):
    """A saved run's value of ``key``; for a setting newer than the run, what the run did: the behaviour before
    the setting existed where that is not its default, else the default."""
    if key in saved_config:
        return _plain(saved_config[key])
    if key in BEFORE_THE_SETTING:
        return BEFORE_THE_SETTING[key]
    if config_type is None:
        from fdsl.train.recipes import TrainConfig as config_type
    return _plain(config_type().to_dict().get(key))


def check_same_run(saved: dict, saved_config: dict, config: dict, sidecar: dict) -> None:
    for key, value in config.items():
        old = saved_setting(saved_config, key)
        if key not in RESUMABLE_CHANGES and old != _plain(value):
            flag = "--" + key.replace("_", "-")
            hint = " (the schedule was fixed by it: fine-tune from this run into a new --out to train longer)" \
                if key == "epochs" else ""
            raise FdslError(f"--resume with another {flag}: the run used {_short(old)}, this command gives "
                            f"{_short(value)}{hint}; use the original value or a new --out")
    for key in IDENTITY:
        difference = _first_difference(saved.get(key), _plain(sidecar.get(key)), key)
        if difference:
            where, old, new = difference
            raise FdslError(f"--resume with another {_setting(where)}: the run used {_short(old)}, this command "
                            f"gives {_short(new)}; use the original data and start, or a new --out")


# Sidecar entries by the option that sets them, so the refusal names what the user typed.
_SETTINGS = {"data.seed": "--data-seed", "data.instances": "--instances", "data.params": "--params",
             "data.path": "--images", "data.formula": "--formula", "data.train": "--data", "data.val": "validation "
             "split (--val, --val-fraction, --split-seed)", "data.train_images": "--train-images",
             "data.max_classes": "--max-classes", "data.repeat": "--repeat", "data.render_once": "--render-once",
             "data.heldout": "held-out split (--data-seed, --heldout-per-category)", "init": "start (--checkpoint "
             "or --scratch)", "freeze": "--freeze", "model": "--model", "classes": "classes (the data's class folders)"}


def _setting(where: str) -> str:
    if where.startswith("data.render."):
        return f"render setting (--render {where.split('.')[-1]})"
    if where.startswith("parent"):
        return "pre-trained start (--checkpoint)"
    if where.startswith("data.composite"):
        return "multi-instance setting (--task, --objects, --colourise)"
    name = _SETTINGS.get(where, where)
    return name if name.startswith("--") or " " in name else f"'{name}'"


def _first_difference(old, new, where: str):
    """The first differing leaf: a path first (what the user typed), content fingerprints, sizes and a parent
    run's results last, since they follow from the settings and a user recognises a setting, not a hash."""
    if isinstance(old, dict) and isinstance(new, dict):
        derived = ("fingerprint", "size", "train_size", "val_size", "val_fingerprint", "metrics", "epoch")
        for key in sorted(set(old) | set(new), key=lambda k: (0 if k == "path" else 2 if str(k) in derived else 1,
                                                                str(k))):
            found = _first_difference(old.get(key), new.get(key), f"{where}.{key}")
            if found:
                return found
        return None
    return None if old == new else (where, old, new)


def _plain(value):
    """JSON round trip: tuples become lists and paths strings, as in the saved sidecar."""
    return json.loads(json.dumps(value, default=str))


def _short(value) -> str:
    text = json.dumps(value, default=str) if not isinstance(value, str) else value
    if len(text) <= 60:
        return text
    return "..." + text[-57:] if isinstance(value, str) and "/" in value else text[:57] + "..."  # a path's end tells
