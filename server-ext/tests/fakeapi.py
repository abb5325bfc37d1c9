"""A loopback HTTP server standing in for the live intensity APIs (the ``api`` fixture, via conftest)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest


@dataclass
class Seen:
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # names lower-cased: HTTP header names are case-insensitive


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    delay_s: float = 0.0

    @staticmethod
    def json(payload: object, status: int = 200) -> Reply:
        return Reply(status, json.dumps(payload).encode())


@dataclass
class FakeApi:
    """A loopback HTTP server answering GETs from ``routes`` and recording every request."""

    base_url: str
    routes: dict[str, Reply] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)

    def count(self, path: str) -> int:
        return sum(s.path == path for s in self.seen)


@pytest.fixture
def api() -> Iterator[FakeApi]:
    state = FakeApi(base_url="")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            headers = {name.lower(): value for name, value in self.headers.items()}
            state.seen.append(Seen(parts.path, parse_qs(parts.query), headers))
            reply = state.routes.get(parts.path, Reply(404, b'{"error": "no route"}'))
            time.sleep(reply.delay_s)
            try:
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)
            except OSError:
                pass  # the client gave up (the timeout test)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
