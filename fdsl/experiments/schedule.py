"""Run an experiment's stages one after another, or several at once in worker processes.

A small model at batch 16-128 keeps one core busy far better than it splits over two, so on a
2-core machine two stages with one torch thread each finish sooner than the same stages in turn with
two threads each: the scratch arm trains while the pre-training runs, and the seeds of an arm
train side by side.  A stage starts when the stages it needs are done, and in list order among
those ready.  Each stage is a normal run folder, so the results do not depend on the order.

Worker processes are spawned (no inherited state) and ignore Ctrl-C, as the render workers do; the
parent stops them all and the command exits 130.  Their training output goes to
``OUT/logs/STAGE.log``; the terminal gets one line per finished stage.
"""

from __future__ import annotations

import contextlib
import dataclasses
import queue
import sys
import time
from pathlib import Path
from typing import Callable

from fdsl.core.errors import FdslError
from fdsl.core.notes import work_starts


@dataclasses.dataclass
class Stage:
    name: str                   # unique; also the log file's name
    function: Callable          # module-level (picklable): function(*args) -> result
    args: tuple
    needs: tuple = ()           # names of the stages that must finish first


def run_stages(stages: list[Stage], jobs: int, log_folder: Path, progress: bool = True) -> dict:
    """{name: (result, seconds)} of every stage, running at most ``jobs`` at once."""
    names = [stage.name for stage in stages]
    if len(set(names)) != len(names):
        raise ValueError(f"stage names repeat: {names}")
    known = set(names)
    for stage in stages:
        if not set(stage.needs) <= known:
            raise ValueError(f"stage {stage.name} needs unknown stages {set(stage.needs) - known}")
    work_starts()  # the plan passed its checks: its notes are said now, not after the stages' minutes
    if jobs <= 1:
        return _in_turn(stages)
    return _at_once(stages, jobs, Path(log_folder), progress)


def _in_turn(stages: list[Stage]) -> dict:
    done = {}
    for stage in _dependency_order(stages):
        started = time.perf_counter()
        done[stage.name] = (stage.function(*stage.args), time.perf_counter() - started)
    return done


def _dependency_order(stages: list[Stage]) -> list[Stage]:
    """List order, each stage moved after the stages it needs."""
    ordered, placed, waiting = [], set(), list(stages)
    while waiting:
        ready = [stage for stage in waiting if set(stage.needs) <= placed]
        if not ready:
            raise ValueError(f"stages depend on each other in a cycle: {[stage.name for stage in waiting]}")
        ordered.append(ready[0])
        placed.add(ready[0].name)
        waiting.remove(ready[0])
    return ordered


def _logged_call(function, args, log_path: str):
    """In a worker: the stage with its output in its log file; (result, seconds) or the error as text."""
    started = time.perf_counter()
    with open(log_path, "a", encoding="utf-8") as log, contextlib.redirect_stdout(log), \
            contextlib.redirect_stderr(log):
        try:
            return "ok", function(*args), time.perf_counter() - started
        except FdslError as error:
            return "fdsl-error", str(error), 0.0
        except Exception:  # noqa: BLE001 - reported in the parent, with the worker's traceback in the log
            import traceback

            traceback.print_exc()
            return "crash", f"see {log_path}", 0.0


def _nothing() -> None:
    pass


def _next_finished(finished: queue.Queue):
    while True:  # in short waits, so that a Ctrl-C is seen at once
        with contextlib.suppress(queue.Empty):
            return finished.get(timeout=0.5)


def _at_once(stages: list[Stage], jobs: int, log_folder: Path, progress: bool) -> dict:
    from fdsl.core.workers import stopped_on_exit, worker_pool

    log_folder.mkdir(parents=True, exist_ok=True)
    finished: queue.Queue = queue.Queue()
    done, running, waiting = {}, set(), list(_dependency_order(stages))
    pool = worker_pool(min(jobs, len(stages)), _nothing, ())
    with stopped_on_exit(pool):
        while waiting or running:
            while len(running) < jobs:
                ready = next((stage for stage in waiting if set(stage.needs) <= done.keys()), None)
                if ready is None:
                    break
                waiting.remove(ready)
                running.add(ready.name)
                log_path = log_folder / f"{ready.name}.log"
                pool.apply_async(_logged_call, (ready.function, ready.args, str(log_path)),
                                 callback=lambda outcome, name=ready.name: finished.put((name, outcome)),
                                 error_callback=lambda error, name=ready.name: finished.put(
                                     (name, ("crash", repr(error), 0.0))))
                if progress:
                    print(f"started {ready.name} (log: {log_path})", file=sys.stderr, flush=True)
            name, (status, value, seconds) = _next_finished(finished)
            running.discard(name)
            if status != "ok":
                message = value if status == "fdsl-error" else f"stage {name} failed: {value}"
                raise FdslError(message)
            done[name] = (value, seconds)
            if progress:
                print(f"finished {name} in {seconds / 60:.1f} min ({len(done)}/{len(stages)} stages)",
                      file=sys.stderr, flush=True)
    return done
