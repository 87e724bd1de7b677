"""``fdsl viz attention-distance``: mean attention distance per head and layer, in pixels (the talk's plot).

For one query patch, the attention distance is the pixel distance to each key patch weighted by
the attention it pays that key (Dosovitskiy et al., 2021, Fig. 7); averaged over query patches
and images it says whether a head looks locally (small) or across the image (large).  Only
patch-to-patch attention counts: the class token has no position, so each query's weights on
the patches are renormalised to sum to 1.
"""

from __future__ import annotations

import numpy as np

from fdsl.viz.figure import Picture, pyplot, title
from fdsl.viz.images import batch
from fdsl.viz.vit import attention_maps, require_vit, tokens


def patch_distances(rows: int, columns: int, patch: int) -> np.ndarray:
    """(patches, patches) Euclidean distances between patch centres, in pixels."""
    r, c = np.divmod(np.arange(rows * columns), columns)
    centres = np.stack([r, c], axis=1).astype(np.float64) * patch
    return np.linalg.norm(centres[:, None, :] - centres[None, :, :], axis=-1)


def mean_attention_distance(attention: np.ndarray, rows: int, columns: int, patch: int, prefix: int = 0) -> np.ndarray:
    """(layers, heads) mean distance in pixels from attention weights (layers, images, heads, tokens, tokens)."""
    weights = np.asarray(attention, dtype=np.float64)[..., prefix:, prefix:]
    weights = weights / np.maximum(weights.sum(axis=-1, keepdims=True), 1e-12)
    per_query = (weights * patch_distances(rows, columns, patch)).sum(axis=-1)  # (layers, images, heads, queries)
    return per_query.mean(axis=(1, 3)).astype(np.float32)


def attention_distance(runs: list, images: list) -> Picture:
    """``numbers[label]`` = (layers, heads) mean distance in pixels over ``images``; a panel per run."""
    plt = pyplot()
    numbers, grids = {}, {}
    for run in runs:
        model = require_vit(run, "attention-distance")
        grid = tokens(model)
        inputs, _ = batch(images, run)
        numbers[run.label] = mean_attention_distance(attention_maps(model, inputs), grid.rows, grid.columns,
                                                     grid.patch, grid.prefix)
        grids[run.label] = grid
    figure, axes = plt.subplots(1, len(runs), figsize=(3.8 * len(runs), 3.6), squeeze=False, sharey=True)
    for axis, run in zip(axes[0], runs):
        distance, grid = numbers[run.label], grids[run.label]
        layers = np.arange(1, distance.shape[0] + 1)
        for head in range(distance.shape[1]):
            axis.scatter(layers, distance[:, head], s=14, alpha=0.7, label="a head" if head == 0 else None)
        axis.plot(layers, distance.mean(axis=1), color="black", lw=1.5, label="layer mean")
        # The reference a reader needs: what a head that spreads its attention evenly would measure.
        axis.axhline(patch_distances(grid.rows, grid.columns, grid.patch).mean(), color="grey", ls="--", lw=1,
                     label="uniform attention")
        axis.set(xlabel="layer", title=f"{run.label}\n{run.model_name}, {grid.patch}-px patches")
        axis.title.set_fontsize(8)
        axis.set_xticks(layers)
        axis.grid(alpha=0.3)
    axes[0][0].set_ylabel("mean attention distance (px)")
    axes[0][0].legend(fontsize=7)
    title(figure, f"Attention distance per head and layer, over {len(images)} images",
          "small: the head attends near the query patch; large: across the image; dashed: uniform attention")
    return Picture(numbers, figure, "attention distance")
