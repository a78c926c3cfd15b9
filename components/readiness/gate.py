"""A readiness gate: ``pulumi up`` waits until the registry answers as its clients will use it.

The gate polls, from the machine running Pulumi, until

1. the health path answers over a verified connection (TLS checked against ``ca_certificate`` for
   ``server_name``; every certificate in ``ca_certificate`` is trusted as an anchor, so a provided chain
   that starts with the server certificate, or lacks its root, verifies), and
2. the catalog path returns 200 for ``username``/``password`` (basic auth), and
3. for the OCI kind (``require_challenge``, ``write_probe_path``): the health path answered anonymously with
   401 and a Basic challenge, and the read-only user's attempt to start a blob upload is refused. A
   registry that lets the read-only user push fails the gate at once. For the legacy kind
   (``write_probe_must_refuse`` false) the same attempt is only recorded in ``write_probe_result`` ("allowed"
   is turned into a warning by the program), as is any other answer ("not-tried": no such route, a full volume).

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

The polling and the diagnosis live in ``readiness/probe.py``; this module is the Pulumi resource around them.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import pulumi
import pulumi.dynamic

from components.dynamic.values import InputCheck, is_unknown, with_defaults
from components.readiness.probe import (
    DEFAULT_INTERVAL_SECONDS,
    DEFAULT_TIMEOUT_SECONDS,
    ProbeSettings,
    RegistryNotReady,
    wait_until_ready,
)

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
    "require_challenge",
    "write_probe_path",
    "write_probe_must_refuse",
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
        "require_challenge": False,
        "write_probe_path": "",
        "write_probe_must_refuse": True,
    }


def _probe_settings(props: Mapping[str, Any]) -> ProbeSettings:
    """What the gate's properties ask the probe to do (absent optional inputs defaulted)."""
    merged = with_defaults(props, _defaults())
    return ProbeSettings(
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
        require_challenge=bool(merged["require_challenge"]),
        write_probe_path=merged.get("write_probe_path") or None,
        write_probe_must_refuse=bool(merged["write_probe_must_refuse"]),
    )


def _outputs(props: Mapping[str, Any]) -> dict[str, Any]:
    settings = _probe_settings(props)
    measured = wait_until_ready(settings)
    inputs = {key: props[key] for key in INPUT_KEYS if props.get(key) is not None}
    return {**_defaults(), **inputs, **measured}


def _check_failures(news: Mapping[str, Any]) -> list[pulumi.dynamic.CheckFailure]:
    check = InputCheck(news)
    fail, known = check.fail, check.known

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
    for key in ("health_path", "catalog_path", "write_probe_path"):
        value = news.get(key)
        if key == "write_probe_path" and value in (None, ""):
            continue
        if known(key) and not (isinstance(value, str) and value.startswith("/")):
            fail(key, f"'{value}' is not an absolute URL path: start it with '/'")
    for key in ("username", "password"):
        check.text(key)
    for key in ("timeout_seconds", "interval_seconds"):
        value = news.get(key)
        if known(key) and not (isinstance(value, int | float) and not isinstance(value, bool) and value > 0):
            fail(key, f"{value!r} is not a positive number of seconds")
    if check.pem_certificate("ca_certificate") is not None and scheme == "http":
        fail("ca_certificate", "a plain-HTTP url takes no CA certificate: use an https:// url or drop the CA")
    server_name = news.get("server_name")
    if known("server_name") and server_name is not None and not (isinstance(server_name, str) and server_name):
        fail("server_name", "must be a non-empty host name or IP address")
    check.flag("require_challenge")
    check.flag("write_probe_must_refuse")
    triggers = news.get("triggers")
    if known("triggers") and triggers is not None and not isinstance(triggers, dict):
        fail("triggers", "must be a map of strings")
    return check.failures


class ReadinessGateProvider(pulumi.dynamic.ResourceProvider):
    """Waits for the registry on create and on every update; nothing to delete."""

    # Pickled by reference into state as ``components.readiness.{class name}`` (tests/program/test_state_unpickles.py):
    # the path stays, so existing stacks unpickle it and a new pickle is byte for byte the one they hold.
    __module__ = "components.readiness"

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
    require_challenge: pulumi.Output[bool]
    """The health path must answer 401 with a Basic challenge (OCI kind: the proxy guards everything)."""
    write_probe_path: pulumi.Output[str]
    """Where the read-only user tries to start a blob upload ("" for no probe)."""
    write_probe_must_refuse: pulumi.Output[bool]
    """A write not refused fails the gate (OCI kind); False records it in ``write_probe_result`` (legacy kind)."""
    write_probe_result: pulumi.Output[str | None]
    """What the last write probe met: "refused", "allowed" (the read-only user can push) or "not-tried" (any other
    answer: no such route, a full volume's 500); None without a probe."""
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
        require_challenge: bool = False,
        write_probe_path: str | None = None,
        write_probe_must_refuse: bool = True,
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
        if require_challenge or write_probe_path:
            props["require_challenge"] = require_challenge
            props["write_probe_path"] = write_probe_path or ""
            props["write_probe_result"] = None
        if not write_probe_must_refuse:
            # The legacy kind's only: an OCI gate's inputs stay as they were.
            props["write_probe_must_refuse"] = False
        super().__init__(
            ReadinessGateProvider(),
            resource_name,
            props,
            pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(additional_secret_outputs=["password"])),
        )
