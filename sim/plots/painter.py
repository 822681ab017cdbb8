"""A second process that draws some of a run's plots while this one draws the others.

Drawing the six PNGs of a run is most of what ``killline run`` does after its imports;
on a machine with two cores a second process halves it. The painter is started before
the model runs, so its own imports (matplotlib, pandas) overlap with the simulation; when
the tables are on disk it reads them back (plots read tables, never the model) and draws
its share. It is spawned, not forked, so nothing of this process's threads or state is
copied into it.

    with Painter() as painter:
        result = api.run(scenario)
        api.save(result, out, painter=painter)
"""

from __future__ import annotations

import multiprocessing
import signal
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import Any


def _ignore_interrupts() -> None:
    """Ctrl-C is this process's to handle: the painter finishes its plot and stops."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _warm_up() -> None:
    """Import what drawing needs, so the first plot does not wait for it."""
    import sim.plots.run  # noqa: F401


def _paint(
    tables_folder: Path,
    plots_folder: Path,
    names: Sequence[str],
    runway_threshold: float | None,
    startup_targets: Mapping[str, Any] | None,
) -> list[Path]:
    """Draw the named run plots from the Parquet tables in ``tables_folder``."""
    import pandas as pd

    from sim.plots.run import plot_makers
    from sim.plots.style import save_figures

    tables = {
        path.stem: pd.read_parquet(path) for path in sorted(Path(tables_folder).glob("*.parquet"))
    }
    makers = plot_makers(tables, runway_threshold, startup_targets)
    return save_figures({name: makers[name] for name in names}, plots_folder)


class Painter:
    """One spawned process drawing plots on request; use it as a context manager."""

    def __init__(self) -> None:
        self._pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> Painter:
        context = multiprocessing.get_context("spawn")
        self._pool = ProcessPoolExecutor(
            max_workers=1, mp_context=context, initializer=_ignore_interrupts
        )
        self._pool.submit(_warm_up)
        return self

    def __exit__(self, kind: type | None, *_: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=kind is None, cancel_futures=True)
            self._pool = None

    def paint(
        self,
        tables_folder: Path,
        plots_folder: Path,
        names: Sequence[str],
        runway_threshold: float | None,
        startup_targets: Mapping[str, Any] | None,
    ) -> Future[list[Path]]:
        """Start drawing ``names`` from the tables written in ``tables_folder``."""
        if self._pool is None:
            raise RuntimeError("a Painter draws only inside its `with` block")
        return self._pool.submit(
            _paint, tables_folder, plots_folder, list(names), runway_threshold, startup_targets
        )
