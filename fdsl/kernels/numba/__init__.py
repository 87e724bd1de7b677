"""Compiled CPU kernels (numba, no fast-math: bit-identical on every machine).

The kernels are compiled once and cached (``cache=True``).  numba caches next
to the source or in the user's cache folder, and raises at import when it can
write to neither (a read-only install with an unwritable home).  Before any
kernel is compiled, this package checks that and falls back to a folder in
the system's temporary directory, saying so on one line.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path


def _writable(folder) -> bool:
    try:
        os.makedirs(folder, exist_ok=True)
        tempfile.TemporaryFile(dir=folder).close()  # numba's own test of a cache folder
        return True
    except OSError:
        return False


def _ensure_a_cache_folder() -> None:
    from numba.core import config
    from numba.misc.appdirs import AppDirs

    if config.CACHE_DIR:  # NUMBA_CACHE_DIR: the user chose
        return
    in_tree = Path(__file__).parent / "__pycache__"
    user_wide = AppDirs(appname="numba", appauthor=False).user_cache_dir
    if _writable(in_tree) or _writable(user_wide):
        return
    owner = getattr(os, "getuid", lambda: "user")()  # one folder per user: another user's would not be writable
    fallback = Path(tempfile.gettempdir()) / f"fdsl-numba-cache-{owner}"
    config.CACHE_DIR = str(fallback)
    print(f"fdsl: note: cannot write numba's kernel cache to {in_tree} or {user_wide}; caching in {fallback} "
          "(set NUMBA_CACHE_DIR to choose)", file=sys.stderr)


_ensure_a_cache_folder()
