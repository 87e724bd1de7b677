"""Contact sheets: a grid of categories (rows) x instances (columns) so a person can see what was made."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from fdsl.catalog.params import load_catalog, read_manifest
from fdsl.core.errors import FdslError
from fdsl.core.files import atomic_open
from fdsl.core.notes import note
from fdsl.formulas import create_formula
from fdsl.core.seeding import rng_for
from fdsl.core.checks import check_seed
from fdsl.core.tars import shard_files

LABEL_WIDTH = 48


def _thumbnail(image: Image.Image, tile: int) -> Image.Image:
    return image.convert("RGB").resize((tile, tile), Image.Resampling.LANCZOS)


def rows_from_dataset(folder: Path, rows: int, columns: int) -> list[tuple[str, list[Image.Image]]]:
    """The first ``columns`` images (evenly spread) of the first ``rows`` class folders."""
    from fdsl.core.imagefiles import IMAGE_SUFFIXES

    classes = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    out = []
    for class_dir in classes[:rows]:
        files = sorted(p for p in class_dir.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            continue
        picks = np.linspace(0, len(files) - 1, num=min(columns, len(files))).round().astype(int)
        images = []
        for i in picks:
            try:
                with Image.open(files[i]) as image:
                    images.append(image.copy())
            except OSError:
                raise FdslError(f"cannot read image {files[i]}; is the dataset complete?") from None
        out.append((class_dir.name, images))
    return out


def rows_from_shards(folder: Path, rows: int, columns: int) -> list[tuple[str, list[Image.Image]]]:
    """The same sheet from WebDataset tar shards: samples grouped by their key's class folder."""
    import io

    from fdsl.core.tars import LABEL_EXTENSION, read_member, shard_files, split_member, tar_index

    members: dict[str, list] = {}
    for path in shard_files(folder):
        for name, offset, size in tar_index(path):
            key, extension = split_member(name)
            if extension != LABEL_EXTENSION and "/" in key:
                members.setdefault(key.split("/")[0], []).append((name, path, offset, size))
    out = []
    for label in sorted(members)[:rows]:
        samples = sorted(members[label])
        picks = np.linspace(0, len(samples) - 1, num=min(columns, len(samples))).round().astype(int)
        images = []
        for i in picks:
            with Image.open(io.BytesIO(read_member(*samples[i][1:]))) as image:
                images.append(image.copy())
        out.append((label, images))
    return out


def rows_from_catalog(folder: Path, rows: int, columns: int, size: int, seed: int) -> list:
    """Render ``columns`` images of each of the first ``rows`` categories of a catalog on the fly.

    A row spreads its columns over the category's draws (view 0 of each); for a
    family whose views are cameras (``preview_one_draw``: 3D) it shows the views of
    the first draw instead, so it reads as a turn around one object.
    """
    manifest = read_manifest(folder)
    if manifest is None or "formula" not in manifest:
        raise FdslError(f"{folder} has no catalog manifest.json naming its formula; preview a dataset folder instead")
    formula = create_formula(manifest["formula"])
    defaults = formula.RenderSettings()
    # Pictures at the sheet's size; a family that can write other data (3D: PLY clouds) shows its views.
    changes = {name: value for name, value in (("size", size), ("output", "views")) if hasattr(defaults, name)}
    settings = defaults.replace(**changes)
    settings.validate()
    catalog = load_catalog(formula, folder)  # all of it: a family may mix categories (PC-FractalDB)
    context = formula.render_context(catalog.categories, settings)
    draws, views = formula.draws_per_category(settings), formula.views_per_draw(settings)
    if formula.preview_one_draw and views > 1:
        picks = [(0, int(v)) for v in np.linspace(0, views - 1, num=min(columns, views)).round().astype(int)]
    else:
        picks = [(int(d), 0) for d in np.linspace(0, draws - 1, num=min(columns, draws)).round().astype(int)]
    out = []
    for c, params in enumerate(catalog.categories[:rows]):
        images, rendered = [], {}
        for d, v in picks:
            if d not in rendered:
                rendered[d] = formula.render_draw(params, d, rng_for(seed, "render", c, d), settings, context)[0]
            images.append(Image.fromarray(np.ascontiguousarray(formula.view(rendered[d], v, settings))))
        out.append((catalog.names[c], images))
    return out


def contact_sheet(rows: list, tile: int = 96, gap: int = 2) -> Image.Image:
    if not rows:
        raise FdslError("nothing to preview: no images found")
    columns = max(len(images) for _, images in rows)
    width = LABEL_WIDTH + columns * (tile + gap)
    height = len(rows) * (tile + gap)
    sheet = Image.new("RGB", (width, height), (40, 40, 40))
    draw = ImageDraw.Draw(sheet)
    for r, (label, images) in enumerate(rows):
        y = r * (tile + gap)
        draw.text((4, y + tile // 2 - 6), label[:8], fill=(220, 220, 220))
        for c, image in enumerate(images):
            sheet.paste(_thumbnail(image, tile), (LABEL_WIDTH + c * (tile + gap), y))
    return sheet


def preview(source: Path, out: Path, rows: int = 8, columns: int = 8, tile: int = 96, seed: int = 0) -> Path:
    source = Path(source)
    if not source.is_dir():
        raise FdslError(f"{source} is not a folder; give a dataset folder (fdsl render) or a catalog (fdsl search)")
    if rows < 1 or columns < 1 or not (8 <= tile <= 1024):
        raise FdslError("--rows and --columns must be >= 1 and --tile between 8 and 1024")
    check_seed(seed)
    out = Path(out)
    if out.suffix.lower() not in {".png", ".jpg", ".jpeg"}:
        raise FdslError(f"--out {out}: use a .png or .jpg file name")
    if out.is_file():
        note(f"{out} exists: the new contact sheet replaces it")
    manifest = read_manifest(source)
    if manifest is not None and manifest.get("kind") == "scenes":
        from fdsl.preview.scenes import scene_sheet  # matplotlib, only for scenes

        return scene_sheet(source, out, count=min(rows, columns))
    from fdsl.preview.masks import is_segmentation, segmentation_sheet

    if is_segmentation(source, manifest):  # each image beside its mask, not categories x instances
        sheet = segmentation_sheet(source, manifest, rows, columns, tile, seed)
    else:
        if manifest is not None and manifest.get("kind") == "catalog":
            sheet_rows = rows_from_catalog(source, rows, columns, size=max(tile * 2, 64), seed=seed)
        else:
            if seed != 0:  # a rendered dataset's images are what they are: no draw to seed
                raise FdslError(f"--seed {seed} is ignored for {source} (it seeds the draws of a catalog's preview; "
                                "a rendered dataset shows its own images); drop it")
            sheet_rows = rows_from_shards(source, rows, columns) if shard_files(source) else \
                rows_from_dataset(source, rows, columns)
        shown_columns = max((len(row[1]) for row in sheet_rows), default=0)
        if sheet_rows and (len(sheet_rows) < rows or shown_columns < columns):
            note(f"{source} has {len(sheet_rows)} categories with at most {shown_columns} images shown each: the "
                 f"sheet is {len(sheet_rows)} x {shown_columns}, not the {rows} x {columns} asked for")
        sheet = contact_sheet(sheet_rows, tile)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with atomic_open(out) as handle:
            sheet.save(handle, format="PNG" if out.suffix.lower() == ".png" else "JPEG")
    except OSError as exc:
        raise FdslError(f"cannot write {out} ({exc.strerror or exc}); choose a writable --out") from None
    return out
