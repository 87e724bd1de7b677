"""A labelled image dataset as Hugging Face ``datasets`` Parquet shards, loadable offline with
``datasets.load_dataset("parquet", data_dir=OUT)`` (or ``load_dataset(OUT)``): an ``image`` column (PNG bytes)
and a ``label`` ClassLabel with the dataset's class names.

The source is anything ``open_images`` reads: an ``fdsl render`` ImageFolder or WebDataset folder, a zip, an npz.
The shards are written to a hidden staging folder beside ``OUT`` that is renamed to ``OUT`` only once every
shard is complete: an export that is refused (a damaged image, a full disk) or killed leaves no ``OUT`` behind.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from pathlib import Path

from fdsl.core.errors import FdslError
from fdsl.core.files import published_folder

SHARD_NAME = "train-{:05d}-of-{:05d}.parquet"


def export_parquet(source: str, out: Path, shard_size: int = 10_000, progress: bool = True) -> list[Path]:
    try:
        import datasets
    except ModuleNotFoundError:
        raise FdslError("exporting to Hugging Face datasets needs the 'datasets' package: pip install 'fdsl[hf]'") from None
    from fdsl.data.real import open_images

    if shard_size < 1:
        raise FdslError(f"--shard-size must be at least 1, got {shard_size}")
    out = Path(out)
    with published_folder(out, "the export") as staging:  # checks --out before the source is read
        images = open_images(str(source))
        with quiet_datasets(datasets):
            names = write_shards(datasets, images, staging, shard_size, progress)
    return [out / name for name in names]


def write_shards(datasets, images, folder: Path, shard_size: int, progress: bool) -> list[str]:
    """The images as Parquet shards in ``folder``; their file names."""
    from fdsl.core.progress import bar

    features = datasets.Features({"image": datasets.Image(), "label": datasets.ClassLabel(names=list(images.classes))})
    count = -(-len(images) // shard_size)
    names, progress_bar = [], bar(len(images), "export", enabled=progress)
    try:
        for shard in range(count):
            rows = {"image": [], "label": []}
            for index in range(shard * shard_size, min((shard + 1) * shard_size, len(images))):
                image, label = images[index]
                buffer = io.BytesIO()
                image.save(buffer, format="PNG")
                rows["image"].append({"bytes": buffer.getvalue(), "path": None})
                rows["label"].append(int(label))
                progress_bar.update(1)
            name = SHARD_NAME.format(shard, count)
            try:
                datasets.Dataset.from_dict(rows, features=features).to_parquet(str(folder / name))
            except OSError as exc:
                raise FdslError(f"cannot write {folder / name} ({exc.strerror or exc}); free some space or choose "
                                "another --out") from None
            names.append(name)
    finally:
        progress_bar.close()
    return names


@contextlib.contextmanager
def quiet_datasets(datasets):
    """No progress bars from ``datasets`` itself (its per-shard tqdm bars are carriage-return spam in a log, and
    fdsl's own bar covers the export); their global on/off state is restored afterwards."""
    enable, disable, disabled = _progress_switches(datasets)
    was_disabled = disabled()
    with warnings.catch_warnings():  # HF_DATASETS_DISABLE_PROGRESS_BAR set in the environment has priority
        warnings.simplefilter("ignore")
        disable()
    try:
        yield
    finally:
        if not was_disabled:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                enable()


def _progress_switches(datasets):
    """(enable, disable, are-disabled) of ``datasets``' progress bars, in the API of the installed version."""
    utils = datasets.utils
    if hasattr(utils, "disable_progress_bars"):  # datasets >= 2.14
        return utils.enable_progress_bars, utils.disable_progress_bars, utils.are_progress_bars_disabled
    logging = datasets.utils.logging  # older releases
    return logging.enable_progress_bar, logging.disable_progress_bar, lambda: not logging.is_progress_bar_enabled()
