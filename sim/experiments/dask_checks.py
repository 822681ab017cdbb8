"""Checks before a Dask client connects: who answers at a scheduler address, within a
bounded wait (sim/experiments/executors.py uses them)."""

from __future__ import annotations

from typing import Any


def said(exc: BaseException) -> str:
    """An exception in a few words (some of distributed's have none)."""
    return str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__


def probe(address: str, wait: float) -> None:
    """Ask ``address`` who it is, within ``wait`` seconds, before a Dask client (which
    another service on that port, or nothing at all, would hold far longer) connects.

    Raises:
        ConnectionError: the address is malformed, unreachable or not a Dask scheduler.
    """
    import asyncio

    from distributed.comm import connect

    async def ask() -> Any:
        comm = await asyncio.wait_for(connect(address, timeout=wait), wait)
        try:
            await asyncio.wait_for(comm.write({"op": "identity", "reply": True}), wait)
            return await asyncio.wait_for(comm.read(), wait)
        except (TimeoutError, MemoryError, OSError, ValueError, TypeError) as exc:
            return exc  # connected, but what answered speaks no Dask (or nothing)
        finally:
            comm.abort()

    try:
        answer = asyncio.run(ask())
    except TimeoutError:
        raise ConnectionError(
            f"cannot reach the Dask scheduler at {address}: no Dask scheduler answered "
            f"within {wait:g} s (nothing there, or another service)"
        ) from None
    except MemoryError:  # a frame length read from another protocol's bytes
        answer = None
    except Exception as exc:
        raise ConnectionError(
            f"cannot reach the Dask scheduler at {address}: {said(exc)}"
        ) from None
    if not isinstance(answer, dict) or answer.get("type") != "Scheduler":
        raise ConnectionError(
            f"cannot reach the Dask scheduler at {address}: something else listens there "
            "(it does not answer as a Dask scheduler)"
        )
