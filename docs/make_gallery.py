"""The README's gallery: one contact sheet per formula family, from a small catalog of its own search.

    .venv/bin/python docs/make_gallery.py            # docs/gallery/<family>.png, about a minute on 2 cores

Each sheet is ``fdsl search FAMILY --categories 4 --seed 1`` then ``fdsl preview`` of that catalog (4 categories,
6 instances each, 96-px tiles), at the family's published render settings except a smaller point count where a
chaos game would otherwise take most of the minute.  The same seed gives the same sheets.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
# Search options that keep a family's search to seconds; the render is the preview's own.
FAMILIES = {
    "fractal": ["--points", "20000", "--size", "128"],
    "onepfrac": ["--points", "20000", "--size", "128"],
    "ofdb": ["--points", "20000", "--size", "128"],
    "rcdb": [],
    "visual-atom": [],
    "segrcdb": [],
    "perlin": [],
    "bezier": [],
    "fractal3d": [],
}


def main() -> None:
    out = HERE / "gallery"
    out.mkdir(exist_ok=True)
    fdsl = [sys.executable, "-m", "fdsl"]
    with tempfile.TemporaryDirectory() as scratch:
        for family, options in FAMILIES.items():
            catalog = Path(scratch) / family
            subprocess.run([*fdsl, "search", family, "--categories", "4", "--seed", "1", "--out", str(catalog),
                            "--quiet", *options], check=True)
            subprocess.run([*fdsl, "preview", str(catalog), "--out", str(out / f"{family}.png"), "--rows", "4",
                            "--columns", "6", "--tile", "96"], check=True)
            print(f"{family}: {out / f'{family}.png'}")


if __name__ == "__main__":
    main()
