"""Contact sheets: a grid of categories (rows) x instances (columns) so a person can see what was made."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from fdsl.catalog import load_catalog, read_manifest
from fdsl.errors import FdslError
from fdsl.formulas import create_formula
from fdsl.seeding import rng_for
from fdsl.specs import check_seed

LABEL_WIDTH = 48


def _thumbnail(image: Image.Image, tile: int) -> Image.Image:
    return image.convert("RGB").resize((tile, tile), Image.Resampling.LANCZOS)


def rows_from_dataset(folder: Path, rows: int, columns: int) -> list[tuple[str, list[Image.Image]]]:
    """The first ``columns`` images (evenly spread) of the first ``rows`` class folders."""
    from fdsl.realdata import IMAGE_SUFFIXES  # the one list of image file types fdsl reads

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


def rows_from_catalog(folder: Path, rows: int, columns: int, size: int, seed: int) -> list:
    """Render the first ``columns`` draws of the first ``rows`` categories of a catalog on the fly."""
    manifest = read_manifest(folder)
    if manifest is None or "formula" not in manifest:
        raise FdslError(f"{folder} has no catalog manifest.json naming its formula; preview a dataset folder instead")
    formula = create_formula(manifest["formula"])
    defaults = formula.RenderSettings()
    changes = {"size": size} if hasattr(defaults, "size") else {}
    settings = defaults.replace(**changes)
    settings.validate()
    catalog = load_catalog(formula, folder, limit=rows)
    context = formula.render_context(catalog.categories, settings)
    draws = formula.draws_per_category(settings)
    picks = np.linspace(0, draws - 1, num=min(columns, draws)).round().astype(int)
    out = []
    for c, params in enumerate(catalog.categories):
        images = []
        for d in picks:
            image, _ = formula.render_draw(params, int(d), rng_for(seed, "render", c, int(d)), settings, context)
            images.append(Image.fromarray(image))
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
    manifest = read_manifest(source)
    from fdsl.segmentation.preview import is_segmentation, segmentation_sheet

    if is_segmentation(source, manifest):  # each image beside its mask, not categories x instances
        sheet = segmentation_sheet(source, manifest, rows, columns, tile, seed)
    else:
        if manifest is not None and manifest.get("kind") == "catalog":
            sheet_rows = rows_from_catalog(source, rows, columns, size=max(tile * 2, 64), seed=seed)
        else:
            sheet_rows = rows_from_dataset(source, rows, columns)
        sheet = contact_sheet(sheet_rows, tile)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(f".{out.name}.part")
        sheet.save(tmp, format="PNG" if out.suffix.lower() == ".png" else "JPEG")
        tmp.replace(out)
    except OSError as exc:
        raise FdslError(f"cannot write {out} ({exc.strerror or exc}); choose a writable --out") from None
    return out
