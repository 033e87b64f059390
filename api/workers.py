"""The worker processes of `lineageql serve --workers N`: uvicorn's supervisor (health checks,
restarts, signals), with a listening socket of each worker's own on Linux.

On one listening socket shared by all workers, the worker that wakes first accepts every
connection waiting: 32 keep-alive connections opened together split 27 / 5 between two workers
in one run of `bench/load.py`, and the busier worker's queue set the p99 (180 ms, against about
100 ms when they split evenly). With one socket per worker, all bound to the address with
SO_REUSEPORT, the kernel hands each new connection to one of the listening sockets by a hash
of its addresses, so connections spread evenly whatever their timing.

The supervisor holds the address with a bound socket that does not listen (such a socket takes
no connections), and keeps no copy of a worker's socket once the worker has started (a spawned
worker inherits it at start): a worker that dies closes its socket, and new connections go to
the others until its replacement listens on a new one. Elsewhere than Linux, where SO_REUSEPORT
does not spread connections, all workers share one socket as before."""

from __future__ import annotations

import logging
import socket
import sys
from typing import Any

from uvicorn.config import Config
from uvicorn.supervisors import Multiprocess

BALANCED = sys.platform == "linux" and hasattr(socket, "SO_REUSEPORT")


def reserve_address(config: Config) -> socket.socket:
    """The supervisor's socket on the configured host and port: bound with SO_REUSEPORT (and
    SO_REUSEADDR, as uvicorn binds), not listening. Logs where the server runs, as uvicorn
    does. Raises OSError when the address cannot be bound."""
    family = socket.AF_INET6 if config.host and ":" in config.host else socket.AF_INET
    # SO_REUSEPORT would let this bind beside another server of the same user on the port,
    # which would then take half its connections: the address must be free for a socket
    # without it first (a listening socket on it, ours or not, refuses that).
    with socket.socket(family=family) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((config.host, config.port))
        address = probe.getsockname()
    sock = _bound(family, address)
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if family == socket.AF_INET6 else host
    logging.getLogger("uvicorn.error").info(
        "Uvicorn running on http://%s:%d (Press CTRL+C to quit), a listening socket per worker",
        shown,
        port,
    )
    return sock


def _bound(family: socket.AddressFamily, address: tuple[Any, ...]) -> socket.socket:
    sock = socket.socket(family=family)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(address)
    except BaseException:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


class BalancedWorkers(Multiprocess):
    """uvicorn's `Multiprocess`, where each worker it starts (at first, on a restart, or added
    with SIGTTIN) gets a new socket bound with SO_REUSEPORT to the address `reserve` holds.

    uvicorn's supervisor reads `self.sockets` once for each worker it starts; here that read
    makes the worker's socket. The supervisor's own copies are closed before the next one is
    made and after each of its methods that starts workers."""

    def __init__(self, config: Config, reserve: socket.socket) -> None:
        self.reserve = reserve
        self.handed: list[socket.socket] = []
        super().__init__(config, sockets=[])

    @property
    def sockets(self) -> list[socket.socket]:
        self.close_handed()  # each belongs to a worker that has started since
        own = _bound(self.reserve.family, self.reserve.getsockname())
        self.handed.append(own)
        return [own]

    @sockets.setter
    def sockets(self, value: list[socket.socket]) -> None:
        """The base class's assignment of the shared sockets: none here."""

    def close_handed(self) -> None:
        for sock in self.handed:
            sock.close()
        self.handed.clear()

    def init_processes(self) -> None:
        super().init_processes()
        self.close_handed()

    def restart_all(self) -> None:
        super().restart_all()
        self.close_handed()

    def keep_subprocess_alive(self) -> None:
        super().keep_subprocess_alive()
        self.close_handed()

    def handle_ttin(self) -> None:
        parent: Any = super()
        if hasattr(parent, "handle_ttin"):
            parent.handle_ttin()
        self.close_handed()

    def run(self) -> None:
        try:
            super().run()
        finally:
            self.close_handed()
            self.reserve.close()
