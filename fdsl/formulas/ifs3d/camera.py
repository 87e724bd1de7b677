"""The published camera of MV-FractalDB / ExFractalDB, as matrices: where each view looks from.

Perspective, fovy 45°, near 1, far 100, at distance 4 from the origin, looking
at it (reference §2).  A view turns the cloud by a yaw about the vertical (y)
axis, then tilts it by an elevation about the horizontal (x) axis, in front of
the fixed camera; the matrices are OpenGL's (``gluPerspective``), so a point's
pixel is the one the published EGL renderer lights.

Viewpoint modes:
- ``fixed`` (MV-FractalDB): yaw_k = 2πk/V + 30°, elevation 0;
- ``fixed`` with ``compat official``: plus the published jitter radians(U(-π, π)) per view, i.e. ±3.14°
  (the code meant ±180° but passed degrees to ``radians``);
- ``random`` (ExFractalDB, our choice of distribution): view directions uniform on the sphere,
  yaw ~ U(0, 2π) and elevation = arcsin(U(-1, 1)).
"""

from __future__ import annotations

import math

import numpy as np

FOVY_DEGREES = 45.0
NEAR = 1.0
FAR = 100.0
DISTANCE = 4.0
FIRST_YAW = math.radians(30.0)
VIEWPOINT_MODES = ("fixed", "random")
# The smallest side on which the [-1, 1] cloud still spans about 19 pixels.
MIN_SIZE = 32


def cloud_span_pixels(size: int) -> float:
    """Pixels spanned by 2 units (the normalised cloud's extent) at the camera's distance."""
    return size * 2.0 / (2.0 * DISTANCE * math.tan(math.radians(FOVY_DEGREES) / 2.0))


def view_angles(count: int, mode: str, official_jitter: bool, rng: np.random.Generator) -> np.ndarray:
    """(count, 2) yaw and elevation in radians of each view of one draw."""
    if mode == "random":
        yaw = rng.uniform(0.0, 2.0 * math.pi, size=count)
        elevation = np.arcsin(rng.uniform(-1.0, 1.0, size=count))
        return np.column_stack([yaw, elevation])
    yaw = 2.0 * math.pi * np.arange(count) / count + FIRST_YAW
    if official_jitter:
        # np.radians of a number drawn in (-pi, pi): the published degree/radian mix-up, kept on purpose.
        yaw = yaw + np.radians(rng.uniform(-math.pi, math.pi, size=count))
    return np.column_stack([yaw, np.zeros(count)])


def clip_matrix(yaw: float, elevation: float) -> np.ndarray:
    """Model-view-projection of one view: a point's homogeneous clip coordinates are ``M @ (x, y, z, 1)``.

    gluPerspective(fovy, 1, near, far) times a move of DISTANCE along -z, times the tilt
    Rx(elevation), times the turn Ry(yaw); written out, as it is built for every view.
    """
    cy, sy = math.cos(yaw), math.sin(yaw)
    ce, se = math.cos(elevation), math.sin(elevation)
    turn_and_tilt = ((cy, 0.0, sy), (se * sy, ce, -se * cy), (-ce * sy, se, ce * cy))
    f = 1.0 / math.tan(math.radians(FOVY_DEGREES) / 2.0)
    depth_scale, depth_shift = (FAR + NEAR) / (NEAR - FAR), 2.0 * FAR * NEAR / (NEAR - FAR)
    r0, r1, r2 = turn_and_tilt
    return np.array([[f * r0[0], f * r0[1], f * r0[2], 0.0],
                     [f * r1[0], f * r1[1], f * r1[2], 0.0],
                     [depth_scale * r2[0], depth_scale * r2[1], depth_scale * r2[2],
                      -DISTANCE * depth_scale + depth_shift],
                     [-r2[0], -r2[1], -r2[2], DISTANCE]])
