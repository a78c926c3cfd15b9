"""Real certificates and a real HTTPS server with basic auth, for testing the readiness gate.

The certificates are what the program's pulumi-tls resources make: an ECDSA CA and a leaf it signs, with
SANs, Subject/Authority Key Identifiers (Python 3.13+ rejects CA-issued certificates without an AKI).
The server speaks like the pack registry (``/health`` open, ``/v1/_catalog`` behind basic auth) or like the
distribution stand-in (``/v2/`` and ``/v2/_catalog`` both behind auth), chosen per test.
"""

from __future__ import annotations

import base64
import datetime
import ipaddress
import json
import socket
import ssl
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["Authority", "FakeRegistry", "LeafCertificate", "free_port", "raw_listener", "serve_registry"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (at the time of asking)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class LeafCertificate:
    certificate_pem: str
    private_key_pem: str


def _ca_certificate(
    subject: x509.Name,
    public: ec.EllipticCurvePublicKey,
    issuer: x509.Name,
    issuer_key: ec.EllipticCurvePrivateKey,
    *,
    path_length: int | None,
) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False)
        .sign(issuer_key, hashes.SHA256())
    )


@dataclass(frozen=True)
class Authority:
    """A CA that can issue server certificates."""

    certificate_pem: str
    _key: ec.EllipticCurvePrivateKey = field(repr=False)
    _certificate: x509.Certificate = field(repr=False)

    @classmethod
    def create(cls, common_name: str = "Test Registry CA") -> Authority:
        """A self-signed root CA."""
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
        certificate = _ca_certificate(name, key.public_key(), name, key, path_length=None)
        pem = certificate.public_bytes(serialization.Encoding.PEM).decode()
        return cls(certificate_pem=pem, _key=key, _certificate=certificate)

    def intermediate(self, common_name: str = "Test Intermediate CA") -> Authority:
        """A CA signed by this one (not self-signed: on its own it is no trust anchor for OpenSSL)."""
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
        certificate = _ca_certificate(name, key.public_key(), self._certificate.subject, self._key, path_length=0)
        pem = certificate.public_bytes(serialization.Encoding.PEM).decode()
        return Authority(certificate_pem=pem, _key=key, _certificate=certificate)

    def issue(self, dns_names: list[str], ip_addresses: list[str], *, client: bool = False) -> LeafCertificate:
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.UTC)
        sans: list[x509.GeneralName] = [x509.DNSName(name) for name in dns_names]
        sans += [x509.IPAddress(ipaddress.ip_address(address)) for address in ip_addresses]
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, (dns_names or ip_addresses)[0])])
        certificate = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self._certificate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.SubjectAlternativeName(sans), critical=False)
            .add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH if client else ExtendedKeyUsageOID.SERVER_AUTH]),
                critical=False,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self._key.public_key()), critical=False)
            .sign(self._key, hashes.SHA256())
        )
        return LeafCertificate(
            certificate_pem=certificate.public_bytes(serialization.Encoding.PEM).decode(),
            private_key_pem=key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ).decode(),
        )


@dataclass(frozen=True)
class FakeRegistry:
    """Where a running fake registry answers."""

    url: str
    port: int
    health_path: str
    catalog_path: str
    bound_at: list[float] = field(default_factory=list)
    """time.monotonic() when the port was bound (empty until then)."""


