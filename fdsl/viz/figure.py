"""What every kind returns (numbers + figure), matplotlib without a display, and a save that never half-writes."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from fdsl.core.errors import FdslError
from fdsl.core.files import atomic_open
from fdsl.core.notes import note as say  # "note" names a caption line below


def pyplot():
    """matplotlib.pyplot on the Agg backend: pictures are made on servers without a display."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


@dataclass
class Picture:
    """``numbers[label]`` holds each run's arrays; ``figure`` draws them; ``caption`` says what is shown."""

    numbers: dict
    figure: object
    caption: str = ""
    notes: list = field(default_factory=list)

    def save(self, out: Path, dpi: int = 110) -> Path:
        return save(self.figure, out, dpi)

    def close(self) -> None:
        pyplot().close(self.figure)


def save(figure, out: Path, dpi: int = 110) -> Path:
    """Written to a hidden temporary name and renamed: a failed or killed save leaves no figure behind."""
    out = check_out(out)
    suffix = out.suffix.lower().lstrip(".")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise FdslError(f"cannot create the folder of --out {out} ({exc.strerror}); choose a writable place") from None
    try:
        with atomic_open(out) as handle:
            figure.savefig(handle, dpi=dpi, format=suffix, bbox_inches="tight")
    except OSError as exc:
        raise FdslError(f"cannot write --out {out} ({exc.strerror}); choose a writable place") from None
    return out


def check_out(out: Path) -> Path:
    """An --out matplotlib can write, said before any work is done."""
    out = Path(out)
    if out.suffix.lower() not in (".png", ".pdf", ".svg", ".jpg", ".jpeg"):
        raise FdslError(f"--out {out}: give a .png (or .pdf, .svg, .jpg) file name")
    if out.is_dir():
        raise FdslError(f"--out {out} is a folder; give a file name such as {out / 'viz.png'}")
    if out.is_file():
        say(f"{out} exists: the new figure replaces it")
    return out


def title(figure, what: str, note: str = "") -> None:
    """The figure says what it shows (and, in a second line, how to read it)."""
    # Anchored above the top of the figure (saved with a tight bounding box) so it never covers panel titles.
    figure.suptitle(what + (f"\n{note}" if note else ""), fontsize=10, y=1.0, va="bottom")


def grid_shape(count: int) -> tuple[int, int]:
    """Rows and columns of a near-square grid of ``count`` tiles."""
    import math

    columns = max(1, math.ceil(math.sqrt(count)))
    return math.ceil(count / columns), columns
