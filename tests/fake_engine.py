"""A simulated Docker engine API on a unix socket: fixed ``/info`` and ``/containers/<name>/json`` answers,
for hosts the tests cannot make (no memory cgroup, no swap accounting). Only the two GETs the program asks
(components/docker_engine.py); every request path is recorded."""

from __future__ import annotations

import json
import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

__all__ = ["FakeEngine", "serve_engine"]


@dataclass
class FakeEngine:
    socket: Path
    paths: list[str] = field(default_factory=list)


class _UnixHTTPServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


@contextmanager
def serve_engine(
    directory: Path, info: dict[str, Any], containers: dict[str, dict[str, Any]] | None = None
) -> Iterator[FakeEngine]:
    engine = FakeEngine(directory / "docker.sock")
    known = containers or {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            engine.paths.append(self.path)
            body: Any
            if self.path == "/info":
                status, body = 200, {"ServerVersion": "fake", **info}
            elif self.path.startswith("/containers/") and self.path.endswith("/json"):
                name = self.path[len("/containers/") : -len("/json")]
                status, body = (200, known[name]) if name in known else (404, {"message": f"No such container: {name}"})
            else:
                status, body = 404, {"message": "page not found"}
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def address_string(self) -> str:
            return "unix"

        def log_message(self, format: str, *args: object) -> None:
            return None

    server = _UnixHTTPServer(str(engine.socket), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield engine
    finally:
        server.shutdown()
        server.server_close()
