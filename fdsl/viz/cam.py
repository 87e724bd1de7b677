"""``fdsl viz cam``: Grad-CAM of CNNs and ViTs on given images, computed by pytorch-grad-cam (``grad-cam``).

The target is each image's predicted class.  The layer is the last stage of a CNN (timm's
``feature_info``) or, for a ViT, the last block's first norm, whose patch tokens are laid back
on their grid (the library's recommended ViT setup): the deepest features that still keep
a spatial layout.
"""

from __future__ import annotations

import numpy as np
import torch

from fdsl.core.errors import FdslError
from fdsl.viz import overlay
from fdsl.viz.figure import Picture, pyplot, title
from fdsl.viz.images import batch
from fdsl.viz.vit import tokens


def target_layer(model: torch.nn.Module) -> tuple[str, torch.nn.Module, object]:
    """(name, layer, reshape_transform or None) that Grad-CAM reads."""
    blocks = getattr(model, "blocks", None)
    if getattr(model, "patch_embed", None) is not None and blocks is not None and hasattr(blocks[-1], "norm1"):
        grid = tokens(model)

        def to_grid(activations: torch.Tensor) -> torch.Tensor:  # (B, tokens, C) -> (B, C, rows, columns)
            patches = activations[:, grid.prefix:, :]
            return patches.reshape(patches.shape[0], grid.rows, grid.columns, -1).permute(0, 3, 1, 2)

        return f"blocks.{len(blocks) - 1}.norm1", blocks[-1].norm1, to_grid
    info = getattr(model, "feature_info", None)
    if info:
        name = info[-1]["module"] if isinstance(info, list) else info.module_name()[-1]
        return name, model.get_submodule(name), None
    convs = [(n, m) for n, m in model.named_modules() if isinstance(m, torch.nn.Conv2d)]
    if not convs:
        raise FdslError(f"{type(model).__name__} has neither convolutions nor ViT blocks; 'cam' cannot place a map")
    return convs[-1][0], convs[-1][1], None


def grad_cam(model: torch.nn.Module, inputs: torch.Tensor) -> tuple[np.ndarray, np.ndarray, str]:
    """(maps (images, H, W) in [0, 1], predicted class per image, layer name)."""
    try:
        from pytorch_grad_cam import GradCAM
    except ImportError:
        raise FdslError("'fdsl viz cam' needs pytorch-grad-cam: pip install 'fdsl[train]' (or grad-cam)") from None
    name, layer, reshape = target_layer(model)
    model.eval()
    with torch.no_grad():
        predicted = model(inputs).argmax(dim=1).numpy()
    with GradCAM(model=model, target_layers=[layer], reshape_transform=reshape) as cam:
        maps = cam(input_tensor=inputs, targets=None)  # None: each image's highest-scoring class
    return np.asarray(maps, dtype=np.float32), predicted, name


def cam(runs: list, images: list, names: list | None = None) -> Picture:
    """``numbers[label]`` = {"cam": (images, H, W), "predicted": (images,), "layer": name}; a column per run."""
    plt = pyplot()
    numbers, crops = {}, {}
    for run in runs:
        inputs, crops[run.label] = batch(images, run)
        maps, predicted, layer = grad_cam(run.model(), inputs)
        numbers[run.label] = {"cam": maps, "predicted": predicted, "layer": layer}
    figure, axes = plt.subplots(len(images), 1 + len(runs), figsize=(2.4 * (1 + len(runs)), 2.2 * len(images) + 0.9),
                                squeeze=False)
    for row in range(len(images)):
        overlay.draw(axes[row][0], crops[runs[0].label][row], None)
        if names:
            axes[row][0].set_ylabel(names[row], fontsize=7)
        for index, run in enumerate(runs):
            axis = axes[row][1 + index]
            entry = numbers[run.label]
            overlay.draw(axis, crops[run.label][row], entry["cam"][row])
            classes = run.meta.get("classes") or []
            guess = int(entry["predicted"][row])
            axis.set_xlabel(f"predicted: {classes[guess] if guess < len(classes) else guess}", fontsize=7)
            if row == 0:
                axis.set_title(f"{run.label}\n{run.model_name}\nlayer {entry['layer']}", fontsize=7)
    axes[0][0].set_title("image", fontsize=7)
    title(figure, "Grad-CAM for the predicted class (pytorch-grad-cam)",
          "red: the regions that raise the predicted class's score most")
    return Picture(numbers, figure, "Grad-CAM")
