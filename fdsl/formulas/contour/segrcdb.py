"""SegRCDB (Shinoda et al., ICCV 2023): radial-contour instances on black, each with a class, and a label mask.

A category is an RCDB contour drawn with the SegRCDB ranges (V = int(Expo(100))
kept if 2 < V <= 500, L = randint(1, 50), c ~ U(0, 4), w ~ U(0, 0.1),
r0 = randint(0, 50), oval rates U(1, 2)).  Category i (file ``i:05d``) has the
label i + 1 (the published "Color_Gray = class id"; 0 is the background), so a
catalog holds at most 254 categories: 255 is left as the usual "ignore" value.

An image is not one category: it is ``instances`` (32) contours of uniformly
drawn categories at uniform centres on a black canvas, each line in a random
grey, drawn in order so later instances overwrite earlier ones in the image and
in the mask (``fdsl.kernels.numba.labelled_contours``).  Image n is drawn from
``rng_for(seed, "render", n)``, so it does not depend on who renders it.
``render_draw`` (one category alone, centred) is what previews and
classification-style consumers of a category see.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from fdsl.core.errors import FdslError
from fdsl.core.seeding import rng_for
from fdsl.formulas.base import Settings, between, option, register
from fdsl.formulas.contour.base import (COUNT_RANGE, REFERENCE_SIZE, SIZE_RANGE, ContourFormula, ContourGeometry,
                                        noise_table, random_keys)
from fdsl.formulas.contour.rcdb import MAX_VERTICES_RANGE, OVAL_RANGE, RCDBSearchSettings, sample_growth
from fdsl.kernels.numba.labelled_contours import MASK_BAND, MASK_FILLED, MASK_LINES, draw_labelled_contours

MASK_MODES = {"m1": MASK_LINES, "m2": MASK_BAND, "m3": MASK_FILLED}
LAYOUTS = ("plain", "mmseg")
MAX_CLASSES = 254  # labels 1..254 in an 8-bit mask; 0 background, 255 "ignore"
MAX_INSTANCES_PER_IMAGE = 10_000


@dataclasses.dataclass(frozen=True)
class SegRCDBParams(ContourGeometry):
    vertices: int
    lines: int

    RANGES = (("vertices", 3, 100_000), ("lines", 1, 100_000))


@dataclasses.dataclass
class SegRCDBSearchSettings(RCDBSearchSettings):
    # RCDB's search with the published SegRCDB defaults (500 vertices, 50 lines; RCDB's fields keep their order).
    max_vertices: int = option(500, "largest number of polygon vertices", within=MAX_VERTICES_RANGE)
    max_lines: int = option(50, "contour lines are randint(1, --max-lines)", within=COUNT_RANGE)
    max_radius: int = option(50, "start radius ~ randint(0, --max-radius)", within=between(0, 100 * REFERENCE_SIZE))


@dataclasses.dataclass
class SegRCDBRenderSettings(Settings):
    size: int = option(REFERENCE_SIZE, "image side in pixels (the geometry is scaled from the published 512)",
                       within=SIZE_RANGE)
    images: int = option(20_000, "images in the dataset (published: 20,000)", within=between(1, 100_000_000))
    instances: int = option(32, "contour instances per image (published: 32)",
                            within=between(1, MAX_INSTANCES_PER_IMAGE))
    mask: str = option("m1", "label mask: m1 the lines (published default), m2 the band between the first and "
                             "last contour, m3 the filled last contour", choices=tuple(MASK_MODES))
    layout: str = option("plain", "plain: image/ + mask/; mmseg: images/training + annotations/training",
                         choices=LAYOUTS)


def check_class_count(categories: int) -> None:
    if categories > MAX_CLASSES:
        raise FdslError(f"{categories} categories do not fit an 8-bit mask (background 0, classes 1..{MAX_CLASSES}, "
                        f"255 ignored); use a catalog of at most {MAX_CLASSES} categories")
    if categories < 1:
        raise FdslError("a SegRCDB catalog needs at least one category")


def _draw_instance(image, mask, scratch, params: SegRCDBParams, label: int, centre_x: float, centre_y: float,
                   mode: int, noise_key, grey_key) -> None:
    theta = 2.0 * np.pi * np.arange(params.vertices) / params.vertices
    cos_t, sin_t = np.cos(theta), np.sin(theta)
    scale = image.shape[0] / REFERENCE_SIZE
    # Published noise term: n = pnoise1 * 2c - c, independently for x and y (as RCDB).
    draw_labelled_contours(image, mask, scratch, cos_t * params.radius * params.oval_x,
                           sin_t * params.radius * params.oval_y, cos_t, sin_t, np.zeros(params.vertices),
                           params.lines, 2.0 * params.noise, params.noise, params.line_width, centre_x * scale,
                           centre_y * scale, scale, noise_key, grey_key, label, mode, noise_table())


def render_image(categories: list, settings: SegRCDBRenderSettings, rng: np.random.Generator):
    """One SegRCDB image and its mask, both (size, size) uint8: ``settings.instances`` instances, in order."""
    size = settings.size
    image = np.zeros((size, size), dtype=np.uint8)
    mask = np.zeros((size, size), dtype=np.uint8)
    scratch = np.zeros((size, size), dtype=np.uint8)
    count = settings.instances
    classes = rng.integers(0, len(categories), size=count)
    centres = rng.uniform(0.0, REFERENCE_SIZE, size=(count, 2))
    keys = random_keys(rng, 2 * count)
    mode = MASK_MODES[settings.mask]
    for k in range(count):
        category = int(classes[k])
        _draw_instance(image, mask, scratch, categories[category], category + 1, centres[k, 0], centres[k, 1],
                       mode, keys[2 * k], keys[2 * k + 1])
    return image, mask


@register
class SegRCDB(ContourFormula):
    name = "segrcdb"
    summary = "SegRCDB: contour instances with label masks, for segmentation, 512 px (Shinoda et al. 2023)"
    SearchSettings = SegRCDBSearchSettings
    RenderSettings = SegRCDBRenderSettings
    Params = SegRCDBParams
    family = "SegRCDB"
    dataset_kind = "segmentation"
    default_categories = MAX_CLASSES
    max_categories = MAX_CLASSES

    def sample_category(self, rng, settings: SegRCDBSearchSettings, context):
        growth = sample_growth(rng, settings)
        if growth is None:
            return None
        vertices, lines, noise, line_width = growth
        radius = float(rng.integers(0, settings.max_radius + 1))
        oval_x, oval_y = (float(v) for v in rng.uniform(*OVAL_RANGE, size=2))
        # Instances get uniform centres; the category's own centre is where its picture is drawn alone.
        centre = REFERENCE_SIZE / 2
        return SegRCDBParams(vertices=vertices, lines=lines, noise=noise, line_width=line_width, radius=radius,
                             oval_x=oval_x, oval_y=oval_y, centre_x=centre, centre_y=centre), 1.0

    def describe_params(self, params: SegRCDBParams) -> dict:
        return {"vertices": params.vertices, "lines": params.lines}

    def draws_per_category(self, settings) -> int:
        return 1

    def render_draw(self, params: SegRCDBParams, draw, rng, settings: SegRCDBRenderSettings, context):
        """The category alone at its centre, lines only (what a contact sheet of the catalog shows)."""
        image = np.zeros((settings.size, settings.size), dtype=np.uint8)
        mask, scratch = np.zeros_like(image), np.zeros_like(image)
        noise_key, grey_key = random_keys(rng, 2)
        _draw_instance(image, mask, scratch, params, 1, params.centre_x, params.centre_y, MASK_LINES, noise_key,
                       grey_key)
        return image, None


def render_pair(categories: list, settings, seed: int, index: int):
    """Image ``index`` of the dataset and its mask: two (size, size) uint8 arrays, from (seed, index) only."""
    return render_image(categories, settings, rng_for(seed, "render", index))
