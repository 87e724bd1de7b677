"""Segmentation models: a segmentation-models-pytorch decoder on any timm encoder (smp's ``tu-`` names).

A checkpoint's sidecar records ``model`` (the smp architecture) and
``model_kwargs`` (encoder name, classes, decoder options), so plain smp rebuilds it::

    model = smp.create_model(meta["model"], **meta["model_kwargs"])
    model.load_state_dict(safetensors.torch.load_file("run/model.safetensors"))

``init_encoder`` starts the encoder from an fdsl checkpoint: a classification one
(a timm model: its weights minus the head become the encoder's) or a segmentation
one (encoder and decoder; the class head is kept only when the classes agree).
"""

from __future__ import annotations

from pathlib import Path

import torch

from fdsl.core.errors import FdslError
from fdsl.train import checkpoint
from fdsl.train.model import check_name, load_weights

DECODERS = {"fpn": "FPN", "upernet": "UPerNet", "segformer": "Segformer"}
# Narrower than smp's defaults (256 / 128 channels): the decoders stay small beside a small encoder on a CPU.
DECODER_KWARGS = {"FPN": {"decoder_pyramid_channels": 64, "decoder_segmentation_channels": 32},
                  "UPerNet": {"decoder_channels": 128}, "Segformer": {"decoder_segmentation_channels": 128}}
OUTPUT_STRIDE = 32
ENCODER_PREFIX = "encoder.model."  # where smp's timm-universal encoder keeps the timm model's weights
HEAD_PREFIX = "segmentation_head."


def timm_name(encoder: str) -> str:
    return encoder[3:] if encoder.startswith("tu-") else encoder


def build_kwargs(decoder: str, encoder: str, num_classes: int) -> tuple[str, dict]:
    """(smp architecture, keyword arguments of smp.create_model) for a decoder name and a timm encoder."""
    if decoder.lower() not in DECODERS:
        raise FdslError(f"unknown --decoder '{decoder}'; choose one of: {', '.join(DECODERS)}")
    check_name(timm_name(encoder))
    arch = DECODERS[decoder.lower()]
    return arch, {"encoder_name": f"tu-{timm_name(encoder)}", "encoder_weights": None, "in_channels": 3,
                  "classes": int(num_classes), **DECODER_KWARGS[arch]}


def create(arch: str, seed: int = 0, **kwargs) -> torch.nn.Module:
    import segmentation_models_pytorch as smp

    if kwargs.get("classes", 0) < 2:
        raise FdslError(f"a segmentation model needs at least 2 classes (background and one), got "
                        f"{kwargs.get('classes')}")
    torch.manual_seed(seed)
    try:
        return smp.create_model(arch, **kwargs)
    except (TypeError, ValueError, KeyError, AssertionError, RuntimeError) as exc:
        raise FdslError(f"smp cannot build {arch} on {kwargs.get('encoder_name')}: "
                        f"{str(exc).splitlines()[0][:160]}") from None


def check_image_size(image_size: int) -> None:
    # At 32 px the deepest features are 1x1: the decoders' group norms then fail on a batch of one image.
    if image_size % OUTPUT_STRIDE or image_size < 2 * OUTPUT_STRIDE:
        raise FdslError(f"--image-size {image_size}: segmentation encoders downsample by {OUTPUT_STRIDE}; use a "
                        f"multiple of {OUTPUT_STRIDE} of at least {2 * OUTPUT_STRIDE} "
                        f"(e.g. {max(2 * OUTPUT_STRIDE, image_size // 32 * 32)})")


def init_encoder(model: torch.nn.Module, path: Path, encoder: str) -> dict:
    """Load an fdsl checkpoint into ``model`` (see the module note); returns the parent's description."""
    meta = checkpoint.read_meta(path)
    weights = checkpoint.load_weights(path)
    own = model.state_dict()
    if meta.get("task") == "segmentation":
        source_encoder = meta["model_kwargs"].get("encoder_name")
        if source_encoder != f"tu-{timm_name(encoder)}":
            raise FdslError(f"{path} was trained with encoder {source_encoder}, not tu-{timm_name(encoder)}; use "
                            f"--model {timm_name(source_encoder or '')} or another checkpoint")
        keep = {k: v for k, v in weights.items() if not k.startswith(HEAD_PREFIX)
                or (k in own and own[k].shape == v.shape)}
        start = dict(own, **keep)
    else:
        if meta["model"] != timm_name(encoder):
            raise FdslError(f"{path} is a {meta['model']} classifier; its weights cannot start the encoder "
                            f"tu-{timm_name(encoder)}: use --model {meta['model']} or another checkpoint")
        encoder_keys = [k for k in own if k.startswith(ENCODER_PREFIX)]
        mapped = {k: weights.get(k[len(ENCODER_PREFIX):]) for k in encoder_keys}
        missing = [k[len(ENCODER_PREFIX):] for k, v in mapped.items() if v is None or v.shape != own[k].shape]
        if missing:
            raise FdslError(f"{path} ({meta['model']}) does not match the encoder tu-{timm_name(encoder)}: "
                            f"{len(missing)} tensors missing or of another shape (e.g. {missing[:2]})")
        start = dict(own, **mapped)
    load_weights(model, start, str(path))
    return {"path": str(path), "model": meta["model"], "task": meta.get("task", "classification"),
            "data": meta.get("data"), "epoch": meta.get("epoch"), "metrics": meta.get("metrics")}