def _handler(
    users: dict[str, str],
    health_path: str,
    catalog_path: str,
    health_needs_auth: bool,
    health_status: int,
    write_status: int | None = None,
) -> type:
    def authorized(header: str | None) -> bool:
        if not header or not header.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return False
        return users.get(user) == password

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            if self.path == health_path and not health_needs_auth:
                self._answer(health_status, {"status": "UP"})
            elif self.path in (health_path, catalog_path):
                if not authorized(self.headers.get("Authorization")):
                    self._answer(401, {"errors": [{"code": "UNAUTHORIZED"}]}, challenge=True)
                elif self.path == catalog_path:
                    self._answer(200, {"repositories": []})
                else:
                    self._answer(200, {})
            else:
                self._answer(404, {"errors": [{"code": "NOT_FOUND"}]})

        def do_POST(self) -> None:
            if write_status is None:
                # As http.server answers a method its handler lacks.
                self.send_error(501)
                return
            if write_status == 0:
                # No answer at all: the connection is closed.
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            self._answer(write_status, {"errors": [{"code": "UNKNOWN"}]})

        def _answer(self, status: int, body: dict[str, object], challenge: bool = False) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            if 300 <= status < 400:
                self.send_header("Location", "/login")
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            if challenge:
                self.send_header("WWW-Authenticate", 'Basic realm="test"')
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            return None

    return Handler


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    tls: ssl.SSLContext | None = None

    def get_request(self) -> tuple[socket.socket, object]:
        connection, address = self.socket.accept()
        if self.tls is not None:
            # The handshake runs on first read, in the request's own thread, so a client that rejects the
            # certificate cannot stall the accept loop.
            connection = self.tls.wrap_socket(connection, server_side=True, do_handshake_on_connect=False)
        return connection, address

    def handle_error(self, request: object, client_address: object) -> None:
        # Failed handshakes are what several tests provoke on purpose.
        return None


@contextmanager
def serve_registry(
    *,
    users: dict[str, str],
    leaf: LeafCertificate | None = None,
    health_path: str = "/health",
    catalog_path: str = "/v1/_catalog",
    health_needs_auth: bool = False,
    health_status: int = 200,
    start_after: float = 0.0,
    port: int | None = None,
    write_status: int | None = None,
) -> Iterator[FakeRegistry]:
    """Runs a fake registry on 127.0.0.1 (HTTPS with ``leaf``, else HTTP) for the ``with`` block.

    With ``start_after`` the port is bound only after that many seconds, in a background thread, like a
    server that is still starting when the gate begins polling. ``health_status`` is what the open health
    path answers (a 3xx comes with a ``Location``). ``leaf.certificate_pem`` may be a chain: the server
    sends all of it. ``write_status`` is what a POST answers (None: 501, no such method; 0: the connection
    closed, no answer).
    """
    port = port or free_port()
    tls = None
    if leaf is not None:
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        with tempfile.TemporaryDirectory() as directory:
            cert = Path(directory, "tls.crt")
            key = Path(directory, "tls.key")
            cert.write_text(leaf.certificate_pem)
            key.write_text(leaf.private_key_pem)
            tls.load_cert_chain(cert, key)
    handler = _handler(users, health_path, catalog_path, health_needs_auth, health_status, write_status)
    servers: list[_Server] = []
    stop = threading.Event()
    scheme = "https" if leaf is not None else "http"
    registry = FakeRegistry(f"{scheme}://127.0.0.1:{port}", port, health_path, catalog_path)

    def run() -> None:
        if start_after and stop.wait(start_after):
            return
        server = _Server(("127.0.0.1", port), handler)
        server.tls = tls
        registry.bound_at.append(time.monotonic())
        servers.append(server)
        server.serve_forever(poll_interval=0.05)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    if not start_after:
        deadline = time.monotonic() + 5
        while not servers and time.monotonic() < deadline:
            time.sleep(0.005)
        if not servers:
            raise RuntimeError(f"the fake registry did not bind 127.0.0.1:{port}")
    try:
        yield registry
    finally:
        stop.set()
        for server in servers:
            server.shutdown()
            server.server_close()
        thread.join(timeout=5)


@contextmanager
def raw_listener(*, hold: bool) -> Iterator[str]:
    """A TCP listener on 127.0.0.1 that never speaks; yields its https:// URL.

    ``hold=False`` accepts and closes at once (what docker-proxy does while nothing listens inside the
    container); ``hold=True`` accepts and keeps the connection open in silence, like a hung server.
    """
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    server.settimeout(0.05)
    held: list[socket.socket] = []
    stop = threading.Event()

    def run() -> None:
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if hold:
                held.append(connection)
            else:
                connection.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(timeout=5)
        server.close()
        for connection in held:
            connection.close()
