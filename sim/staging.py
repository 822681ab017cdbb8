"""Where results folders are written: the results root checked before any work, hidden
staging folders (named by their writer's process, so stale ones can be cleaned), ordinary
permissions, and the atomic rename into place (sim/folder.py writes what goes in)."""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path


def default_root() -> Path:
    """Where results go when no ``--out`` is given: ``results/`` in the working folder."""
    return Path("results")


class OutputError(ValueError):
    """A results root that cannot hold results (a file, under a file, read-only, empty)."""


class WriteFailed(OSError):
    """Writing a results folder failed part-way (a full disk): nothing was left behind."""


def check_root(out: str | Path | None) -> Path:
    """The results root, checked before any work: a folder that exists or can be made, and
    that this process may write into. Makes it.

    Raises:
        OutputError: one line naming the root and what is wrong.
    """
    if out is not None and str(out).strip() == "":
        raise OutputError("--out: an empty path; give a folder for the results")
    root = Path(out) if out is not None else default_root()
    for parent in (root, *root.parents):
        if parent.exists() and not parent.is_dir():
            where = "is" if parent == root else f"lies under {parent}, which is"
            raise OutputError(f"--out {root}: {where} a file, not a folder")
        if parent.exists():
            break
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"--out {root}: cannot create it ({exc.strerror or exc})") from None
    if not os.access(root, os.W_OK | os.X_OK):
        raise OutputError(f"--out {root}: not writable (permission denied)")
    return root


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def open_up(folder: Path) -> None:
    """Give a staged folder and its subfolders the permissions of an ordinary folder
    (mkdtemp makes them 0700)."""
    mode = 0o777 & ~_umask()
    for path in (folder, *(p for p in folder.rglob("*") if p.is_dir())):
        os.chmod(path, mode)


STAGING = ".staging-"


def staging_folder(parent: Path, name: str) -> Path:
    """A hidden staging folder in ``parent``, named by this process (so the next writer can
    tell one whose writer was killed); stale ones are removed first."""
    clean_staging(parent)
    return Path(tempfile.mkdtemp(prefix=f"{STAGING}{os.getpid()}-{name}.", dir=parent))


def clean_staging(parent: Path) -> list[Path]:
    """Remove the staging folders in ``parent`` whose writing process is gone; returns them."""
    removed = []
    for path in parent.glob(f"{STAGING}*"):
        pid = path.name[len(STAGING) :].split("-", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def atomic_folder(final: Path, fill: Callable[[Path], None]) -> Path:
    """Create `final` by filling a staging sibling folder and renaming it into place.

    If `final` exists already, a numbered suffix is added rather than overwriting it. If
    `fill` raises, the staging folder is removed and nothing is left behind; an OSError
    while writing (a full disk) is raised as :class:`WriteFailed` in one line.
    """
    final.parent.mkdir(parents=True, exist_ok=True)
    target = final
    counter = 1
    while target.exists():
        counter += 1
        target = final.with_name(f"{final.name}-{counter}")
    temporary = staging_folder(target.parent, target.name)
    try:
        fill(temporary)
        open_up(temporary)
        os.replace(temporary, target)
    except OSError as exc:
        shutil.rmtree(temporary, ignore_errors=True)
        reason = exc.strerror or os.strerror(exc.errno or errno.EIO)
        raise WriteFailed(
            exc.errno, f"cannot write the results folder {target}: {reason}; nothing was kept"
        ) from None
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    return target
