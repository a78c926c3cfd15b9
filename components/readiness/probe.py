"""Polling a registry until it answers as its clients will use it, and saying what went wrong when it does not.

``wait_until_ready`` polls the health path (2xx, or 401 where the server guards it), then the catalog as the
read-only user (200), over a connection whose TLS is verified against the given CA for the name clients
use. On timeout it raises ``RegistryNotReady`` with the last problem seen, described with its fix: nothing
listening, a TLS name mismatch or unknown authority, 401 for which user (never the password), the storage
behind a 5xx, or the unexpected status.

The polling loop is hand-written on purpose: a ``urllib3`` ``Retry`` would hide each attempt's failure,
and the point of the gate is to report the last one.
"""

from __future__ import annotations

import contextlib
import errno
import http.client
import ssl
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests
import requests.adapters
import urllib3

from components.dynamic.http import VerifyingAdapter, exception_chain, trust_context

__all__ = [
    "DEFAULT_INTERVAL_SECONDS",
    "DEFAULT_TIMEOUT_SECONDS",
    "WRITE_ALLOWED",
    "WRITE_NOT_TRIED",
    "WRITE_REFUSED",
    "ProbeSettings",
    "RegistryNotReady",
    "wait_until_ready",
]


DEFAULT_TIMEOUT_SECONDS = 60.0

DEFAULT_INTERVAL_SECONDS = 0.1

# Longest single request: a server that accepts but never answers must not eat the whole budget at once.
_CONNECT_TIMEOUT = 3.0

_READ_TIMEOUT = 10.0

_MIN_REQUEST_TIMEOUT = 0.5

# Every failed attempt is seen, classified and reported by the gate's own loop.
_NO_RETRIES = urllib3.util.Retry(total=0, read=False, redirect=False)

_TLS_FIX_NAME = (
    "the certificate's SANs must cover every DNS name and IP address clients use "
    "(Go clients such as Palette and the Spectro CLI ignore the Common Name): add it to the configured "
    "hosts or ipAddresses, or set the name the gate verifies to one the certificate covers"
)

_TLS_FIX_AUTHORITY = (
    "the client must trust the CA that issued the registry certificate: pass that CA "
    "(for the Spectro CLI: /etc/spectro/certs.d/<host:port>/ca.crt, or --insecure)"
)

# OpenSSL verify codes (X509_V_ERR_*) for the two mistakes worth naming.
_NAME_MISMATCH_CODES = {62, 64}  # HOSTNAME_MISMATCH, IP_ADDRESS_MISMATCH

_UNKNOWN_AUTHORITY_CODES = {2, 18, 19, 20, 21}  # no issuer, self-signed leaf/chain, no local issuer


class RegistryNotReady(Exception):
    """The registry did not become ready in time. The message names the URL and user, never a secret."""


@dataclass(frozen=True)
class ProbeSettings:
    url: str
    server_name: str | None
    ca_certificate: str | None
    health_path: str
    catalog_path: str
    username: str
    password: str = field(repr=False)
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    interval_seconds: float = DEFAULT_INTERVAL_SECONDS
    storage_hint: str | None = None
    require_challenge: bool = False
    """The health path must refuse anonymous clients: 401 with a Basic challenge (a proxy guards everything)."""
    write_probe_path: str | None = None
    """Where the read-only user tries to start a blob upload (None: no write probe)."""
    write_probe_must_refuse: bool = True
    """A write the probe is not refused fails the gate (the OCI kind, whose proxy must refuse it); False records it
    in ``write_probe_result`` instead (the legacy kind: whether spectro-registry has roles is not documented)."""

    @property
    def https(self) -> bool:
        return urlsplit(self.url).scheme == "https"

    @property
    def verified_name(self) -> str:
        """The name TLS is verified for: ``server_name``, else the URL's host."""
        return self.server_name or (urlsplit(self.url).hostname or "")


def _session(settings: ProbeSettings) -> requests.Session:
    session = requests.Session()
    # No proxies from the environment and no ~/.netrc credentials replacing the user under test.
    session.trust_env = False
    if settings.https:
        context = trust_context(settings.ca_certificate)
        session.mount("https://", VerifyingAdapter(context, settings.server_name, max_retries=_NO_RETRIES))
    else:
        session.mount("http://", requests.adapters.HTTPAdapter(max_retries=_NO_RETRIES))
    return session


