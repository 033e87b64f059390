"""`lineageql serve --workers N` on Linux: each worker listens on a socket of its own
(SO_REUSEPORT), so connections opened together spread over the workers, and a worker that dies
is replaced by one listening again. Sockets are read from /proc."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.api.test_pg_workers import MultiWorkerServer, serving
from tests.conftest import ROOT

pytestmark = [
    pytest.mark.parametrize("database_url", ["postgresql"], indirect=True),
    pytest.mark.skipif(sys.platform != "linux", reason="SO_REUSEPORT spreads connections on Linux"),
]

WORKERS = 2
LISTEN, ESTABLISHED = "0A", "01"


def _sockets_on(port: int, state: str) -> set[int]:
    """Inodes of the IPv4 TCP sockets whose local port is `port`, in `state`."""
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, st, inode = fields[1], fields[3], int(fields[9])
        if int(local.rsplit(":", 1)[1], 16) == port and st == state:
            found.add(inode)
    return found


def _owners(inodes: set[int], pids: set[int]) -> dict[int, set[int]]:
    """For each of `pids`, which of the socket `inodes` its open files include."""
    owned: dict[int, set[int]] = {pid: set() for pid in pids}
    for pid in pids:
        fds = Path(f"/proc/{pid}/fd")
        for fd in fds.iterdir():
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:["):
                inode = int(target[8:-1])
                if inode in inodes:
                    owned[pid].add(inode)
    return owned


def _live_workers(server: MultiWorkerServer) -> set[int]:
    return {pid for pid in server.worker_pids() if Path(f"/proc/{pid}").exists()}


@pytest.fixture
def server(store_env: dict[str, str], tmp_path: Path) -> Iterator[MultiWorkerServer]:
    with serving(store_env, tmp_path, WORKERS) as started:
        yield started


def test_each_worker_listens_on_a_socket_of_its_own(server: MultiWorkerServer) -> None:
    workers = _live_workers(server)
    listening = _sockets_on(server.port, LISTEN)
    owned = _owners(listening, workers | {server.process.pid})
    assert len(workers) == WORKERS
    assert all(len(owned[pid]) == 1 for pid in workers), owned
    assert len(set().union(*(owned[pid] for pid in workers))) == WORKERS  # not one shared
    assert owned[server.process.pid] == set()  # the supervisor keeps none of them


def test_connections_opened_together_spread_over_the_workers(server: MultiWorkerServer) -> None:
    """32 connections opened at once, each kept open: on one shared socket, one worker could
    accept almost all of them (27 of 32 in a load run). Spread by the kernel's hash, a worker
    gets fewer than 6 of 32 with a chance of about 1 in 4,000."""
    connections = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(32)]
    try:
        deadline = time.monotonic() + 10
        while True:
            established = _sockets_on(server.port, ESTABLISHED)
            owned = _owners(established, _live_workers(server))
            held = Counter({pid: len(inodes) for pid, inodes in owned.items()})
            if sum(held.values()) == 32 or time.monotonic() > deadline:
                break
            time.sleep(0.05)
    finally:
        for connection in connections:
            connection.close()
    assert sum(held.values()) == 32, held
    assert min(held.values()) >= 6, held


def test_a_worker_that_dies_is_replaced_listening(server: MultiWorkerServer) -> None:
    before = _live_workers(server)
    victim = min(before)
    os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        workers = _live_workers(server)
        if victim not in workers and len(workers) == WORKERS:
            owned = _owners(_sockets_on(server.port, LISTEN), workers)
            if all(owned[pid] for pid in workers):
                break
        time.sleep(0.2)
    else:
        raise AssertionError(f"no replacement listened: {server.log()[-3000:]}")
    assert len(set().union(*owned.values())) == WORKERS
    # Every new connection is answered: none waits on the dead worker's socket.
    for _ in range(40):
        with httpx.Client(timeout=10) as http:
            assert http.post(server.url, json={"query": "{ __typename }"}).status_code == 200


def test_a_second_server_on_the_same_port_is_refused(
    server: MultiWorkerServer, store_env: dict[str, str], tmp_path: Path
) -> None:
    """SO_REUSEPORT lets sockets of one user share a port: a second `serve` there would take
    half of the first one's connections. It fails to start instead, naming the reason."""
    env = {**os.environ, **store_env}
    env.pop("LINEAGEQL_URL", None)
    for workers in ("2", "1"):
        second = subprocess.run(
            [sys.executable, "-m", "sdk.cli", "serve", "--port", str(server.port)]
            + ["--workers", workers],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            cwd=ROOT,
        )
        assert second.returncode != 0
        assert "address already in use" in (second.stdout + second.stderr).lower()
    assert httpx.post(server.url, json={"query": "{ __typename }"}).status_code == 200
