"""What timm and the Hugging Face Hub read beside the weights: ``config.json`` and the safetensors header.

A classification run folder is a timm local model folder: ``timm.create_model("local-dir:RUN")`` builds
the architecture with the run's arguments and loads ``model.safetensors``, and its ``pretrained_cfg``
holds the input size, normalisation and crop the run trained with, so ``timm.data.resolve_data_config``
gives the run's own transform (32 px for a 32-px model, not the architecture's 224).
"""

from __future__ import annotations

import json

CONFIG = "config.json"
# From the architecture's own pretrained_cfg: what timm needs to re-head or re-channel the weights.
_ARCHITECTURE_KEYS = ("classifier", "first_conv")


def pretrained_cfg(model, config) -> dict:
    """timm's pretrained_cfg for this run's weights (``config``: its TrainConfig)."""
    base = dict(getattr(model, "pretrained_cfg", None) or {})
    return {**{k: base[k] for k in _ARCHITECTURE_KEYS if base.get(k)},
            "input_size": [3, config.image_size, config.image_size], "fixed_input_size": bool(base.get(
                "fixed_input_size", False)), "mean": list(config.mean), "std": list(config.std),
            "crop_pct": config.crop_pct, "interpolation": config.interpolation}


def timm_config(meta: dict) -> bytes | None:
    """``config.json`` of a classification run (None for other tasks: their models are not timm models)."""
    if meta.get("task", "classification") != "classification" or "pretrained_cfg" not in meta:
        return None
    config = {"architecture": meta["model"], "num_classes": len(meta["classes"]),
              "label_names": [str(c) for c in meta["classes"]], "model_args": meta.get("model_kwargs", {}),
              "pretrained_cfg": meta["pretrained_cfg"]}
    return (json.dumps(config, indent=2) + "\n").encode()


def safetensors_metadata(meta: dict) -> dict:
    """The safetensors header's string map: enough to tell where a weights file came from without its sidecar."""
    from fdsl.core.version import __version__

    data = meta.get("data") or {}
    fields = {"format": "pt", "fdsl_version": __version__, "stage": meta.get("stage"), "model": meta.get("model"),
              "preset": meta.get("preset"), "recipe": meta.get("recipe"), "task": meta.get("task", "classification"),
              "formula": data.get("formula") if isinstance(data, dict) else None,
              "classes": str(len(meta.get("classes", []))), "epoch": meta.get("epoch")}
    return {k: str(v) for k, v in fields.items() if v is not None}
