"""Perlin-N: the Perlin-noise baseline of the FractalDB paper (Table 9: Perlin-100, Perlin-1296).

The paper's supplement, which defines these categories, is not available; this
is our definition, documented in docs/families.md:

- a category is one octave-summed noise field (fractional Brownian motion of 2D
  improved Perlin noise): a base frequency in cycles per image (log-uniform in
  [--min-frequency, --max-frequency]), an aspect ratio (log-uniform in [1/2, 2])
  and orientation (U(0, pi)), octaves (randint(1, --max-octaves)), persistence
  U(0.3, 0.8), lacunarity U(1.5, 3) and its own gradient table;
- a candidate is accepted when its finest octave has at most --max-cycles
  cycles per image along either axis (finer detail would alias at the render size);
- instance 0 is the field at offset (0, 0); every other instance shifts the
  field by a random offset U(0, 256) lattice cells on each axis: the same
  texture, a different window of it.  Each image is stretched to 0..255.

N is ``--categories``: Perlin-100 and Perlin-1296 are searches of 100 and 1296.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from fdsl.core.errors import FdslError
from fdsl.formulas.base import Formula, Settings, between, option, register
from fdsl.formulas.param_files import read_key_values, require_range, write_key_values
from fdsl.kernels.numba import noise as kernel

ASPECT_RANGE = (0.5, 2.0)
PERSISTENCE_RANGE = (0.3, 0.8)
LACUNARITY_RANGE = (1.5, 3.0)
OFFSET_RANGE = 256.0
MAX_OCTAVES = 12


@dataclasses.dataclass(frozen=True)
class PerlinParams:
    frequency: float
    aspect: float
    angle: float
    octaves: int
    persistence: float
    lacunarity: float
    table: int

    def check(self, where: str) -> None:
        require_range(where, "frequency", self.frequency, 1e-3, 1e4)
        require_range(where, "aspect", self.aspect, 1e-3, 1e3)
        require_range(where, "angle", self.angle, -1e3, 1e3)
        require_range(where, "octaves", self.octaves, 1, MAX_OCTAVES)
        require_range(where, "persistence", self.persistence, 0.0, 1.0)
        require_range(where, "lacunarity", self.lacunarity, 1.0, 16.0)
        require_range(where, "table", self.table, 0, 2**63 - 1)

    def finest_cycles(self) -> float:
        stretch = max(np.sqrt(self.aspect), 1.0 / np.sqrt(self.aspect))
        return self.frequency * stretch * self.lacunarity ** (self.octaves - 1)


@dataclasses.dataclass
class PerlinSearchSettings(Settings):
    min_frequency: float = option(1.0, "lowest base frequency, in cycles per image")
    max_frequency: float = option(16.0, "highest base frequency, in cycles per image")
    max_octaves: int = option(6, "octaves ~ randint(1, --max-octaves)", within=between(1, MAX_OCTAVES))
    max_cycles: float = option(181.0, "accept when the finest octave has at most this many cycles per image "
                                      "(half of 362 px: finer detail aliases)")

    def validate(self) -> None:
        super().validate()
        if not (0 < self.min_frequency <= self.max_frequency <= 1e4):
            raise FdslError(f"need 0 < --min-frequency <= --max-frequency <= 10000, got "
                            f"{self.min_frequency} and {self.max_frequency}")
        # The coarsest possible candidate (one octave at the lowest frequency, aspect 1) must pass.
        if self.max_cycles < self.min_frequency:
            raise FdslError(f"--max-cycles {self.max_cycles} is below --min-frequency {self.min_frequency}: "
                            "no category could be accepted")


@dataclasses.dataclass
class PerlinRenderSettings(Settings):
    size: int = option(362, "image side in pixels", within=between(16, 8192, unit="pixels"))
    instances: int = option(1000, "images per category", within=between(1, 1_000_000))


def _log_uniform(rng: np.random.Generator, low: float, high: float) -> float:
    return float(np.exp(rng.uniform(np.log(low), np.log(high))))


def render_field(params: PerlinParams, size: int, offset_x: float, offset_y: float) -> np.ndarray:
    table = kernel.permutation_table(np.uint64(params.table))
    values = np.empty((size, size), dtype=np.float64)
    root = np.sqrt(params.aspect)
    kernel.fbm2_image(values, params.frequency * root, params.frequency / root, params.angle, params.octaves,
                      params.persistence, params.lacunarity, offset_x, offset_y, table)
    image = np.empty((size, size), dtype=np.uint8)
    kernel.stretch_to_uint8(values, image)
    return image


@register
class Perlin(Formula):
    name = "perlin"
    summary = "Perlin-N baseline: categories of octave noise settings, instances shift the field (FractalDB paper, Table 9)"
    SearchSettings = PerlinSearchSettings
    RenderSettings = PerlinRenderSettings

    def sample_category(self, rng, settings: PerlinSearchSettings, context):
        params = PerlinParams(
            frequency=_log_uniform(rng, settings.min_frequency, settings.max_frequency),
            aspect=_log_uniform(rng, *ASPECT_RANGE),
            angle=float(rng.uniform(0.0, np.pi)),
            octaves=int(rng.integers(1, settings.max_octaves + 1)),
            persistence=float(rng.uniform(*PERSISTENCE_RANGE)),
            lacunarity=float(rng.uniform(*LACUNARITY_RANGE)),
            table=int(rng.integers(0, 2**63 - 1)),
        )
        cycles = params.finest_cycles()
        if cycles > settings.max_cycles:
            return None
        return params, cycles

    def save_params(self, params: PerlinParams, path: Path) -> None:
        write_key_values(params, path)

    def load_params(self, path: Path) -> PerlinParams:
        return read_key_values(PerlinParams, path, "Perlin")

    def describe_params(self, params: PerlinParams) -> dict:
        return {"octaves": params.octaves, "finest_cycles": round(params.finest_cycles(), 2)}

    def draws_per_category(self, settings: PerlinRenderSettings) -> int:
        return settings.instances

    def render_draw(self, params: PerlinParams, draw, rng, settings: PerlinRenderSettings, context):
        offset_x, offset_y = (0.0, 0.0) if draw == 0 else (float(v) for v in rng.uniform(0, OFFSET_RANGE, size=2))
        return render_field(params, settings.size, offset_x, offset_y), None

    def file_name(self, category, draw, view, settings):
        return f"{category:05d}_{draw:04d}.png"
