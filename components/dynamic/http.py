"""What the three HTTP clients share (Palette's, the OCI registry's, the readiness probe's): TLS verified for a
server name, retries, a failed request described, and every secret kept out of what they say.

- Verified TLS: tests and the machine running Pulumi often reach a registry at an address (``127.0.0.1``, a node's
  IP) that is not the name its certificate is issued for. ``VerifyingAdapter`` connects to the URL's address and
  verifies the certificate for ``server_name``; ``trust_context`` builds the ``ssl`` context from the PEM text, so
  no CA file is ever written to disk.
- Retries: ``retry`` is urllib3's ``Retry`` on the statuses worth another attempt (``RETRY_STATUSES``), honouring
  ``Retry-After`` up to a minute, handing the last response back rather than raising.
- A failed request: ``unreachable_reason`` and ``unreachable_status`` say whether the endpoint could not be reached
  at all (what ``dynamic/unreachable.py`` acts on), ``exception_chain`` walks what requests wraps.
- Redaction: ``redact`` removes every form a secret takes in a message (as is, stripped, ``repr``/JSON-escaped,
  URL-encoded).
"""

from __future__ import annotations

import errno
import http.client
import json
import socket
import ssl
from collections.abc import Collection, Iterator
from http import HTTPStatus
from typing import Any
from urllib.parse import quote, quote_plus

import requests
import requests.adapters
import urllib3
import urllib3.exceptions

__all__ = [
    "RETRY_AFTER_MAX_SECONDS",
    "RETRY_STATUSES",
    "UNREACHABLE_STATUSES",
    "VerifyingAdapter",
    "exception_chain",
    "redact",
    "retry",
    "shown",
    "trust_context",
    "unreachable_reason",
    "unreachable_status",
]

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
"""Statuses a request is tried again on: too many requests, and the server's or its proxy's failures."""

RETRY_AFTER_MAX_SECONDS = 60
"""A longer ``Retry-After`` is cut to this (urllib3 would otherwise wait up to 6 hours)."""

UNREACHABLE_STATUSES = frozenset({502, 503, 504})
"""What a proxy or load balancer answers when what is behind it is gone, down or not answering."""

_REDACTED = "[redacted]"


def trust_context(ca_certificate: str | None) -> ssl.SSLContext:
    """A client context trusting ``ca_certificate`` (PEM) only, or the system store when None.

    Every certificate given is an anchor, as in Go clients (Palette, the Spectro CLI) and in Python
    3.13's default context: in provided mode the trusted chain starts with the server certificate and may
    lack the self-signed root. Host-name and chain checks stay on. Raises ``ssl.SSLError`` for a PEM that
    cannot be loaded.
    """
    if not ca_certificate:
        return ssl.create_default_context()
    context = ssl.create_default_context(cadata=ca_certificate)
    context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
    return context


class VerifyingAdapter(requests.adapters.HTTPAdapter):
    """Connects to the URL's address but verifies TLS for ``server_name``, trusting only the given context.

    ``server_hostname`` (a urllib3 pool keyword) sets SNI and the name Python's ``ssl`` checks the
    certificate against, so the errors stay ``ssl``'s own ("Hostname mismatch", "IP address mismatch").
    """

    def __init__(
        self, context: ssl.SSLContext, server_name: str | None, max_retries: urllib3.util.Retry | int = 0
    ) -> None:
        self._context = context
        self._server_name = server_name
        super().__init__(max_retries=max_retries)

    def init_poolmanager(self, connections: int, maxsize: int, block: bool = False, **pool_kwargs: Any) -> None:
        pool_kwargs["ssl_context"] = self._context
        if self._server_name:
            pool_kwargs["server_hostname"] = self._server_name
        super().init_poolmanager(connections, maxsize, block, **pool_kwargs)

    def cert_verify(self, conn: Any, url: str, verify: Any, cert: Any) -> None:
        super().cert_verify(conn, url, verify, cert)
        # requests would add certifi's bundle to the context; trust stays what the context holds.
        conn.ca_certs = None
        conn.ca_cert_dir = None


