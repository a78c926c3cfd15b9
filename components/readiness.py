"""A readiness gate: ``pulumi up`` waits until the registry answers as its clients will use it.

The gate polls, from the machine running Pulumi, until

1. the health path answers over a verified connection (TLS checked against ``ca_certificate`` for
   ``server_name``; every certificate in ``ca_certificate`` is trusted as an anchor, so a provided chain
   that starts with the server certificate, or lacks its root, verifies), and
2. the catalog path returns 200 for ``username``/``password`` (basic auth).

What counts as "the health path answers": 2xx, or 401. The real server serves ``/health`` without auth
(200); the distribution stand-in used in tests has no health route and is probed on ``/v2/``, which needs
auth and answers 401 while the server is up. A 401 there proves the same thing (the server is listening,
TLS verified, requests routed); whether the user gets in is decided by the catalog step, which does
require 200. Anything else (404: wrong path, 5xx: the server reports itself unhealthy) keeps polling.

Every input is compared by ``diff`` and any change is an update, never a replacement: ``triggers``
carries what identifies the running server (container id, htpasswd hash, certificate), so a new container
or new credentials re-run the gate. On timeout the gate fails with what went wrong last: nothing listening,
a TLS name mismatch or unknown authority (with the fix), 401 for which user (never the password), or the
unexpected status.

The polling loop is hand-written on purpose: a ``urllib3`` ``Retry`` would hide each attempt's failure,
and the point of the gate is to report the last one.
"""

from __future__ import annotations

import errno
import http.client
import ssl
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import pulumi
import pulumi.dynamic
import requests
import requests.adapters
import urllib3

from components.dynamic_values import is_unknown, with_defaults

__all__ = [
    "DEFAULT_CATALOG_PATH",
    "DEFAULT_HEALTH_PATH",
    "DEFAULT_INTERVAL_SECONDS",
    "DEFAULT_TIMEOUT_SECONDS",
    "INPUT_KEYS",
    "ReadinessGate",
    "ReadinessGateProvider",
    "RegistryNotReady",
]

DEFAULT_HEALTH_PATH = "/health"
DEFAULT_CATALOG_PATH = "/v1/_catalog"
DEFAULT_TIMEOUT_SECONDS = 60.0
DEFAULT_INTERVAL_SECONDS = 0.1
# Longest single request: a server that accepts but never answers must not eat the whole budget at once.
_CONNECT_TIMEOUT = 3.0
_READ_TIMEOUT = 10.0
_MIN_REQUEST_TIMEOUT = 0.5

INPUT_KEYS = (
    "url",
    "server_name",
    "ca_certificate",
    "health_path",
    "catalog_path",
    "username",
    "password",
    "timeout_seconds",
    "interval_seconds",
    "triggers",
    "storage_hint",
)
"""The properties ``diff`` compares; outputs such as ``ready_seconds`` are left out."""


def _defaults() -> dict[str, Any]:
    """Values of the optional inputs when absent (the wire drops ``None`` keys)."""
    return {
        "health_path": DEFAULT_HEALTH_PATH,
        "catalog_path": DEFAULT_CATALOG_PATH,
        "timeout_seconds": DEFAULT_TIMEOUT_SECONDS,
        "interval_seconds": DEFAULT_INTERVAL_SECONDS,
        "triggers": {},
        "storage_hint": "",
    }


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
class _Settings:
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

    @classmethod
    def from_props(cls, props: Mapping[str, Any]) -> _Settings:
        merged = with_defaults(props, _defaults())
        return cls(
            url=str(merged["url"]).rstrip("/"),
            server_name=merged.get("server_name") or None,
            ca_certificate=merged.get("ca_certificate") or None,
            health_path=str(merged["health_path"]),
            catalog_path=str(merged["catalog_path"]),
            username=str(merged["username"]),
            password=str(merged["password"]),
            timeout_seconds=float(merged["timeout_seconds"]),
            interval_seconds=float(merged["interval_seconds"]),
            storage_hint=merged.get("storage_hint") or None,
        )

    @property
    def https(self) -> bool:
        return urlsplit(self.url).scheme == "https"

    @property
    def verified_name(self) -> str:
        """The name TLS is verified for: ``server_name``, else the URL's host."""
        return self.server_name or (urlsplit(self.url).hostname or "")


