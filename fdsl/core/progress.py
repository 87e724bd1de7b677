"""Progress: a live tqdm bar on a terminal; in a log file (not a TTY) a plain line every half minute.

tqdm redraws its bar with carriage returns, which a log file (CI, a cluster job) keeps as
thousands of fragments; a plain, occasional line is what a log reader wants.
"""

from __future__ import annotations

import sys
import time

from tqdm import tqdm

LOG_INTERVAL = 30.0  # seconds between plain lines when the output is not a terminal


def bar(total: int, desc: str, enabled: bool = True, initial: int = 0, stream=None):
    from fdsl.core.notes import work_starts

    work_starts()  # a bar means the work has begun: the notes about its settings come first
    stream = stream or sys.stderr
    if not enabled:
        return tqdm(total=total, initial=initial, disable=True)
    if getattr(stream, "isatty", lambda: False)():
        return tqdm(total=total, initial=initial, desc=desc, leave=False, file=stream, dynamic_ncols=True)
    return PlainProgress(total, desc, initial, stream)


class PlainProgress:
    """tqdm's update / set_postfix / close, printing one plain line at most every LOG_INTERVAL seconds."""

    def __init__(self, total: int, desc: str, initial: int = 0, stream=None, interval: float | None = None):
        self.total, self.desc, self.n, self.stream = total, desc, initial, stream
        self.interval = LOG_INTERVAL if interval is None else interval
        self.postfix, self.started = "", time.monotonic()
        self.last = self.started

    def update(self, count: int = 1) -> None:
        self.n += count
        now = time.monotonic()
        if now - self.last >= self.interval:
            self.last = now
            rate = self.n / max(now - self.started, 1e-9)
            print(f"{self.desc}: {self.n}/{self.total} ({rate:.1f}/s){self.postfix}", file=self.stream, flush=True)

    def set_postfix(self, **values) -> None:
        self.postfix = "".join(f", {key} {value}" for key, value in values.items())

    def close(self) -> None:
        pass