def _describe_error(exc: BaseException, settings: ProbeSettings, url: str) -> str:
    """One sentence saying what went wrong, and how to fix it when the cause is known."""
    chain = list(exception_chain(exc))
    for error in chain:
        if isinstance(error, ssl.SSLCertVerificationError):
            code = getattr(error, "verify_code", None)
            detail = getattr(error, "verify_message", None) or str(error)
            if code in _NAME_MISMATCH_CODES:
                return (
                    f"TLS name mismatch: the certificate served at {settings.url} is not valid for "
                    f"'{settings.verified_name}' ({detail}); {_TLS_FIX_NAME}"
                )
            if code in _UNKNOWN_AUTHORITY_CODES:
                return (
                    f"TLS unknown authority: the certificate served at {settings.url} is not signed by the "
                    f"CA the gate trusts ({detail}); {_TLS_FIX_AUTHORITY}"
                )
            return f"TLS verification failed for {settings.url} as '{settings.verified_name}': {detail}"
    texts = " ".join(str(error) for error in chain)
    if any(isinstance(error, ssl.SSLError) for error in chain) and "WRONG_VERSION_NUMBER" in texts.upper():
        return f"{settings.url} does not speak TLS (it looks like plain HTTP): use an http:// URL in HTTP mode"
    if any(isinstance(error, ConnectionRefusedError) for error in chain) or (
        any(getattr(error, "errno", None) == errno.ECONNREFUSED for error in chain)
    ):
        return (
            f"nothing is listening at {settings.url} (connection refused): is the container running and its "
            "port published on that address?"
        )
    if any(isinstance(error, requests.exceptions.Timeout) for error in chain):
        return f"{url} did not answer in time"
    if (
        any(
            isinstance(
                error,
                ConnectionResetError | http.client.RemoteDisconnected | ssl.SSLEOFError | ssl.SSLZeroReturnError,
            )
            for error in chain
        )
        or "EOF occurred in violation of protocol" in texts
    ):
        return (
            f"{settings.url} accepted the connection and closed it without answering (the server is still "
            "starting, or the port is published but nothing listens inside the container)"
        )
    return f"{url} could not be reached: {type(exc).__name__}: {exc}"


def _describe_status(response: requests.Response, settings: ProbeSettings, url: str, role: str) -> str:
    status = f"{response.status_code} {response.reason or ''}".strip()
    if role == "catalog" and response.status_code == 401:
        return (
            f"{url} refused user '{settings.username}' ({status}): the htpasswd file in the container has no "
            "bcrypt entry matching that user and password"
        )
    hint = ""
    if response.status_code == 404:
        hint = (
            f": check the {role} path (the pack registry serves /health and /v1/_catalog; the distribution "
            "stand-in /v2/ and /v2/_catalog)"
        )
    elif response.status_code == 400 and "HTTPS server" in response.text:
        hint = ": the server speaks HTTPS, use an https:// URL"
    elif response.status_code >= 500 and settings.storage_hint:
        # The server is up but reports a failure of its own; with remote storage that is the usual cause.
        hint = f": {settings.storage_hint}"
    return f"unexpected status from the {role} path: {url} answered {status}{hint}"


def _health_answered(response: requests.Response, settings: ProbeSettings) -> bool:
    """2xx, or 401 where the health path needs auth; a redirect is not an answer (``ok`` includes 3xx).
    With ``require_challenge`` only a 401 that asks for Basic credentials counts (OCI clients retry on it)."""
    status = response.status_code
    if settings.require_challenge:
        return status == 401 and response.headers.get("WWW-Authenticate", "").lower().startswith("basic")
    return 200 <= status < 300 or status == 401


def _refuse_anonymous_reads(response: requests.Response, settings: ProbeSettings, url: str) -> None:
    """A guarded registry that answers anonymous clients is misconfigured, not starting: fail at once."""
    if settings.require_challenge and 200 <= response.status_code < 300:
        raise RegistryNotReady(
            f"{url} answered {response.status_code} without credentials: anonymous clients can read the "
            "registry (registryKind oci expects the proxy to answer 401 with a Basic challenge)"
        )


WRITE_REFUSED = "refused"
"""``write_probe_result``: the read-only user's write was refused (401 or 403)."""
WRITE_ALLOWED = "allowed"
"""``write_probe_result``: the read-only user started an upload (then cancelled): it can push and delete."""
WRITE_NOT_TRIED = "not-tried"
"""``write_probe_result``: the server neither refused nor allowed the write (no such route: 404, 405 or 501; or
any other answer, such as a full volume's 500): no write could be tried there."""


