"""Dask failure modes on loopback: an address where another service listens (silent),
malformed addresses, and a scheduler without workers. Each is one line, exit 2, within a
bounded wait, with nothing written."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import cli

from sim.experiments import executors

ARGS = ["ensemble", "sprint_race", "--replicates", "2", "--users", "500", "--months", "3",
        "--set", "run.startups=500", "--quiet"]  # fmt: skip
WAIT = 1.0  # seconds the checks may wait here (CONNECT_TIMEOUT)


@pytest.fixture
def short_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(executors, "CONNECT_TIMEOUT", WAIT)


@pytest.fixture
def silent_service() -> Iterator[str]:
    """A TCP port that accepts connections and never says a word."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    accepted: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                accepted.append(server.accept()[0])
            except OSError:
                return

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"tcp://127.0.0.1:{server.getsockname()[1]}"
    server.close()
    for conn in accepted:
        conn.close()


@pytest.fixture
def talking_service() -> Iterator[str]:
    """A TCP port that answers every connection with a line of HTTP and hangs up."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)

    def serve() -> None:
        while True:
            try:
                conn = server.accept()[0]
            except OSError:
                return
            with conn:
                conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n" * 4)

    threading.Thread(target=serve, daemon=True).start()
    yield f"tcp://127.0.0.1:{server.getsockname()[1]}"
    server.close()


def assert_refused(address: str, out: Path, *texts: str) -> None:
    began = time.monotonic()
    code, _, err = cli([*ARGS, "--scheduler", address, "--out", str(out)])
    assert time.monotonic() - began < 30 * WAIT + 30  # bounded (a loaded machine is slow)
    assert code == 2, err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    for text in texts:
        assert text in err, f"{text!r} not in {err!r}"
    assert not any(out.iterdir()), "nothing is written for a scheduler that cannot run"


def test_another_service_that_says_nothing(short_wait, silent_service, tmp_path: Path) -> None:
    assert_refused(silent_service, tmp_path, "no Dask scheduler answered within 1 s")


def test_another_service_that_talks(short_wait, talking_service, tmp_path: Path) -> None:
    assert_refused(talking_service, tmp_path, "cannot reach the Dask scheduler")


@pytest.mark.parametrize("address", ["nope://host:1", "tcp://[::::", "tcp://127.0.0.1:99999"])
def test_malformed_addresses(short_wait, address: str, tmp_path: Path) -> None:
    assert_refused(address, tmp_path, "cannot reach the Dask scheduler", address)


def test_a_scheduler_without_workers(short_wait, tmp_path: Path) -> None:
    from distributed import LocalCluster

    with LocalCluster(
        host="127.0.0.1", n_workers=0, processes=True, dashboard_address="127.0.0.1:0"
    ) as cluster:
        assert_refused(cluster.scheduler_address, tmp_path, "has no workers")
