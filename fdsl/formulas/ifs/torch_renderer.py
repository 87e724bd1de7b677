"""FractalDB on a torch device: the batched twin of FractalDB.render_draw + FractalDB.view.

The same instance plan as the CPU renderer, taken from the formula (weight
rows, draws per row, flips, warnings, file names; the published rescale,
patch and colour rules), with the chaos game run as parallel chains
(fdsl.kernels.torch.ifs).  Images are keyed by
(seed, category, draw) only, so any batch gives the same image for the same
(category, draw).  They are *statistically* equal to the numba renderer's,
not pixel-equal: the random streams differ (see docs/gpu.md).
"""

from __future__ import annotations

import numpy as np
import torch

from fdsl.core.errors import FdslError
from fdsl.formulas.ifs.base import draw_warning, point_colours
from fdsl.formulas.ifs.fractal import FLIPS, FractalDB, FractalRenderSettings, draws_per_row
from fdsl.formulas.ifs.maps import weight_rows
from fdsl.kernels.torch import ifs as torch_ifs
from fdsl.core.seeding import kernel_key

# Separates the torch renderer's streams from the CPU renderer's rng_for(seed, "render", ...).
STREAM_NAME = "render-torch"


def category_tables(categories: list[np.ndarray]):
    """Pad systems of 1..N maps into (K, N, 6) maps, (K, N) cumulative probabilities and (K,) map counts."""
    counts = np.array([len(system) for system in categories], dtype=np.int64)
    n_max = int(counts.max())
    maps = np.zeros((len(categories), n_max, 6), dtype=np.float64)
    cumulative = np.ones((len(categories), n_max), dtype=np.float64)
    for k, system in enumerate(categories):
        system = np.asarray(system, dtype=np.float64)
        if not np.all(np.isfinite(system)):
            raise FdslError(f"category {k}: parameters contain NaN or inf; fix or remove that file")
        maps[k, :len(system)] = system[:, :6]
        cumulative[k, :len(system)] = np.cumsum(system[:, 6])
    return maps, cumulative, counts


class FractalTorchRenderer:
    def __init__(self, categories: list, settings: FractalRenderSettings, seed: int, device: torch.device,
                 layout: torch_ifs.ChainLayout = torch_ifs.ChainLayout()):
        if settings.compat != "none":
            raise FdslError("--compat official replays the published single-chain random sequence; the torch "
                            "renderer runs parallel chains: use --compat none, or render on the CPU")
        self.formula = FractalDB()
        self.settings = settings
        self.device = device
        self.layout = layout
        maps, cumulative, counts = category_tables(categories)
        self.num_categories = len(categories)
        self.maps = torch.tensor(maps, dtype=torch.float32, device=device)
        self.cumulative = torch.tensor(cumulative, dtype=torch.float32, device=device)
        self.map_counts = torch.tensor(counts, device=device)
        self.weights = torch.tensor(weight_rows(settings.weight_delta), dtype=torch.float32, device=device)
        self.colours = torch.tensor(point_colours(settings.colour_mode), device=device)
        self.base_key = kernel_key(seed, STREAM_NAME)
        self.draws_per_row = draws_per_row(settings)
        self.flips = torch.tensor(FLIPS, device=device)  # (view, [rows, columns])
        # torch.compile the chain step (fused kernels on CUDA; deterministic, not bit-equal to eager).
        self.compiled = False

    def draws_per_category(self) -> int:
        return self.formula.draws_per_category(self.settings)

    def views_per_draw(self) -> int:
        return self.formula.views_per_draw(self.settings)

    def file_name(self, category: int, draw: int, view: int) -> str:
        return self.formula.file_name(category, draw, view, self.settings)

    def _check_indices(self, categories: torch.Tensor, draws: torch.Tensor) -> None:
        # Only host tensors are checked: a check on the device would stall the training loop.
        if categories.device.type != "cpu" or categories.numel() == 0:
            return
        if int(categories.min()) < 0 or int(categories.max()) >= self.num_categories:
            raise FdslError(f"category index out of range 0..{self.num_categories - 1}")
        if int(draws.min()) < 0 or int(draws.max()) >= self.draws_per_category():
            raise FdslError(f"draw index out of range 0..{self.draws_per_category() - 1}")

    def render_draws(self, categories: torch.Tensor, draws: torch.Tensor, warnings: bool = True):
        """(B,) category and draw indices -> ((B, H, W) or (B, H, W, 3) uint8 images, y up; warnings or None)."""
        self._check_indices(categories, draws)
        categories = categories.to(self.device, torch.int64)
        draws = draws.to(self.device, torch.int64)
        rows = draws // self.draws_per_row
        # A weight row multiplies one parameter in every map; the probabilities are not recomputed (as published).
        maps = self.maps[categories] * self.weights[rows][:, None, :]
        s = self.settings
        rendered = torch_ifs.render_batch(
            maps, self.cumulative[categories], self.map_counts[categories],
            torch_ifs.stream_keys(self.base_key, categories, draws),
            size=s.size, pad=s.pad, points=s.points, patch=s.patch_mode, colours=self.colours, layout=self.layout,
            compiled=self.compiled)
        # The published renderer draws with y growing downwards, then flips the canvas (y up).
        images = rendered.canvas.flip(1)
        if self.colours.shape[1] == 1:
            images = images[..., 0]
        return images, (self._warnings(rendered) if warnings else None)

    def _warnings(self, rendered: torch_ifs.RenderedBatch) -> list:
        dropped = (f"dropped each divergent chain from {torch_ifs.STEPS_DROPPED_BEFORE_DIVERGENCE} steps before "
                   "its first divergent point")
        return [draw_warning(valid, self.settings.points, degenerate, dropped)
                for valid, degenerate in zip(rendered.valid_points.tolist(), rendered.degenerate.tolist())]

    def view(self, images: torch.Tensor, views: torch.Tensor) -> torch.Tensor:
        """FractalDB's flips (``FLIPS``), one view per row."""
        flips = self.flips.to(images.device)[views.to(images.device)]
        shape = (-1, *([1] * (images.dim() - 1)))
        images = torch.where(flips[:, 0].reshape(shape), images.flip(1), images)
        return torch.where(flips[:, 1].reshape(shape), images.flip(2), images)
