"""What the 3D IFS families share: the variance search, the draw (a cloud and its cameras), views and files.

A draw of a 3D family is one point cloud (a weight row of the category for
MV/ExFractalDB, a mixed instance for PC-FractalDB) together with the camera
angles of its views, all from the draw's seeded generator.  With ``--output
views`` a view is the cloud seen by one camera, a 224² PNG (white 1-px points on
black); with ``--output ply`` the draw has one view, the cloud itself, written
as a binary PLY file.  Subclasses provide ``cloud_for_draw`` and ``file_name``.
"""

from __future__ import annotations

import dataclasses
from abc import abstractmethod
from pathlib import Path

import numpy as np

from fdsl.core.errors import FdslError
from fdsl.core.files import is_png, png_bytes
from fdsl.formulas.base import Formula, Settings, between, option
from fdsl.formulas.ifs.base import draw_warning
from fdsl.formulas.ifs3d import camera
from fdsl.formulas.ifs3d.systems import PARAMETERS, axis_variances, read_system, sample_system, write_system
from fdsl.kernels.numba import ifs3d as kernel
from fdsl.core.ply import is_ply, ply_bytes

OUTPUTS = ("views", "ply")
COMPAT_MODES = ("none", "official")
WHITE = 255
MAX_SIZE = 4096
MAX_VIEWS = 1000
MAX_ITERATIONS = 100_000_000
REPEATED = "repeated the kept points to fill the cloud"


def check_iterations(iterations: int) -> None:
    if not (2 <= iterations <= MAX_ITERATIONS):
        raise FdslError(f"--iterations must be between 2 and {MAX_ITERATIONS:,} (the origin is not kept: "
                        f"10,000 iterations give 9,999 points), got {iterations}")


@dataclasses.dataclass
class CloudSearchSettings(Settings):
    variance: float = option(0.05, "accept a system when the variance of its normalised cloud exceeds this on every "
                                   "axis (every published script passes 0.05; the argparse default was 0.15)",
                             within=between(0.0, 1.0, open_high=True, why="a cloud in [-1, 1] has variance below 1"))
    iterations: int = option(10_000, "chaos-game iterations per candidate (the origin is not kept)")

    def validate(self) -> None:
        super().validate()
        check_iterations(self.iterations)


@dataclasses.dataclass
class CloudViewSettings(Settings):
    """How a 3D draw becomes files: camera views (PNG) or the cloud itself (PLY)."""

    output: str = option("views", "'views': PNG pictures from --views cameras (MV/ExFractalDB); 'ply': the point "
                                  "clouds as binary PLY files", choices=OUTPUTS)
    iterations: int = option(10_000, "chaos-game iterations per cloud (the origin is not kept: 9,999 points)")
    size: int = option(224, "view side in pixels")
    views: int = option(12, "camera views per cloud (output views)", within=between(1, MAX_VIEWS))
    viewpoints: str = option("fixed", "'fixed': yaw 2*pi*k/V + 30 deg (MV-FractalDB); 'random': directions uniform "
                                      "on the sphere (ExFractalDB)", choices=camera.VIEWPOINT_MODES)
    compat: str = option("none", "'official': the published quirks (the +-3.1 deg yaw jitter of the fixed views)",
                         choices=COMPAT_MODES)

    def validate(self) -> None:
        super().validate()
        check_iterations(self.iterations)
        if self.size < camera.MIN_SIZE:
            raise FdslError(f"--size {self.size} is too small for the camera (fovy {camera.FOVY_DEGREES:g} deg at "
                            f"distance {camera.DISTANCE:g}): the cloud would span "
                            f"{camera.cloud_span_pixels(self.size):.0f} px; use --size >= {camera.MIN_SIZE}")
        if self.size > MAX_SIZE:
            raise FdslError(f"--size {self.size} is larger than the {MAX_SIZE}-pixel limit")
        if self.compat == "official" and self.viewpoints == "random" and self.output == "views":
            raise FdslError("--compat official keeps the published jitter of the fixed views; it has no meaning "
                            "with --viewpoints random")


@dataclasses.dataclass
class CloudDraw:
    """One draw: an (n, 3) cloud, normalised and centred, and the (views, 2) yaw and elevation of its cameras."""

    points: np.ndarray
    cameras: np.ndarray


def project(points: np.ndarray, yaw: float, elevation: float, size: int) -> np.ndarray:
    """The cloud seen by the published camera turned by (yaw, elevation): white 1-px points on black."""
    canvas = np.zeros((size, size), dtype=np.uint8)
    kernel.splat_projected(points, camera.clip_matrix(yaw, elevation), WHITE, canvas)
    return canvas


def cloud_warning(kept: int, points: int) -> str | None:
    return draw_warning(kept, points, False, REPEATED)


class CloudFormula(Formula):
    """A 3D IFS family: (N, 13) systems accepted by per-axis variance; draws are clouds, views are cameras or PLY."""

    SearchSettings = CloudSearchSettings
    RenderSettings: type[CloudViewSettings]
    preview_one_draw = True  # a preview row turns around one cloud

    # ---- categories: the published variance search -----------------------
    def sample_category(self, rng, settings: CloudSearchSettings, context):
        system = sample_system(rng)
        key = int(rng.integers(0, 2**64, dtype=np.uint64))
        variances = axis_variances(system, settings.iterations - 1, key)
        if variances is None or not np.all(variances > settings.variance):
            return None
        return system, float(variances.min())

    def save_params(self, params, path: Path) -> None:
        write_system(params, path)

    def load_params(self, path: Path):
        return read_system(path)

    def describe_params(self, params) -> dict:
        return {"maps": int(params.shape[0])}

    # ---- draws: a cloud and its cameras -----------------------------------
    @abstractmethod
    def cloud_for_draw(self, params, draw: int, rng: np.random.Generator, settings, context):
        """The hook: (n, 3) cloud of draw ``draw`` of category ``params``, warning or None."""

    def render_draw(self, params, draw, rng, settings: CloudViewSettings, context):
        if context is None:
            context = self.render_context([params], settings)
        points, warning = self.cloud_for_draw(params, draw, rng, settings, context)
        # The cameras come after the cloud from the same stream: the cloud does not depend on the view mode.
        cameras = camera.view_angles(settings.views, settings.viewpoints, settings.compat == "official", rng)
        return CloudDraw(points, cameras), warning

    def views_per_draw(self, settings: CloudViewSettings) -> int:
        return settings.views if settings.output == "views" else 1

    def view(self, draw: CloudDraw, view: int, settings: CloudViewSettings):
        if settings.output == "ply":
            return draw.points
        yaw, elevation = draw.cameras[view]
        return project(draw.points, float(yaw), float(elevation), settings.size)

    def renders_images(self, settings: CloudViewSettings) -> bool:
        return settings.output == "views"

    def encode(self, item, settings: CloudViewSettings) -> bytes:
        return ply_bytes(item) if settings.output == "ply" else png_bytes(item)

    def is_complete(self, path: Path) -> bool:
        return is_ply(path) if Path(path).suffix == ".ply" else is_png(path)


def system_maps(params: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N, 12) maps and (N,) probabilities of a system."""
    return params[:, :PARAMETERS], params[:, PARAMETERS]
