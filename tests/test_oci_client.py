"""The OCI push client against a scripted HTTPS registry: what it sends, where, and how it reads answers
the stand-in never gives (no digest header, a foreign upload Location, 503s, a wrong stored digest)."""

from __future__ import annotations

import base64
import hashlib
import ssl
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from components.oci_client import OciClient, OciError, OciTarget, pack_manifest
from tests.tls_support import Authority

NAME = "registry.test"
USER, PASSWORD = "admin", "Scripted-Pw-1"


@dataclass
class Scripted:
    """Answers by (method, path prefix); records every request."""

    url: str = ""
    requests: list[tuple[str, str, str | None, bytes]] = field(default_factory=list)
    blobs: dict[str, bytes] = field(default_factory=dict)
    manifests: dict[str, bytes] = field(default_factory=dict)
    digest_header: bool = True
    failures: list[int] = field(default_factory=list)
    """Statuses to answer to the next manifest PUTs before accepting one."""
    stored_digest: str | None = None
    """A Docker-Content-Digest to claim on manifest PUT instead of the real one."""


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
            if "/blobs/uploads/" in path and self.command == "POST":
                # A proxy that writes its upstream's address into the Location.
                self._answer(202, headers={"Location": f"https://upstream.invalid:1{path}session-1?_state=x"})
            elif "/blobs/uploads/" in path and self.command == "PUT":
                digest = query.split("digest=", 1)[1].replace("%3A", ":")
                state.blobs[digest] = body
                self._answer(201)
            elif "/blobs/" in path:
                digest = path.rsplit("/", 1)[1]
                self._answer(200 if digest in state.blobs else 404)
            elif "/manifests/" in path and self.command == "PUT":
                if state.failures:
                    refusal = b'{"errors":[{"code":"MANIFEST_INVALID","message":"manifest invalid"}]}'
                    self._answer(state.failures.pop(0), refusal)
                    return
                state.manifests[path] = body
                digest = state.stored_digest or "sha256:" + hashlib.sha256(body).hexdigest()
                self._answer(201, headers={"Docker-Content-Digest": digest})
            elif "/manifests/" in path:
                stored = state.manifests.get(path)
                if stored is None:
                    self._answer(404, b'{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}')
                    return
                headers = {"Content-Type": "application/vnd.oci.image.manifest.v1+json"}
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
def scripted_registry(authority: Authority) -> Iterator[Scripted]:
    leaf = authority.issue([NAME], [])
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    with tempfile.TemporaryDirectory() as directory:
        Path(directory, "tls.crt").write_text(leaf.certificate_pem)
        Path(directory, "tls.key").write_text(leaf.private_key_pem)
        context.load_cert_chain(Path(directory, "tls.crt"), Path(directory, "tls.key"))
    state = Scripted()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    server.daemon_threads = True
    server.socket = context.wrap_socket(server.socket, server_side=True)
    state.url = f"https://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def authority() -> Authority:
    return Authority.create("Scripted Registry CA")


@pytest.fixture
def registry(authority: Authority) -> Iterator[Scripted]:
    with scripted_registry(authority) as state:
        yield state


def client(registry: Scripted, authority: Authority) -> OciClient:
    return OciClient(OciTarget(registry.url, USER, PASSWORD, NAME, authority.certificate_pem))


def test_every_request_carries_the_credentials_and_stays_on_the_given_registry(
    registry: Scripted, authority: Authority
) -> None:
    pushed = client(registry, authority).push_pack("base/spectro-packs/archive/x", "1.0.0", b"layer", "x-1.0.0.tar.gz")

    expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    assert {auth for _, _, auth, _ in registry.requests} == {expected}
    methods = [(method, path.split("?")[0]) for method, path, _, _ in registry.requests]
    assert methods == [
        ("HEAD", f"/v2/base/spectro-packs/archive/x/blobs/sha256:{hashlib.sha256(b'{}').hexdigest()}"),
        ("POST", "/v2/base/spectro-packs/archive/x/blobs/uploads/"),
        ("PUT", "/v2/base/spectro-packs/archive/x/blobs/uploads/session-1"),
        ("HEAD", f"/v2/base/spectro-packs/archive/x/blobs/{pushed.layer_digest}"),
        ("POST", "/v2/base/spectro-packs/archive/x/blobs/uploads/"),
        ("PUT", "/v2/base/spectro-packs/archive/x/blobs/uploads/session-1"),
        ("PUT", "/v2/base/spectro-packs/archive/x/manifests/1.0.0"),
    ]
    # The Location's query is kept, the digest added.
    assert registry.requests[2][1].endswith(f"?_state=x&digest=sha256%3A{hashlib.sha256(b'{}').hexdigest()}")
    assert registry.blobs[pushed.layer_digest] == b"layer"
    assert registry.requests[-1][3] == pack_manifest(pushed.layer_digest, 5, "x-1.0.0.tar.gz")


def test_a_blob_the_registry_has_is_not_sent_again(registry: Scripted, authority: Authority) -> None:
    oci = client(registry, authority)
    oci.push_pack("base/x", "1.0.0", b"layer", "x-1.0.0.tar.gz")
    registry.requests.clear()

    oci.push_pack("base/x", "1.0.1", b"layer", "x-1.0.1.tar.gz")

    assert [method for method, *_ in registry.requests] == ["HEAD", "HEAD", "PUT"]


def test_without_a_digest_header_the_manifest_bytes_give_the_digest(registry: Scripted, authority: Authority) -> None:
    oci = client(registry, authority)
    pushed = oci.push_pack("base/x", "1.0.0", b"layer", "x-1.0.0.tar.gz")
    registry.digest_header = False

    assert oci.manifest_digest("base/x", "1.0.0") == pushed.manifest_digest
    assert oci.manifest_digest("base/x", "2.0.0") is None


def test_503s_on_the_manifest_are_retried(registry: Scripted, authority: Authority) -> None:
    registry.failures = [503, 503]

    pushed = client(registry, authority).push_pack("base/x", "1.0.0", b"layer", "x-1.0.0.tar.gz")

    assert [m for m, p, *_ in registry.requests if "/manifests/" in p] == ["PUT", "PUT", "PUT"]
    assert pushed.manifest_digest.startswith("sha256:")


def test_a_registry_that_stores_another_digest_is_an_error(registry: Scripted, authority: Authority) -> None:
    registry.stored_digest = "sha256:" + "0" * 64

    with pytest.raises(OciError, match=r"PUT base/x:1.0.0 stored manifest sha256:0{64}, not the sha256:"):
        client(registry, authority).push_pack("base/x", "1.0.0", b"layer", "x-1.0.0.tar.gz")


def test_a_refusal_names_registry_verb_reference_status_and_the_registry_error(
    registry: Scripted, authority: Authority
) -> None:
    registry.failures = [400]

    with pytest.raises(OciError) as raised:
        client(registry, authority).push_pack("base/x", "1.0.0", b"layer", "x-1.0.0.tar.gz")

    assert str(raised.value) == (
        f"{registry.url.split('://')[1]}: PUT base/x:1.0.0 answered 400 Bad Request "
        "(MANIFEST_INVALID: manifest invalid)"
    )
    assert (raised.value.method, raised.value.status) == ("PUT", 400)


def test_an_absent_manifest_is_none(registry: Scripted, authority: Authority) -> None:
    oci = client(registry, authority)

    assert oci.get_manifest("base/x", "9.9.9") is None
    assert oci.delete_manifest("base/x", "sha256:" + "1" * 64) is False
