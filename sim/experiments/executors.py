"""Executors: where the many runs of an ensemble, a sweep or a sensitivity analysis happen
(sim/experiments/engine.py hands them the tasks).

Every run of those commands is a pure function of its arguments (a scenario, a seed, some
overrides), so an executor only decides *where* it runs, never what it computes:

* :class:`SerialExecutor`: one after the other, in this process (``workers=1``);
* :class:`ProcessExecutor`: ``K`` local processes (the default, one per core), forked from a
  ``forkserver`` that has imported the model once (``spawn`` where there is no forkserver);
  the caller's global start method is left alone;
* :class:`DaskExecutor`: the workers of a Dask cluster (``dask.distributed``), reached at a
  scheduler address such as ``tcp://host:8786``.

Tasks are tuples of arguments; ``fn(shared, *task)`` runs for each, where ``shared`` is an
argument common to all (the scenario: sent once per worker on Dask). Results come back in
the order they finish, each with its task's position, so the caller can store them by
position and get the same tables whatever the executor. A task that raises is returned as a
:class:`TaskError` rather than raised, so the caller can name the run that failed.

Each worker runs numpy single-threaded (``OMP_NUM_THREADS=1`` and friends): the model's
arrays are too small to gain from threads, and two workers then scale on two cores.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from tqdm import tqdm

import sim.model
from sim.experiments.dask_checks import probe, said

THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
CONNECT_TIMEOUT = 10.0  # seconds to wait for a Dask scheduler
STOP_SECONDS = 2.0  # seconds a stopped worker (or the pool's thread) is given to end
PARENT_POLL_SECONDS = 0.5  # how often a worker checks that its parent lives


@dataclass(frozen=True)
class TaskError:
    """A task that raised: the error in one line, and the worker's traceback."""

    message: str
    traceback: str = ""

    @classmethod
    def from_exception(cls, exc: BaseException, tb: str = "") -> TaskError:
        """The error of ``exc``; ``tb`` is the worker's traceback when it was raised elsewhere."""
        text = tb or "".join(traceback.format_exception(exc))
        return cls(f"{type(exc).__name__}: {exc}", text)


# position of the task, its result (None on error), the error (None on success)
Finished = tuple[int, Any, TaskError | None]


def default_workers() -> int:
    """The cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


class Executor:
    """Runs tasks and yields them as they finish; use as a context manager."""

    kind = "serial"
    workers = 1
    address = ""

    def run(
        self, fn: Callable[..., Any], shared: Any, tasks: Sequence[tuple]
    ) -> Iterator[Finished]:
        """Run ``fn(shared, *task)`` for every task; yield ``(position, result, error)``."""
        raise NotImplementedError

    def cancel(self) -> None:
        """Drop the tasks not started yet; those running finish and are still yielded."""

    def successes(
        self, fn: Callable[..., Any], shared: Any, tasks: Sequence[tuple]
    ) -> Iterator[tuple[int, Any]]:
        """Run ``fn(shared, *task)`` for every task; yield ``(position, result)`` of each that
        succeeds, as it finishes. The first failure drops the tasks not started yet.

        Raises:
            TaskFailed: for the first task (in task order) that raised, once the tasks
                already running have finished.
        """
        failures: list[tuple[int, TaskError]] = []
        for position, value, error in self.run(fn, shared, tasks):
            if error is not None:
                failures.append((position, error))
                self.cancel()
                continue
            yield position, value
        if failures:
            position, error = min(failures, key=lambda failure: failure[0])
            raise TaskFailed(position, error, others=len(failures) - 1)

    def close(self) -> None:
        """Release the workers."""

    def describe(self) -> dict[str, Any]:
        """What ran the tasks, for manifests."""
        found: dict[str, Any] = {"executor": self.kind, "workers": self.workers}
        if self.address:
            found["scheduler"] = self.address
        return found

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class SerialExecutor(Executor):
    """Tasks one after another in this process."""

    def __init__(self) -> None:
        self._cancelled = False

    def run(
        self, fn: Callable[..., Any], shared: Any, tasks: Sequence[tuple]
    ) -> Iterator[Finished]:
        self._cancelled = False
        for position, task in enumerate(tasks):
            if self._cancelled:
                return
            try:
                result = fn(shared, *task)
            except Exception as exc:
                yield position, None, TaskError.from_exception(exc)
            else:
                yield position, result, None

    def cancel(self) -> None:
        self._cancelled = True


class WorkerLost(RuntimeError):
    """A worker process died, or the Dask scheduler went away, while tasks were running:
    no task failed, the workers did (killed, out of memory, a cluster gone)."""


def _worker_started(parent: int) -> None:
    """Initialiser of a local worker: Ctrl-C is the parent's to handle, not the workers';
    and a worker ends as soon as the process that started the pool (``parent``) is gone, so
    a killed parent leaves no worker behind (and the forkserver, which lives while a worker
    holds its pipe, ends with the last of them)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_end_with, args=(parent,), daemon=True).start()


