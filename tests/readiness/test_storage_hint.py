"""The readiness gate's storage hint: a server failing on its own (5xx) is blamed on its storage, by name."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from components.readiness import ReadinessGateProvider, RegistryNotReady

HINT = "check bucket 'packs' (palette-pack-registry:s3Bucket)"


@contextmanager
def answering(status: int) -> Iterator[str]:
    """A plain-HTTP server on 127.0.0.1 that answers every GET with ``status``."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b'{"errors":[{"code":"UNAVAILABLE"}]}'
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: object) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _failure(url: str, **extra: object) -> str:
    props = {"url": url, "username": "spectro", "password": "pw-0123456789abcdef", "timeout_seconds": 0.3, **extra}
    with pytest.raises(RegistryNotReady) as raised:
        ReadinessGateProvider().create(props)
    return str(raised.value)


@pytest.mark.parametrize("status", [500, 503])
def test_a_server_error_carries_the_hint(status: int) -> None:
    with answering(status) as url:
        message = _failure(url, storage_hint=HINT)
    assert f"answered {status}" in message
    assert message.endswith(HINT)


def test_no_hint_without_one_or_for_a_wrong_path() -> None:
    with answering(503) as url:
        assert "s3Bucket" not in _failure(url)
    with answering(404) as url:
        message = _failure(url, storage_hint=HINT)
    assert "s3Bucket" not in message and "check the health path" in message
