"""A small scripted OCI registry on 127.0.0.1 (HTTPS with a test authority, or plain HTTP) for the push
client's tests: answers registries in the field give and the stand-in does not, each an option. It also lists its
catalog and each repository's tags (what the Palette fake's sync reads: tests/support/palette_sync.py)."""

from __future__ import annotations

import hashlib
import json
import ssl
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from components.instance.proxy import READ_ONLY_ALLOW, READ_ONLY_BODY
from components.packs.oci_client import MANIFEST_MEDIA_TYPE
from tests.support.tls_support import Authority

STORAGE = "storage.invalid"
"""The bucket a redirected blob read points at."""


@dataclass
class Scripted:
    """Answers by (method, path prefix); records every request."""

    url: str = ""
    requests: list[tuple[str, str, str | None, bytes]] = field(default_factory=list)
    """(method, path with query, Authorization, body) of every request."""
    blobs: dict[str, bytes] = field(default_factory=dict)
    manifests: dict[str, bytes] = field(default_factory=dict)
    digest_header: bool = True
    """False: a manifest GET/HEAD answers without Docker-Content-Digest."""
    failures: list[int] = field(default_factory=list)
    """Statuses to answer to the next manifest PUTs before accepting one."""
    refusal: bytes = b'{"errors":[{"code":"MANIFEST_INVALID","message":"manifest invalid"}]}'
    """The body of those answers."""
    stored_digest: str | None = None
    """A Docker-Content-Digest to claim on manifest PUT instead of the real one."""
    foreign_upload_location: bool = False
    """Write an upstream's address (and a ``_state`` query) into an upload's Location, as a proxy does."""
    redirect_blob_reads: bool = False
    """Answer GET/HEAD of a stored blob with 307 to the storage (distribution with an S3/GCS/Azure driver and
    ``redirect`` on, its default: registry/storage/blobserver.go ``ServeBlob`` redirects for the request's
    method, HEAD included, once ``Stat`` found the blob)."""
    busy_for: int | None = None
    """Answer the first manifest PUT with 503 and this ``Retry-After`` (seconds)."""
    deletes: bool = True
    """False: a DELETE answers 405 UNSUPPORTED, as distribution does by default (storage.delete.enabled off)."""
    read_only: bool = False
    """Answer every write as the proxy answers it for a registry in read-only maintenance mode: 405 with
    ``Allow: GET, HEAD`` and the reason (components/instance/proxy.py)."""
    echo_authorization: bool = False
    """Refuse every request but a HEAD with 401 and an error message that quotes the Authorization header."""
    down: int | None = None
    """Answer every request with this status and an HTML page, as the nginx proxy does once the registry behind
    it is gone (502), overloaded (503) or not answering (504)."""


def _handler(state: Scripted) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _record(self) -> bytes:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            state.requests.append((self.command, self.path, self.headers.get("Authorization"), body))
            return body

        def _answer(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _dispatch(self) -> None:
            body = self._record()
            path, _, query = self.path.partition("?")
            if state.down is not None:
                page = f"<html><head><title>{state.down}</title></head><body>nginx</body></html>".encode()
                self._answer(state.down, page, {"Content-Type": "text/html"})
            elif state.echo_authorization and self.command != "HEAD":
                message = f"authentication required (got {self.headers.get('Authorization')})"
                self._answer(401, f'{{"errors":[{{"code":"UNAUTHORIZED","message":"{message}"}}]}}'.encode())
            elif state.read_only and self.command not in ("GET", "HEAD"):
                headers = {"Allow": READ_ONLY_ALLOW, "Content-Type": "application/json"}
                self._answer(405, READ_ONLY_BODY.encode(), headers)
            elif self.command == "DELETE" and not state.deletes:
                self._answer(405, b'{"errors":[{"code":"UNSUPPORTED","message":"The operation is unsupported."}]}')
            elif "/blobs/uploads/" in path and self.command == "POST":
                if state.foreign_upload_location:
                    location = f"https://upstream.invalid:1{path}session-1?_state=x"
                else:
                    location = f"{state.url}{path}session-1"
                self._answer(202, headers={"Location": location})
            elif "/blobs/uploads/" in path and self.command == "PUT":
                digest = query.split("digest=", 1)[1].replace("%3A", ":")
                state.blobs[digest] = body
                self._answer(201)
            elif "/blobs/" in path:
                digest = path.rsplit("/", 1)[1]
                if digest not in state.blobs:
                    self._answer(404)
                elif state.redirect_blob_reads:
                    self._answer(307, headers={"Location": f"http://{STORAGE}/blobs/{digest}?X-Amz-Signature=s"})
                else:
                    self._answer(200, state.blobs[digest])
            elif path == "/v2/_catalog" and self.command == "GET":
                names = sorted({stored[4 : stored.rindex("/manifests/")] for stored in state.manifests})
                self._answer(200, json.dumps({"repositories": names}).encode(), {"Content-Type": "application/json"})
            elif path.endswith("/tags/list") and self.command == "GET":
                repository = path[4 : -len("/tags/list")]
                tags = sorted(
                    p.rsplit("/", 1)[1] for p in state.manifests if p.startswith(f"/v2/{repository}/manifests/")
                )
                body = json.dumps({"name": repository, "tags": tags}).encode()
                self._answer(200 if tags else 404, body, {"Content-Type": "application/json"})
            elif "/manifests/" in path and self.command == "PUT":
                if state.failures:
                    self._answer(state.failures.pop(0), state.refusal)
                    return
                if state.busy_for is not None:
                    self._answer(503, headers={"Retry-After": str(state.busy_for)})
                    state.busy_for = None
                    return
                state.manifests[path] = body
                digest = state.stored_digest or "sha256:" + hashlib.sha256(body).hexdigest()
                self._answer(201, headers={"Docker-Content-Digest": digest})
            elif "/manifests/" in path:
                stored = state.manifests.get(path)
                if stored is None:
                    self._answer(404, b'{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}')
                    return
                headers = {"Content-Type": MANIFEST_MEDIA_TYPE}
                if state.digest_header:
                    headers["Docker-Content-Digest"] = "sha256:" + hashlib.sha256(stored).hexdigest()
                self._answer(200, stored, headers)
            else:
                self._answer(404)

        do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = _dispatch

        def log_message(self, format: str, *args: object) -> None:
            return None

    return Handler


@contextmanager
def scripted_registry(authority: Authority | None = None, name: str = "registry.test") -> Iterator[Scripted]:
    """Serve a ``Scripted`` registry: HTTPS with a leaf for ``name`` from ``authority``, plain HTTP without one."""
    context = None
    if authority is not None:
        leaf = authority.issue([name], [])
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        with tempfile.TemporaryDirectory() as directory:
            Path(directory, "tls.crt").write_text(leaf.certificate_pem)
            Path(directory, "tls.key").write_text(leaf.private_key_pem)
            context.load_cert_chain(Path(directory, "tls.crt"), Path(directory, "tls.key"))
    state = Scripted()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    server.daemon_threads = True
    if context is not None:
        server.socket = context.wrap_socket(server.socket, server_side=True)
    state.url = f"{'http' if context is None else 'https'}://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