def _end_with(parent: int) -> None:
    """Poll whether ``parent`` lives; end this process when it does not."""
    while True:
        try:
            os.kill(parent, 0)
        except ProcessLookupError:
            os._exit(1)
        except PermissionError:  # the pid now belongs to another user's process
            os._exit(1)
        time.sleep(PARENT_POLL_SECONDS)


def _describe_deaths(processes: Sequence[Any]) -> str:
    """How the pool's dead workers ended: ``exit code 3`` or ``killed by SIGKILL``."""
    endings = []
    for process in processes:
        code = process.exitcode
        if code is None:
            continue
        if code < 0:
            try:
                endings.append(f"killed by {signal.Signals(-code).name}")
            except ValueError:
                endings.append(f"killed by signal {-code}")
        elif code:
            endings.append(f"exit code {code}")
    return ", ".join(dict.fromkeys(endings)) or "ended without a word"


def _ready() -> int:
    """A first task: a fresh worker is up (and has the model, imported by the forkserver)."""
    return os.getpid()


@contextlib.contextmanager
def single_threaded_children() -> Iterator[None]:
    """Processes started inside inherit one numpy thread each (unless the caller set it)."""
    saved = {name: os.environ.get(name) for name in THREAD_VARIABLES}
    for name, value in saved.items():
        if value is None:
            os.environ[name] = "1"
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)


