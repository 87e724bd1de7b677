"""``fdsl viz pos-embed``: cosine similarity of a ViT's positional embeddings, one small map per patch position.

Map (i, j) shows how similar the embedding of patch (i, j) is to every other patch's; a
model that learned 2D position shows a bright spot around (i, j) (the talk's figure).
The class token's embedding, when there is one, has no position and is left out.
"""

from __future__ import annotations

import numpy as np

from fdsl.errors import FdslError
from fdsl.viz.figure import Picture, pyplot, title
from fdsl.viz.vit import require_vit, tokens


def similarity_maps(embeddings: np.ndarray, rows: int, columns: int) -> np.ndarray:
    """(rows, columns, rows, columns): cosine similarity of each patch's embedding with every patch's."""
    vectors = np.asarray(embeddings, dtype=np.float64).reshape(rows * columns, -1)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    unit = vectors / np.where(norms > 0, norms, 1.0)
    return (unit @ unit.T).reshape(rows, columns, rows, columns).astype(np.float32)


def patch_embeddings(model) -> np.ndarray:
    """The positional embeddings of the patch tokens only: (patches, width)."""
    grid = tokens(model)
    pos = getattr(model, "pos_embed", None)
    if pos is None:
        raise FdslError(f"{type(model).__name__} has no learned positional embedding to show")
    pos = pos.detach().cpu().numpy().reshape(-1, pos.shape[-1])
    return pos[-grid.patches:]  # timm puts the class/register tokens' embeddings (if any) first


def pos_embed(runs: list) -> Picture:
    """``numbers[label]`` = (rows, columns, rows, columns) similarities; a grid of maps per run."""
    plt = pyplot()
    numbers = {}
    for run in runs:
        grid = tokens(require_vit(run, "pos-embed"))
        numbers[run.label] = similarity_maps(patch_embeddings(run.model()), grid.rows, grid.columns)
    figure = plt.figure(figsize=(4.2 * len(runs), 4.6))
    outer = figure.add_gridspec(1, len(runs), wspace=0.12)
    image = None
    for index, run in enumerate(runs):
        maps = numbers[run.label]
        rows, columns = maps.shape[:2]
        inner = outer[index].subgridspec(rows, columns, wspace=0.05, hspace=0.05)
        for i in range(rows):
            for j in range(columns):
                axis = figure.add_subplot(inner[i, j])
                image = axis.imshow(maps[i, j], vmin=-1, vmax=1, cmap="viridis", interpolation="nearest")
                axis.set_xticks([]), axis.set_yticks([])
                if i == 0 and j == columns // 2:
                    axis.set_title(f"{run.label}\n{run.model_name}, {rows}x{columns} patches", fontsize=8)
    figure.colorbar(image, ax=figure.axes, shrink=0.6, label="cosine similarity")
    title(figure, "Cosine similarity of positional embeddings",
          "tile (i, j): similarity of patch (i, j)'s embedding with every patch's")
    return Picture(numbers, figure, "positional-embedding similarity")
