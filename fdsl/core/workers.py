"""Worker processes for search and render: spawned (no inherited state), quiet on Ctrl-C.

Ctrl-C reaches every process of the terminal's process group.  Workers ignore
it, so only the parent sees the KeyboardInterrupt: it stops the pool and the
command prints one line and exits 130, with no traceback from each worker.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import signal


def _quiet_initializer(initializer, *initargs) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    initializer(*initargs)


def worker_pool(workers: int, initializer, initargs: tuple):
    """A spawn-context pool of ``workers`` processes, each set up by ``initializer(*initargs)``."""
    # Spawned while the parent ignores SIGINT, the workers start ignoring it too (an ignored signal stays
    # ignored across exec, and Python then installs no KeyboardInterrupt handler): no window during their
    # imports.  The initializer repeats it for start methods that do not exec.  The parent also *blocks*
    # SIGINT meanwhile: Linux keeps a blocked signal pending even when ignored, so a Ctrl-C that lands while
    # the pool starts (seconds on a busy machine) is delivered when the handler is back, not lost.  The
    # resource tracker, which unblocks SIGINT when it starts, is started first, outside that window.
    from multiprocessing import resource_tracker

    resource_tracker.ensure_running()
    try:
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:  # not the main thread: signals are not ours to change
        previous = None
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT}) if previous is not None else None
    pool = None
    try:
        pool = multiprocessing.get_context("spawn").Pool(workers, initializer=_quiet_initializer,
                                                         initargs=(initializer, *initargs))
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
            try:
                signal.pthread_sigmask(signal.SIG_SETMASK, mask)  # a Ctrl-C of the start-up is raised here
            except KeyboardInterrupt:
                if pool is not None:
                    pool.terminate()
                raise
    return pool


@contextlib.contextmanager
def task_results(workers: int, initializer, initargs: tuple, function, tasks, ordered: bool = False,
                 chunksize: int = 2):
    """``function`` over ``tasks``: in this process (one worker) or in a pool stopped on exit.

    Results come in any order, or in the tasks' order with ``ordered`` (then ``chunksize`` tasks at a time go
    to a worker, so that a lazy ``tasks`` iterator, e.g. a GPU rendering ahead, is not drained at once).
    """
    if workers == 1:
        initializer(*initargs)
        yield map(function, tasks)
        return
    pool = worker_pool(workers, initializer, initargs)
    try:
        # Terminated, not closed: a caller may stop reading early, and closing would wait for the whole (perhaps
        # endless, lazily fed) task stream to be worked off.
        yield pool.imap(function, tasks, chunksize=chunksize) if ordered else pool.imap_unordered(function, tasks)
    finally:
        pool.terminate()


@contextlib.contextmanager
def stopped_on_exit(pool):
    """Let the workers exit by themselves when all the work is done, kill them when it failed or was interrupted
    (for a pool whose every task has finished on success: an experiment's stages).

    A worker that exits by itself runs its finalizers, which release the semaphores it made (tqdm's lock, for
    one); a terminated worker leaves them to the resource tracker, which warns "leaked semaphore" at exit.
    """
    try:
        yield pool
    except BaseException:
        pool.terminate()
        raise
    else:
        pool.close()
    finally:
        pool.join()
