"""A loopback HTTP proxy between the SDK and `lineageql serve` that loses answers on purpose."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

from tests.net import free_port


class LossyProxy:
    """Forwards every POST to `upstream`; when `drop(body)` says so, the request reaches the
    server (which commits it) but its answer never reaches the client: the connection closes
    without a response, as a proxy that dies, a reset or a client timeout would leave it."""

    def __init__(self, upstream: str, drop: Callable[[bytes], bool]) -> None:
        self.upstream = upstream
        self.drop = drop
        self.forwarded: list[bytes] = []
        self.dropped: list[bytes] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {
                    k: v
                    for k, v in self.headers.items()
                    if k.lower() in {"content-type", "authorization"}
                }
                answer = httpx.post(proxy.upstream, content=body, headers=headers, timeout=60)
                proxy.forwarded.append(body)
                if proxy.drop(body):
                    proxy.dropped.append(body)
                    self.close_connection = True
                    return  # the server answered; the client never hears it
                self.send_response(answer.status_code)
                self.send_header("Content-Type", answer.headers.get("content-type", ""))
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/graphql"
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @contextmanager
    def running(self) -> Iterator[LossyProxy]:
        self._thread.start()
        try:
            yield self
        finally:
            self._server.shutdown()
            self._server.server_close()


def first(marker: bytes) -> Callable[[bytes], bool]:
    """Drop the answer of the first request whose body holds `marker`, and only that one."""
    seen: list[bytes] = []

    def drop(body: bytes) -> bool:
        if marker in body and not seen:
            seen.append(body)
            return True
        return False

    return drop