class _VerifyingAdapter(requests.adapters.HTTPAdapter):
    """Connects to the URL's address but verifies TLS for ``server_name``, trusting only the given CA.

    ``server_hostname`` (a urllib3 pool keyword) sets SNI and the name Python's ``ssl`` checks the
    certificate against, so the errors stay ``ssl``'s own ("Hostname mismatch", "IP address mismatch").
    """

    def __init__(self, context: ssl.SSLContext, server_name: str | None) -> None:
        self._context = context
        self._server_name = server_name
        super().__init__(max_retries=_NO_RETRIES)

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


def _session(settings: _Settings) -> requests.Session:
    session = requests.Session()
    # No proxies from the environment and no ~/.netrc credentials replacing the user under test.
    session.trust_env = False
    if settings.https:
        if settings.ca_certificate:
            context = ssl.create_default_context(cadata=settings.ca_certificate)
            # Every certificate given is an anchor, as in Go clients (Palette, the Spectro CLI) and in
            # Python 3.13's default context: in provided mode the trusted chain starts with the server
            # certificate and may lack the self-signed root. Host-name and chain checks stay on.
            context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
        else:
            context = ssl.create_default_context()
        session.mount("https://", _VerifyingAdapter(context, settings.server_name))
    else:
        session.mount("http://", requests.adapters.HTTPAdapter(max_retries=_NO_RETRIES))
    return session


def _exception_chain(exc: BaseException) -> Iterator[BaseException]:
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


def _describe_error(exc: BaseException, settings: _Settings, url: str) -> str:
    """One sentence saying what went wrong, and how to fix it when the cause is known."""
    chain = list(_exception_chain(exc))
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


def _describe_status(response: requests.Response, settings: _Settings, url: str, role: str) -> str:
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


def _health_answered(status: int) -> bool:
    """2xx, or 401 where the health path needs auth; a redirect is not an answer (``ok`` includes 3xx)."""
    return 200 <= status < 300 or status == 401


def _wait_until_ready(settings: _Settings) -> dict[str, Any]:
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
                if _health_answered(health.status_code):
                    current = catalog_url
                    catalog = session.get(
                        catalog_url,
                        # UTF-8, as Go clients send it and as the htpasswd hash was made (requests: latin-1).
                        auth=(settings.username.encode(), settings.password.encode()),
                        timeout=timeout,
                        allow_redirects=False,
                    )
                    if catalog.status_code == 200:
                        return {
                            "ready_seconds": round(time.monotonic() - started, 4),
                            "attempts": attempts,
                            "health_status": health.status_code,
                        }
                    last_problem = _describe_status(catalog, settings, catalog_url, "catalog")
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


def _outputs(props: Mapping[str, Any]) -> dict[str, Any]:
    settings = _Settings.from_props(props)
    measured = _wait_until_ready(settings)
    inputs = {key: props[key] for key in INPUT_KEYS if props.get(key) is not None}
    return {**_defaults(), **inputs, **measured}


