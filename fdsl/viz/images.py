"""The images a picture is drawn on (``--data``), and each run's view of them.

``--data`` is a folder of any images (no class folders needed), one image file, or anything
``fdsl.data.real.open_images`` reads (an ImageFolder tree, a zip of one, an .npz, sklearn-digits).
Each run sees the images as its evaluation does (resize, centre crop, normalise with its own
mean/std at its own size), and the overlay is drawn on that same crop so maps and pixels align.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from fdsl.core.errors import FdslError

FORMS = "a folder of images, an image file, an ImageFolder tree, a .zip of one, an .npz, or sklearn-digits"


def load_images(spec, count: int) -> tuple[list[Image.Image], list[str]]:
    """Up to ``count`` RGB images spread evenly over ``spec`` (so an ImageFolder gives several classes), and names."""
    if spec is None:
        raise FdslError(f"this kind draws on images: add --data ({FORMS})")
    if count < 1:
        raise FdslError(f"--images must be at least 1, got {count}")
    files = _plain_images(Path(str(spec)))
    if files is not None:
        picks = _spread(len(files), count)
        return [_read(files[i]) for i in picks], [files[i].name for i in picks]
    from fdsl.data.real import open_images

    dataset = open_images(str(spec))
    if len(dataset) == 0:
        raise FdslError(f"--data {spec} holds no images; give {FORMS}")
    picks = _spread(len(dataset), count)
    images = [dataset[i][0] for i in picks]  # realdata turns a decode error into one line naming the file
    names = [f"{dataset.classes[int(dataset.targets[i])]} #{i}" for i in picks]
    return images, names


def _plain_images(path: Path) -> list[Path] | None:
    """The image files of a plain folder (or the one file given); None when it is a dataset for open_images."""
    from fdsl.data.real import BUILTIN, IMAGE_SUFFIXES

    if str(path) in BUILTIN:
        return None
    if path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES:
        return [path]
    if not path.is_dir():
        return None
    files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
                   and not p.name.startswith("."))
    if files:
        return files
    if any(p.is_dir() and not p.name.startswith(".") for p in path.iterdir()):
        return None  # class folders: an ImageFolder tree
    suffixes = "/".join(sorted(s.lstrip(".") for s in IMAGE_SUFFIXES))
    raise FdslError(f"--data {path} holds no images (no {suffixes} files); give {FORMS}")


def _spread(total: int, count: int) -> list[int]:
    return sorted(set(np.linspace(0, total - 1, min(count, total)).round().astype(int).tolist()))


def _read(path: Path) -> Image.Image:
    try:
        with Image.open(path) as image:
            return image.convert("RGB")
    except Exception as exc:  # PIL raises OSError, SyntaxError, ValueError... for a damaged file
        raise FdslError(f"cannot read image {path} ({exc.__class__.__name__}); replace or remove that file") from None


def crop(image: Image.Image, run) -> Image.Image:
    """The run's evaluation crop: resize the short side to size / crop_pct, then a centre crop of the size."""
    from torchvision import transforms as T

    size = run.image_size
    side = max(size, int(round(size / run.crop_pct)))
    return T.CenterCrop(size)(T.Resize(side)(image))


def batch(images: list[Image.Image], run) -> tuple[torch.Tensor, np.ndarray]:
    """(normalised input batch, the same crops as uint8 HxWx3 for drawing) at the run's size."""
    from torchvision import transforms as T

    crops = [crop(image, run) for image in images]
    to_input = T.Compose([T.ToTensor(), T.Normalize(run.mean, run.std)])
    inputs = torch.stack([to_input(c) for c in crops])
    return inputs, np.stack([np.asarray(c) for c in crops])
