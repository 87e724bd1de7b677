"""``fdsl viz attention``: where a ViT looks on given images: last-layer attention and attention rollout.

*Last layer*: the class token's attention to each patch, averaged over heads.  A model without a
class token (fdsl's small-ViT presets pool the patch tokens) has no such row, so the map is the
attention each patch receives, averaged over all query patches and heads; the figure says which.
*Rollout* (Abnar & Zuidema, 2020): each layer's head-averaged attention plus the identity for the
residual path, rows renormalised, multiplied through the layers; read the same way.
"""

from __future__ import annotations

import numpy as np

from fdsl.viz import overlay
from fdsl.viz.figure import Picture, pyplot, title
from fdsl.viz.images import batch
from fdsl.viz.vit import attention_maps, require_vit, tokens


def rollout(attention: np.ndarray) -> np.ndarray:
    """(images, tokens, tokens) rollout of attention (layers, images, heads, tokens, tokens); rows sum to 1."""
    attention = np.asarray(attention, dtype=np.float64)
    count = attention.shape[-1]
    result = np.broadcast_to(np.eye(count), attention.shape[1:2] + (count, count)).copy()
    for layer in attention:
        mixed = 0.5 * layer.mean(axis=1) + 0.5 * np.eye(count)  # the residual connection carries half
        mixed /= mixed.sum(axis=-1, keepdims=True)
        result = mixed @ result
    return result


def patch_map(matrix: np.ndarray, prefix: int, class_token: bool, rows: int, columns: int) -> np.ndarray:
    """(images, rows, columns) from (images, tokens, tokens): the class token's row, or the mean query's row."""
    if class_token:
        weights = matrix[:, 0, prefix:]
    else:
        weights = matrix[:, prefix:, prefix:].mean(axis=1)
    return weights.reshape(-1, rows, columns).astype(np.float32)


def attention(runs: list, images: list, names: list | None = None) -> Picture:
    """``numbers[label]`` = {"last_layer": (images, rows, cols), "rollout": (images, rows, cols), "rollout_matrix"}."""
    plt = pyplot()
    numbers, crops, how = {}, {}, {}
    for run in runs:
        model = require_vit(run, "attention")
        grid = tokens(model)
        inputs, crops[run.label] = batch(images, run)
        weights = attention_maps(model, inputs)
        rolled = rollout(weights)
        numbers[run.label] = {
            "last_layer": patch_map(weights[-1].mean(axis=1), grid.prefix, grid.class_token, grid.rows, grid.columns),
            "rollout": patch_map(rolled, grid.prefix, grid.class_token, grid.rows, grid.columns),
            "rollout_matrix": rolled.astype(np.float32),
        }
        how[run.label] = "class token" if grid.class_token else "no class token: mean over queries"
    figure, axes = plt.subplots(len(images), 1 + 2 * len(runs), figsize=(2.1 * (1 + 2 * len(runs)),
                                2.1 * len(images) + 0.6), squeeze=False)
    for row in range(len(images)):
        overlay.draw(axes[row][0], crops[runs[0].label][row], None)
        if names:
            axes[row][0].set_ylabel(names[row], fontsize=7)
        for index, run in enumerate(runs):
            for offset, key in enumerate(("last_layer", "rollout")):
                axis = axes[row][1 + 2 * index + offset]
                overlay.draw(axis, crops[run.label][row], numbers[run.label][key][row])
                if row == 0:
                    label = "last layer" if key == "last_layer" else "rollout"
                    axis.set_title(f"{run.label}\n{label}", fontsize=7)
    axes[0][0].set_title("image", fontsize=7)
    without = [run.label for run in runs if how[run.label] != "class token"]
    if not without:
        read = "class token's attention"
    elif len(without) == len(runs):
        read = "no class token: the attention each patch receives, mean over all queries"
    else:
        read = "class token's attention; no class token in " + "; ".join(f"'{l}'" for l in without) + \
            ": the attention each patch receives, mean over all queries"
    title(figure, "Attention maps: last-layer attention and attention rollout",
          f"{read}; red: most attended (each map scaled to its own range)")
    return Picture(numbers, figure, "attention maps")