def _check_failures(news: Mapping[str, Any]) -> list[pulumi.dynamic.CheckFailure]:
    failures: list[pulumi.dynamic.CheckFailure] = []

    def fail(key: str, reason: str) -> None:
        failures.append(pulumi.dynamic.CheckFailure(key, reason))

    def known(key: str) -> bool:
        return not is_unknown(news.get(key))

    url = news.get("url")
    scheme = None
    if known("url"):
        parts = urlsplit(url) if isinstance(url, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
            fail("url", f"'{url}' is not a base URL: use scheme://address:port, e.g. https://10.0.0.5:443")
        elif parts.path not in ("", "/") or parts.query or parts.username:
            fail("url", f"'{url}' must be a base URL without path, query or credentials")
        else:
            scheme = parts.scheme
    for key in ("health_path", "catalog_path"):
        value = news.get(key)
        if known(key) and not (isinstance(value, str) and value.startswith("/")):
            fail(key, f"'{value}' is not an absolute URL path: start it with '/'")
    for key in ("username", "password"):
        if known(key) and not (isinstance(news.get(key), str) and news.get(key)):
            fail(key, f"a non-empty {key} is required")
    for key in ("timeout_seconds", "interval_seconds"):
        value = news.get(key)
        if known(key) and not (isinstance(value, int | float) and not isinstance(value, bool) and value > 0):
            fail(key, f"{value!r} is not a positive number of seconds")
    ca = news.get("ca_certificate")
    if known("ca_certificate") and ca is not None:
        if not (isinstance(ca, str) and "-----BEGIN CERTIFICATE-----" in ca):
            fail("ca_certificate", "a PEM certificate (-----BEGIN CERTIFICATE-----) is required")
        elif scheme == "http":
            fail(
                "ca_certificate",
                "a plain-HTTP url takes no CA certificate: use an https:// url or drop the CA",
            )
    server_name = news.get("server_name")
    if known("server_name") and server_name is not None and not (isinstance(server_name, str) and server_name):
        fail("server_name", "must be a non-empty host name or IP address")
    triggers = news.get("triggers")
    if known("triggers") and triggers is not None and not isinstance(triggers, dict):
        fail("triggers", "must be a map of strings")
    return failures


class ReadinessGateProvider(pulumi.dynamic.ResourceProvider):
    """Waits for the registry on create and on every update; nothing to delete."""

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> pulumi.dynamic.CheckResult:
        inputs = with_defaults(news, _defaults())
        return pulumi.dynamic.CheckResult(inputs, _check_failures(inputs))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> pulumi.dynamic.DiffResult:
        defaults = _defaults()
        changed = []
        for key in INPUT_KEYS:
            new = news.get(key, defaults.get(key))
            old = olds.get(key, defaults.get(key))
            if is_unknown(new) or new != old:
                changed.append(key)
        # An update re-runs the gate; nothing here is worth replacing.
        return pulumi.dynamic.DiffResult(changes=bool(changed), replaces=[], stables=[], delete_before_replace=False)

    def create(self, props: dict[str, Any]) -> pulumi.dynamic.CreateResult:
        return pulumi.dynamic.CreateResult(f"readiness-{uuid.uuid4().hex}", _outputs(props))

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> pulumi.dynamic.UpdateResult:
        return pulumi.dynamic.UpdateResult(_outputs(news))

    def read(self, id_: str, props: dict[str, Any]) -> pulumi.dynamic.ReadResult:
        # Readiness is a moment, not a state: a refresh keeps what the last gate recorded.
        return pulumi.dynamic.ReadResult(id_, props)

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        return None


class ReadinessGate(pulumi.dynamic.Resource, module="registry", name="ReadinessGate"):
    """Completes once the registry answers its health path and admits ``username`` to the catalog."""

    url: pulumi.Output[str]
    """Base URL the machine running Pulumi reaches the registry at."""
    server_name: pulumi.Output[str | None]
    """Name the certificate was verified for (None: the URL's host)."""
    ca_certificate: pulumi.Output[str | None]
    """PEM CA the gate trusted (None: plain HTTP, or the system trust store for https)."""
    health_path: pulumi.Output[str]
    catalog_path: pulumi.Output[str]
    username: pulumi.Output[str]
    password: pulumi.Output[str]
    """Secret."""
    timeout_seconds: pulumi.Output[float]
    interval_seconds: pulumi.Output[float]
    triggers: pulumi.Output[dict[str, str]]
    storage_hint: pulumi.Output[str]
    """Added to a 5xx problem ("" for none): what to check when the server's storage fails (S3 mode)."""
    ready_seconds: pulumi.Output[float]
    """Seconds the last create/update waited until the registry was ready."""
    attempts: pulumi.Output[int]
    """Polls the last create/update needed."""
    health_status: pulumi.Output[int]
    """Status the health path answered with (200, or 401 where it needs auth)."""

    def __init__(
        self,
        resource_name: str,
        *,
        url: pulumi.Input[str],
        username: pulumi.Input[str],
        password: pulumi.Input[str],
        ca_certificate: pulumi.Input[str] | None = None,
        server_name: pulumi.Input[str] | None = None,
        health_path: pulumi.Input[str] = DEFAULT_HEALTH_PATH,
        catalog_path: pulumi.Input[str] = DEFAULT_CATALOG_PATH,
        timeout_seconds: pulumi.Input[float] = DEFAULT_TIMEOUT_SECONDS,
        interval_seconds: pulumi.Input[float] = DEFAULT_INTERVAL_SECONDS,
        triggers: pulumi.Input[Mapping[str, pulumi.Input[str]]] | None = None,
        storage_hint: pulumi.Input[str] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props = {
            "url": url,
            "server_name": server_name,
            "ca_certificate": ca_certificate,
            "health_path": health_path,
            "catalog_path": catalog_path,
            "username": username,
            "password": pulumi.Output.secret(password),
            "timeout_seconds": timeout_seconds,
            "interval_seconds": interval_seconds,
            "triggers": triggers or {},
            "ready_seconds": None,
            "attempts": None,
            "health_status": None,
        }
        if storage_hint is not None:
            # Only when given: stacks without one keep exactly the inputs they had.
            props["storage_hint"] = storage_hint
        super().__init__(
            ReadinessGateProvider(),
            resource_name,
            props,
            pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(additional_secret_outputs=["password"])),
        )
