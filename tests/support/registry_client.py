"""A small registry client built on ``http.client`` and ``ssl``, independent of the code under test.

It connects to an address (127.0.0.1 in tests) but verifies TLS for a chosen name, exactly as a client
that resolves the registry's DNS name to that address would: SNI and hostname check use ``server_name``.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

__all__ = ["Answer", "RegistryClient", "wait_until_answering"]


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to ``host`` with the certificate checked for ``server_name``."""

    def __init__(self, host: str, port: int, server_name: str, context: ssl.SSLContext, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=context)
        self._server_name = server_name
        self._tls = context

    def connect(self) -> None:
        raw = socket.create_connection((self.host, self.port), self.timeout)
        self.sock = self._tls.wrap_socket(raw, server_hostname=self._server_name)


@dataclass(frozen=True)
class RegistryClient:
    """Talks to one registry as a given user (or anonymously)."""

    base_url: str
    """scheme://127.0.0.1:port"""
    ca_certificate: str | None = None
    server_name: str | None = None
    """Name TLS is verified for; None: the URL's host."""
    username: str | None = None
    password: str | None = None
    timeout: float = 10.0
    verify: bool = True
    """False: TLS is not verified at all (a client told to skip verification)."""

    def _connection(self) -> http.client.HTTPConnection:
        parts = urlsplit(self.base_url)
        host = parts.hostname or ""
        if parts.scheme == "http":
            return http.client.HTTPConnection(host, parts.port or 80, timeout=self.timeout)
        context = ssl.create_default_context(cadata=self.ca_certificate) if self.ca_certificate else None
        if context is None:
            context = ssl.create_default_context()
        if not self.verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return _PinnedHTTPSConnection(host, parts.port or 443, self.server_name or host, context, self.timeout)

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> Answer:
        all_headers = dict(headers or {})
        if self.username is not None:
            token = base64.b64encode(f"{self.username}:{self.password or ''}".encode()).decode()
            all_headers["Authorization"] = f"Basic {token}"
        connection = self._connection()
        try:
            connection.request(method, path, body=body, headers=all_headers)
            response = connection.getresponse()
            return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
        finally:
            connection.close()

    def get(self, path: str) -> Answer:
        return self.request("GET", path)

    def push_blob(self, repository: str, content: bytes) -> str:
        """Uploads a blob with the distribution API (monolithic: POST, then PUT with the digest)."""
        digest = "sha256:" + hashlib.sha256(content).hexdigest()
        started = self.request("POST", f"/v2/{repository}/blobs/uploads/", body=b"")
        if started.status != 202:
            raise AssertionError(f"blob upload start answered {started.status}: {started.body[:200]!r}")
        location = urlsplit(urljoin(self.base_url + "/", started.headers["location"]))
        separator = "&" if location.query else "?"
        path = f"{location.path}?{location.query}{separator}digest={digest}".replace("?&", "?")
        finished = self.request(
            "PUT",
            path,
            body=content,
            headers={"Content-Type": "application/octet-stream", "Content-Length": str(len(content))},
        )
        if finished.status != 201:
            raise AssertionError(f"blob upload answered {finished.status}: {finished.body[:200]!r}")
        return digest


def wait_until_answering(base_url: str, timeout: float = 30.0) -> float:
    """Waits until the server answers any HTTP request (TLS unverified: only "is it up?").

    Returns the seconds waited. Raises TimeoutError with the last error otherwise.
    """
    parts = urlsplit(base_url)
    started = time.monotonic()
    last: Exception | None = None
    while time.monotonic() - started < timeout:
        try:
            if parts.scheme == "https":
                context = ssl.create_default_context()
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
                connection: http.client.HTTPConnection = http.client.HTTPSConnection(
                    parts.hostname or "", parts.port, timeout=2, context=context
                )
            else:
                connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=2)
            try:
                connection.request("GET", "/v2/")
                connection.getresponse().read()
                return time.monotonic() - started
            finally:
                connection.close()
        except (OSError, http.client.HTTPException) as error:
            last = error
            time.sleep(0.05)
    raise TimeoutError(f"{base_url} did not answer within {timeout}s: {last!r}")
