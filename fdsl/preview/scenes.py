"""Scenes seen from above: each scene's points coloured by object, its oriented boxes outlined, on one figure."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from fdsl.core.errors import FdslError
from fdsl.viz.figure import grid_shape, pyplot, save, title

# A box outline: the footprint's corners in box coordinates (half sizes), closed.
CORNERS = np.array([[1, 1], [-1, 1], [-1, -1], [1, -1], [1, 1]], dtype=np.float64)


def footprint(box: np.ndarray) -> np.ndarray:
    """(5, 2) closed outline of a box (centre, half sizes, heading, class) seen from above."""
    c, s = math.cos(box[6]), math.sin(box[6])
    local = CORNERS * box[3:5]
    return np.column_stack([c * local[:, 0] - s * local[:, 1], s * local[:, 0] + c * local[:, 1]]) + box[:2]


def read_scene(folder: Path, stem: str) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray]:
    """(points, instance labels) or (None, None) for a layout-only scene, and the boxes."""
    pc = folder / f"{stem}_pc.npz"
    try:
        if pc.exists():
            with np.load(pc) as arrays:
                points, instance = arrays["pc"], arrays["instance_label"]
            return points, instance, np.load(folder / f"{stem}_bbox.npy")
        layout = json.loads((folder / f"{stem}.json").read_text())
    except (OSError, ValueError, KeyError) as exc:
        raise FdslError(f"cannot read scene {folder / stem}: {exc}; is the scene folder complete?") from None
    boxes = [[*o["c_pos"], *(np.asarray(o["size"]) / 2), o["theta"], 0] for o in layout["objects"]]
    return None, None, np.array(boxes, dtype=np.float64).reshape(-1, 8)


def scene_sheet(folder: Path, out: Path, count: int) -> Path:
    """Top-down pictures of the first ``count`` scenes of a folder written by ``fdsl scenes``."""
    stems = sorted(p.stem for p in Path(folder).glob("scene_*.json"))[:count]
    if not stems:
        raise FdslError(f"nothing to preview: no scene_*.json in {folder}")
    plt = pyplot()
    rows, columns = grid_shape(len(stems))
    figure, axes = plt.subplots(rows, columns, figsize=(4 * columns, 4 * rows), squeeze=False)
    for ax in axes.flat[len(stems):]:
        ax.axis("off")
    for ax, stem in zip(axes.flat, stems):
        points, instance, boxes = read_scene(Path(folder), stem)
        if points is not None:
            ax.scatter(points[:, 0], points[:, 1], c=instance % 20, cmap="tab20", s=0.2, linewidths=0)
        for box in boxes:
            outline = footprint(box)
            ax.plot(outline[:, 0], outline[:, 1], color="black", linewidth=0.8)
        ax.set_aspect("equal")
        ax.set_title(f"{stem}: {len(boxes)} objects", fontsize=9)
    title(figure, "PC-FractalDB scenes seen from above", "points coloured by object; oriented boxes outlined")
    try:
        return save(figure, out)
    finally:
        plt.close(figure)
