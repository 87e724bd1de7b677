"""A labelled image dataset as Hugging Face ``datasets`` Parquet shards, loadable offline with
``datasets.load_dataset("parquet", data_dir=OUT)`` (or ``load_dataset(OUT)``): an ``image`` column (PNG bytes)
and a ``label`` ClassLabel with the dataset's class names.

The source is anything ``open_images`` reads: an ``fdsl render`` ImageFolder or WebDataset folder, a zip, an npz.
Shards are written under temporary names and renamed, so a killed export leaves no shard half-written.
"""

from __future__ import annotations

import io
from pathlib import Path

from fdsl.core.errors import FdslError

SHARD_NAME = "train-{:05d}-of-{:05d}.parquet"


def export_parquet(source: str, out: Path, shard_size: int = 10_000, progress: bool = True) -> list[Path]:
    try:
        import datasets
    except ModuleNotFoundError:
        raise FdslError("exporting to Hugging Face datasets needs the 'datasets' package: pip install 'fdsl[hf]'") from None
    from fdsl.core.progress import bar
    from fdsl.data.real import open_images

    if shard_size < 1:
        raise FdslError(f"--shard-size must be at least 1, got {shard_size}")
    images = open_images(str(source))
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise FdslError(f"{out} already exists and is not empty; choose a new --out for the export")
    out.mkdir(parents=True, exist_ok=True)
    features = datasets.Features({"image": datasets.Image(), "label": datasets.ClassLabel(names=list(images.classes))})
    count = -(-len(images) // shard_size)
    written, progress_bar = [], bar(len(images), "export", enabled=progress)
    try:
        for shard in range(count):
            indices = range(shard * shard_size, min((shard + 1) * shard_size, len(images)))
            rows = {"image": [], "label": []}
            for index in indices:
                image, label = images[index]
                buffer = io.BytesIO()
                image.save(buffer, format="PNG")
                rows["image"].append({"bytes": buffer.getvalue(), "path": None})
                rows["label"].append(int(label))
                progress_bar.update(1)
            path = out / SHARD_NAME.format(shard, count)
            partial = path.with_name(f".{path.name}.part")
            datasets.Dataset.from_dict(rows, features=features).to_parquet(str(partial))
            partial.replace(path)
            written.append(path)
    finally:
        progress_bar.close()
    return written