def _check_write_refused(
    session: requests.Session, settings: ProbeSettings, timeout: Any
) -> tuple[str | None, str | None]:
    """Start a blob upload as the read-only user: (the problem to report or None, the ``write_probe_result``).

    A read-only user who can start an upload can push and overwrite packs. The upload it started is cancelled at
    once; then, with ``write_probe_must_refuse``, that fails the gate, else it is recorded as WRITE_ALLOWED. Without
    ``write_probe_must_refuse`` any other answer is recorded as WRITE_NOT_TRIED and never fails the gate.
    """
    url = settings.url + (settings.write_probe_path or "")
    auth = (settings.username.encode(), settings.password.encode())
    try:
        response = session.post(url, auth=auth, timeout=timeout, allow_redirects=False)
    except requests.RequestException:
        if settings.write_probe_must_refuse:
            raise
        # Only informing (the legacy kind): a server that drops or stalls the write is no write tried.
        return None, WRITE_NOT_TRIED
    if response.status_code in (401, 403):
        return None, WRITE_REFUSED
    if not settings.write_probe_must_refuse and not 200 <= response.status_code < 300:
        # The probe only informs here: no route (404, 405, 501), a full data volume (distribution answers the
        # upload 500 while pulls serve) or any answer of an undocumented server is no write tried, never a failure.
        return None, WRITE_NOT_TRIED
    if 200 <= response.status_code < 300:
        location = response.headers.get("Location")
        if location:
            cancel = location if "://" in location else settings.url + location
            with contextlib.suppress(requests.RequestException):
                session.delete(cancel, auth=auth, timeout=timeout, allow_redirects=False)
        if not settings.write_probe_must_refuse:
            return None, WRITE_ALLOWED
        raise RegistryNotReady(
            f"read-only user '{settings.username}' was allowed to start a push at {url} "
            f"({response.status_code}): it could overwrite the packs clusters install. registryKind oci "
            "puts a proxy in front that lets only the admin user write: check that the proxy container runs "
            "the program's configuration and that the registry port is not published directly"
        )
    return _describe_status(response, settings, url, "write probe"), None


def wait_until_ready(settings: ProbeSettings) -> dict[str, Any]:
    """Polls until ready; returns the measurements, or raises ``RegistryNotReady`` with the last problem."""
    health_url = settings.url + settings.health_path
    catalog_url = settings.url + settings.catalog_path
    started = time.monotonic()
    deadline = started + settings.timeout_seconds
    attempts = 0
    last_problem = "no attempt was made"
    try:
        session = _session(settings)
    except ssl.SSLError as exc:
        raise RegistryNotReady(f"the CA certificate given for {settings.url} cannot be loaded: {exc}") from None
    with session:
        while True:
            attempts += 1
            remaining = deadline - time.monotonic()
            # Each request gets what is left of the budget, but never less than a floor: a last attempt
            # squeezed to nothing would only report its own timeout.
            timeout = (
                max(min(_CONNECT_TIMEOUT, remaining), _MIN_REQUEST_TIMEOUT),
                max(min(_READ_TIMEOUT, remaining), _MIN_REQUEST_TIMEOUT),
            )
            squeezed = remaining < _CONNECT_TIMEOUT
            current = health_url
            try:
                # Anonymous, as a load balancer would probe it: credentials go to the catalog only.
                health = session.get(health_url, timeout=timeout, allow_redirects=False)
                _refuse_anonymous_reads(health, settings, health_url)
                if _health_answered(health, settings):
                    current = catalog_url
                    catalog = session.get(
                        catalog_url,
                        # UTF-8, as Go clients send it and as the htpasswd hash was made (requests: latin-1).
                        auth=(settings.username.encode(), settings.password.encode()),
                        timeout=timeout,
                        allow_redirects=False,
                    )
                    write_result = None
                    if catalog.status_code == 200 and settings.write_probe_path:
                        current = settings.url + settings.write_probe_path
                        write_problem, write_result = _check_write_refused(session, settings, timeout)
                    else:
                        write_problem = None
                    if catalog.status_code == 200 and write_problem is None:
                        measured: dict[str, Any] = {
                            "ready_seconds": round(time.monotonic() - started, 4),
                            "attempts": attempts,
                            "health_status": health.status_code,
                        }
                        if write_result is not None:
                            measured["write_probe_result"] = write_result
                        return measured
                    last_problem = write_problem or _describe_status(catalog, settings, catalog_url, "catalog")
                else:
                    last_problem = _describe_status(health, settings, health_url, "health")
            except requests.exceptions.Timeout as exc:
                # A timeout that only the deadline caused says nothing new about the server.
                if not (squeezed and attempts > 1):
                    last_problem = _describe_error(exc, settings, current)
            except requests.exceptions.RequestException as exc:
                last_problem = _describe_error(exc, settings, current)
            now = time.monotonic()
            if now >= deadline:
                break
            time.sleep(min(settings.interval_seconds, deadline - now))
    raise RegistryNotReady(
        f"the registry at {settings.url} was not ready after {settings.timeout_seconds:g}s "
        f"({attempts} attempts); last problem: {last_problem}"
    )