def _start_context(preload: Sequence[ModuleType]) -> multiprocessing.context.BaseContext:
    """A forkserver that imports the model (and the modules of the tasks) once, so new
    workers start in milliseconds (a spawned one takes a second or two to import them);
    spawn where there is none."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(list(dict.fromkeys(m.__name__ for m in (sim.model, *preload))))
    return context


class ProcessExecutor(Executor):
    """Tasks on ``workers`` local processes.

    Args:
        workers: number of processes.
        preload: modules the workers import before the first task (besides the model),
            typically the module of the task function.
    """

    kind = "processes"

    def __init__(self, workers: int, preload: Sequence[ModuleType] = ()) -> None:
        if workers < 1:
            raise ValueError(f"workers must be at least 1, not {workers}")
        self.workers = workers
        self.preload = tuple(preload)
        self._pool: cf.ProcessPoolExecutor | None = None
        self._futures: list[cf.Future] = []
        self._processes: list[Any] = []

    def start(self) -> None:
        """Start the pool now rather than on first use: the forkserver imports the model once
        and every worker is forked from it ready to run."""
        if self._pool is not None:
            return
        with single_threaded_children():
            self._pool = cf.ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=_start_context(self.preload),
                initializer=_worker_started,
                initargs=(os.getpid(),),
            )
            # the forkserver and the first workers start inside this block, with its settings
            warm = [self._pool.submit(_ready) for _ in range(self.workers)]
            cf.wait(warm)
        for future in warm:
            future.result()
        self._processes = list((getattr(self._pool, "_processes", None) or {}).values())

    def run(
        self, fn: Callable[..., Any], shared: Any, tasks: Sequence[tuple]
    ) -> Iterator[Finished]:
        self.start()
        assert self._pool is not None
        position_of = {}
        self._futures = []
        for position, task in enumerate(tasks):
            future = self._pool.submit(fn, shared, *task)
            position_of[future] = position
            self._futures.append(future)
        for future in cf.as_completed(self._futures):
            if future.cancelled():
                continue
            error = future.exception()
            if isinstance(error, cf.process.BrokenProcessPool):
                alive = list((getattr(self._pool, "_processes", None) or {}).values())
                how = _describe_deaths([*self._processes, *alive])
                raise WorkerLost(f"a worker process died ({how})")
            if error is None:
                yield position_of[future], future.result(), None
            else:
                remote = getattr(error.__cause__, "tb", "")
                yield position_of[future], None, TaskError.from_exception(error, remote)

    def cancel(self) -> None:
        for future in self._futures:
            future.cancel()

    def close(self) -> None:
        if self._pool is None:
            return
        pool, self._pool = self._pool, None
        unfinished = any(not future.done() for future in self._futures)
        self.cancel()
        if not unfinished:
            pool.shutdown(wait=True)
            return
        # A long run still going would hold Ctrl-C up: stop the workers now. A worker
        # stopped while sending a result leaves half a message in the result pipe, and the
        # pool's manager thread waits for the rest for ever (and exit waits for it): so the
        # workers are killed, the parent's end of that pipe is closed (the manager reads
        # the end of it and sees a broken pool), and nothing waits more than a few seconds.
        processes = list((getattr(pool, "_processes", None) or {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            if process.is_alive():
                process.terminate()
        for process in processes:
            process.join(STOP_SECONDS)
            if process.is_alive():
                process.kill()
                process.join(STOP_SECONDS)
        queue = getattr(pool, "_call_queue", None)
        if queue is not None:
            queue.cancel_join_thread()  # its feeder may be stuck writing to dead workers
        result_queue = getattr(pool, "_result_queue", None)
        with contextlib.suppress(OSError, AttributeError):
            result_queue._writer.close()
        manager = getattr(pool, "_executor_manager_thread", None)
        if manager is not None:
            manager.join(STOP_SECONDS)


QUIET_LOGGERS = ("distributed.client", "distributed.comm", "distributed.batched")


class DaskExecutor(Executor):
    """Tasks on the workers of a Dask cluster.

    Args:
        scheduler: the scheduler's address (``tcp://host:8786``), or a connected
            ``distributed.Client`` (which is then left open).
        timeout: seconds to wait for the scheduler (default ``CONNECT_TIMEOUT``).
    """

    kind = "dask"

    def __init__(self, scheduler: Any, *, timeout: float | None = None) -> None:
        from distributed import Client

        wait = timeout or CONNECT_TIMEOUT
        self._futures: list[Any] = []
        self._stopping = False
        # the client logs its failed reconnections to stderr; the loss is reported in one line
        self._log_levels = {name: logging.getLogger(name).level for name in QUIET_LOGGERS}
        for name in QUIET_LOGGERS:
            logging.getLogger(name).setLevel(logging.CRITICAL)
        if isinstance(scheduler, Client):
            self.client, self._own = scheduler, False
        else:
            probe(str(scheduler), wait)
            try:
                self.client = Client(scheduler, timeout=wait, set_as_default=False)
            except Exception as exc:  # distributed raises many kinds for a bad address
                raise ConnectionError(
                    f"cannot reach the Dask scheduler at {scheduler}: {said(exc)}"
                ) from None
            self._own = True
        self.address = self.client.scheduler.address
        try:  # a scheduler without workers would take the tasks and never run them
            self.client.wait_for_workers(1, timeout=wait)
        except Exception:
            self.close()
            raise ConnectionError(
                f"the Dask scheduler at {self.address} has no workers (waited {wait:g} s)"
            ) from None
        self.workers = sum(self.client.nthreads().values())

    def run(
        self, fn: Callable[..., Any], shared: Any, tasks: Sequence[tuple]
    ) -> Iterator[Finished]:
        from distributed import as_completed

        if not self.client.nthreads():
            raise ConnectionError(f"the Dask scheduler at {self.address} has no workers")
        sent = self.client.scatter(shared, broadcast=True, hash=False)
        position_of = {}
        self._futures = []
        for position, task in enumerate(tasks):
            future = self.client.submit(fn, sent, *task, pure=False)
            position_of[future.key] = position
            self._futures.append(future)
        self._stopping = False
        missing = set(position_of)
        try:
            for future in as_completed(self._futures, loop=self.client.loop):
                if future.status == "cancelled":
                    continue
                position = position_of[future.key]
                missing.discard(future.key)
                if future.status == "error":
                    error = future.exception()
                    text = "".join(traceback.format_exception(error, tb=future.traceback()))
                    yield position, None, TaskError.from_exception(error, text)
                else:
                    yield position, future.result(), None
                future.release()
        except (OSError, TimeoutError, cf.CancelledError) as exc:  # the scheduler went away
            raise WorkerLost(f"lost the Dask scheduler at {self.address}: {said(exc)}") from None
        if missing and not self._stopping:
            # a client that loses its scheduler cancels every pending future: as_completed
            # then ends as if all were done
            raise WorkerLost(
                f"lost the Dask scheduler at {self.address}: {len(missing)} tasks cancelled"
            )

    def cancel(self) -> None:
        self._stopping = True
        pending = [future for future in self._futures if not future.done()]
        if pending:
            self.client.cancel(pending)

    def close(self) -> None:
        self.cancel()
        self._futures = []
        if self._own:
            self.client.close()
        for name, level in self._log_levels.items():
            logging.getLogger(name).setLevel(level)


def make_executor(
    workers: int | None = None, scheduler: Any = None, preload: Sequence[ModuleType] = ()
) -> Executor:
    """The executor for ``--workers K`` or ``--scheduler ADDRESS``.

    Args:
        workers: local processes; default one per core; 1 runs serially in this process.
        scheduler: a Dask scheduler address or Client; overrides ``workers``.
        preload: modules local workers import before the first task (see ProcessExecutor).
    """
    if scheduler is not None:
        return DaskExecutor(scheduler)
    count = default_workers() if workers is None else workers
    if count < 1:
        raise ValueError(f"--workers must be at least 1, not {count}")
    return SerialExecutor() if count == 1 else ProcessExecutor(count, preload)


def in_notebook() -> bool:
    """Whether this runs in a Jupyter kernel (where a bar on stderr would not redraw)."""
    shell = sys.modules.get("IPython")
    ipython = shell.get_ipython() if shell is not None else None
    return type(ipython).__name__ == "ZMQInteractiveShell"


def progress_bar(
    total: int,
    *,
    initial: int = 0,
    desc: str = "",
    unit: str = "run",
    enabled: bool | None = None,
) -> tqdm:
    """A progress bar with ETA on stderr (a widget in a Jupyter notebook); off when
    ``enabled`` is False, and by default when stderr is neither a terminal nor a notebook."""
    notebook = in_notebook()
    if enabled is None:
        enabled = notebook or sys.stderr.isatty()
    if notebook:
        from tqdm.notebook import tqdm as widget

        return widget(
            total=total, initial=initial, desc=desc, unit=unit, disable=not enabled, smoothing=0.1
        )
    return tqdm(
        total=total,
        initial=initial,
        desc=desc,
        unit=unit,
        file=sys.stderr,
        disable=not enabled,
        dynamic_ncols=True,
        smoothing=0.1,
    )


class TaskFailed(RuntimeError):
    """A task raised; ``position`` is its place in the task list."""

    def __init__(self, position: int, error: TaskError, others: int = 0) -> None:
        self.position, self.error, self.others = position, error, others
        more = f" (and {others} more)" if others else ""
        super().__init__(f"task {position} failed: {error.message}{more}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (TaskFailed, (self.position, self.error, self.others))