def retry(
    total: int,
    *,
    methods: Collection[str],
    backoff_factor: float,
    retry_after_max: int = RETRY_AFTER_MAX_SECONDS,
    **more: Any,
) -> urllib3.util.Retry:
    """urllib3's retry policy for ``methods``: up to ``total`` retries on ``RETRY_STATUSES`` and connection errors,
    exponential backoff, ``Retry-After`` honoured (up to ``retry_after_max``), the last response handed back once
    retries run out (so the error can quote the server). ``more``: further ``Retry`` settings."""
    return urllib3.util.Retry(
        total=total,
        allowed_methods=frozenset(methods),
        status_forcelist=RETRY_STATUSES,
        backoff_factor=backoff_factor,
        respect_retry_after_header=True,
        retry_after_max=retry_after_max,
        raise_on_status=False,
        **more,
    )


def exception_chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception and everything it wraps (requests -> urllib3 -> ssl/socket)."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [exc]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        pending.extend([current.__cause__, current.__context__])
        reason = getattr(current, "reason", None)
        if isinstance(reason, BaseException):
            pending.append(reason)
        pending.extend(arg for arg in current.args if isinstance(arg, BaseException))


def _errno_in(chain: list[BaseException], *codes: int) -> bool:
    return any(getattr(error, "errno", None) in codes for error in chain)


def unreachable_reason(exc: BaseException) -> str | None:
    """A few words saying why the endpoint could not be reached, or None when ``exc`` is no such failure
    (a TLS certificate refused, a request that was never sent)."""
    chain = list(exception_chain(exc))

    def has(*types: type[BaseException]) -> bool:
        return any(isinstance(error, types) for error in chain)

    if has(ssl.SSLCertVerificationError):
        return None
    if has(ConnectionRefusedError) or _errno_in(chain, errno.ECONNREFUSED):
        return "connection refused"
    if has(requests.exceptions.Timeout, urllib3.exceptions.TimeoutError, TimeoutError) or _errno_in(
        chain, errno.ETIMEDOUT
    ):
        return "timed out"
    # Reset, or closed cleanly: which one the last retry meets is chance (docker-proxy with nothing behind it
    # gives either), so both read the same.
    if has(
        ConnectionResetError,
        ConnectionAbortedError,
        BrokenPipeError,
        http.client.RemoteDisconnected,
        ssl.SSLEOFError,
        ssl.SSLZeroReturnError,
    ) or _errno_in(chain, errno.ECONNRESET, errno.ECONNABORTED, errno.EPIPE):
        return "connection reset or closed without an answer"
    if has(ssl.SSLError):
        return None
    if has(socket.gaierror):
        return "host name not resolved"
    if _errno_in(chain, errno.EHOSTUNREACH, errno.ENETUNREACH):
        return "no route to host"
    if has(requests.exceptions.ConnectionError, urllib3.exceptions.NewConnectionError):
        return "connection failed"
    return None


def unreachable_status(status: int | None) -> str | None:
    """``"502 Bad Gateway"`` and the like for a status that says the endpoint is not reachable, else None."""
    if status not in UNREACHABLE_STATUSES:
        return None
    return f"{status} {HTTPStatus(status).phrase}"


def _forms(secret: str) -> set[str]:
    """Every way a message can spell ``secret``: as is, stripped, escaped by ``repr``/JSON, URL-encoded."""
    forms = {secret, secret.strip(), repr(secret)[1:-1], json.dumps(secret)[1:-1]}
    forms |= {quote(secret), quote(secret, safe=""), quote_plus(secret)}
    return {form for form in forms if form}


def redact(text: str, secrets: tuple[str, ...]) -> str:
    """``text`` with every form of every secret replaced by a marker (longest form first)."""
    forms: set[str] = set()
    for secret in secrets:
        if secret:
            forms |= _forms(secret)
    for form in sorted(forms, key=len, reverse=True):
        text = text.replace(form, _REDACTED)
    return text


def shown(text: str, secrets: tuple[str, ...], limit: int) -> str:
    """Text a server sent, fit for a one-line message: secrets redacted, every character that is not printable (a
    line break, a terminal's escape sequence) a space, at most ``limit`` characters. Redacted before and after: a
    secret holding such a character is found as sent, and one split by them cannot come back together."""
    printable = "".join(char if char.isprintable() else " " for char in redact(text, secrets))
    printable = redact(printable, secrets)
    return printable if len(printable) <= limit else printable[:limit] + "..."
