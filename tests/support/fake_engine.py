"""A simulated Docker engine API on a unix socket: fixed ``/info`` and ``/containers/<name>/json`` answers,
for hosts the tests cannot make (no memory cgroup, no swap accounting). Only the two GETs the program asks
(components/instance/docker_engine.py); every request path is recorded."""

from __future__ import annotations

import json
import socket
import socketserver
import ssl
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

__all__ = ["FakeEngine", "serve_engine", "serve_tls_engine"]


@dataclass
class FakeEngine:
    socket: Path
    paths: list[str] = field(default_factory=list)
    port: int = 0
    """For a tcp engine: its port on 127.0.0.1."""
    client_subjects: list[str] = field(default_factory=list)
    """For a tcp engine: the common name of each client certificate presented."""


class _UnixHTTPServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


def _handler(engine: FakeEngine, info: dict[str, Any], known: dict[str, dict[str, Any]]) -> type:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            engine.paths.append(self.path)
            peer = getattr(self.connection, "getpeercert", None)
            if peer is not None:
                subject = dict(item for part in peer()["subject"] for item in part)
                engine.client_subjects.append(subject["commonName"])
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
            return "engine"

        def log_message(self, format: str, *args: object) -> None:
            return None

    return Handler


@contextmanager
def serve_engine(
    directory: Path, info: dict[str, Any], containers: dict[str, dict[str, Any]] | None = None
) -> Iterator[FakeEngine]:
    engine = FakeEngine(directory / "docker.sock")
    server = _UnixHTTPServer(str(engine.socket), _handler(engine, info, containers or {}))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield engine
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def serve_tls_engine(ca_pem: str, server_cert: str, server_key: str, info: dict[str, Any]) -> Iterator[FakeEngine]:
    """The engine API over TLS on 127.0.0.1, as `dockerd --tlsverify`: a client certificate signed by
    ``ca_pem`` is required."""
    engine = FakeEngine(Path(""))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.verify_mode = ssl.CERT_REQUIRED
    context.load_verify_locations(cadata=ca_pem)
    with tempfile.TemporaryDirectory() as directory:
        cert_file, key_file = Path(directory, "cert.pem"), Path(directory, "key.pem")
        cert_file.write_text(server_cert)
        key_file.write_text(server_key)
        context.load_cert_chain(cert_file, key_file)

    class Server(socketserver.ThreadingMixIn, HTTPServer):
        daemon_threads = True

        def get_request(self) -> tuple[socket.socket, Any]:
            raw, address = self.socket.accept()
            return context.wrap_socket(raw, server_side=True), address

        def handle_error(self, request: Any, client_address: Any) -> None:
            return None

    server = Server(("127.0.0.1", 0), _handler(engine, info, {}))
    engine.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield engine
    finally:
        server.shutdown()
        server.server_close()
