"""``fdsl viz pos-embed``: cosine similarity of a ViT's positional embeddings, one small map per patch position.

Map (i, j) shows how similar the embedding of patch (i, j) is to every other patch's; a
model that learned 2D position shows a bright spot around (i, j) (the talk's figure).
The class token's embedding, when there is one, has no position and is left out.
"""

from __future__ import annotations

import numpy as np

from fdsl.core.errors import FdslError
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


def mosaic(maps: np.ndarray) -> np.ndarray:
    """The (rows, columns, rows, columns) maps laid out as one image, map (i, j) at tile (i, j), NaN between tiles."""
    rows, columns, height, width = maps.shape
    sheet = np.full((rows * (height + 1) - 1, columns * (width + 1) - 1), np.nan, dtype=np.float32)
    for i in range(rows):
        for j in range(columns):
            sheet[i * (height + 1):i * (height + 1) + height, j * (width + 1):j * (width + 1) + width] = maps[i, j]
    return sheet


def pos_embed(runs: list) -> Picture:
    """``numbers[label]`` = (rows, columns, rows, columns) similarities; a grid of maps per run."""
    plt = pyplot()
    numbers = {}
    for run in runs:
        grid = tokens(require_vit(run, "pos-embed"))
        numbers[run.label] = similarity_maps(patch_embeddings(run.model()), grid.rows, grid.columns)
    figure, axes = plt.subplots(1, len(runs), figsize=(4.2 * len(runs) + 0.8, 4.6), squeeze=False)
    colours = plt.get_cmap("viridis").with_extremes(bad="white")  # NaN: the gaps between tiles
    image = None
    for axis, run in zip(axes[0], runs):
        maps = numbers[run.label]
        image = axis.imshow(mosaic(maps), vmin=-1, vmax=1, cmap=colours, interpolation="nearest")
        axis.set_title(f"{run.label}\n{run.model_name}, {maps.shape[0]}x{maps.shape[1]} patches", fontsize=8)
        axis.axis("off")
    figure.colorbar(image, ax=list(axes[0]), shrink=0.7, label="cosine similarity")
    title(figure, "Cosine similarity of positional embeddings",
          "tile (i, j): similarity of patch (i, j)'s embedding with every patch's")
    return Picture(numbers, figure, "positional-embedding similarity")
