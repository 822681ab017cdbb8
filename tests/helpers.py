"""Helpers shared by test modules (pytest puts this folder on the import path)."""

from __future__ import annotations

import contextlib
import io

from sim.cli import main


def cli(args: list[str]) -> tuple[int, str, str]:
    """Run the ``killline`` command line in-process: exit code, stdout, stderr."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(args)
    return code, out.getvalue(), err.getvalue()
