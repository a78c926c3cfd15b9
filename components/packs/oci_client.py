"""Pushing, reading and deleting one pack artifact with the OCI distribution API (plain ``requests``).

The artifact is what ORAS CLI 1.0.0 pushes for ``oras push REF NAME-VERSION.tar.gz`` (docs/registry-servers.md
"Packs in an OCI registry"): an image manifest whose config is ``application/vnd.unknown.config.v1+json``
with content ``{}`` and whose one layer, ``application/vnd.oci.image.layer.v1.tar``, carries the title
annotation. Calls (distribution spec, "push", "pull", "content management"): ``HEAD`` a blob, ``POST`` an
upload then ``PUT`` it with its digest (each blob sent once, and not at all when the registry has it),
``PUT``/``HEAD``/``GET``/``DELETE`` a manifest.

Why not the ``oras`` package (oras-project/oras-py 0.2.x, ``oras/provider.py`` and ``oras/auth``): its
``do_request`` sends every request without credentials first and repeats it after the 401, so each blob
travels twice; ``push`` calls ``load_configs``, which reads ``~/.docker/config.json`` and lets an entry for
the host replace the credentials set in code; ``tls_verify`` takes a CA file path (the CA would sit on disk)
and there is no way to verify the certificate for a name other than the URL's host; no request has a
timeout; and its retry decorator sleeps and retries any exception, 2 + 3**n seconds, five times.

Here: one ``requests.Session`` per operation, credentials sent preemptively (basic auth, UTF-8), nothing read
from the environment (no proxies, no ``.netrc``, no Docker config), TLS verified for ``server_name`` against
the CA held in memory, a timeout on every call and retries through ``urllib3``'s ``Retry``. Messages name the
registry, the verb, the reference and the status, never the password.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

import requests
import requests.adapters

from components.dynamic.http import (
    VerifyingAdapter,
    redact,
    retry,
    shown,
    trust_context,
    unreachable_reason,
    unreachable_status,
)

__all__ = [
    "CONFIG_MEDIA_TYPE",
    "EMPTY_CONFIG",
    "LAYER_MEDIA_TYPE",
    "MANIFEST_MEDIA_TYPE",
    "TITLE_ANNOTATION",
    "OciClient",
    "OciError",
    "OciTarget",
    "PushResult",
    "pack_manifest",
]

MANIFEST_MEDIA_TYPE = "application/vnd.oci.image.manifest.v1+json"
CONFIG_MEDIA_TYPE = "application/vnd.unknown.config.v1+json"
LAYER_MEDIA_TYPE = "application/vnd.oci.image.layer.v1.tar"
TITLE_ANNOTATION = "org.opencontainers.image.title"
EMPTY_CONFIG = b"{}"

TIMEOUT = (5.0, 120.0)
"""(connect, read) seconds for every call; the read budget covers a large blob's PUT being committed."""

_MAX_SERVER_MESSAGE = 300
"""The most of one registry error's text a message shows."""

_MAX_ERRORS_SHOWN = 5
"""The most registry errors a message lists."""

# GET/HEAD/PUT/DELETE are idempotent here; a POST that failed only opens an upload nobody uses.
_RETRY = retry(4, methods=("GET", "HEAD", "PUT", "DELETE", "POST"), backoff_factor=0.2)


class OciError(Exception):
    """A registry call failed. The message names registry, verb, reference and status, never a secret."""

    def __init__(
        self,
        message: str,
        *,
        method: str,
        reference: str,
        status: int | None = None,
        unreachable: str | None = None,
    ) -> None:
        super().__init__(message)
        self.method = method
        self.reference = reference
        self.status = status
        self.unreachable = unreachable
        """Why the registry could not be reached (``"connection refused"``, ``"502 Bad Gateway"``), or None
        when it answered (``components.dynamic.unreachable``)."""


@dataclass(frozen=True)
class OciTarget:
    """Where to push and as whom."""

    registry_url: str
    """``https://address[:port]`` this machine reaches the registry at."""
    username: str
    password: str = field(repr=False)
    server_name: str | None = None
    """The name TLS is verified for (None: the URL's host)."""
    ca_certificate: str | None = None
    """PEM to trust (None: the system store)."""

    @property
    def registry(self) -> str:
        return urlsplit(self.registry_url).netloc


@dataclass(frozen=True)
class PushResult:
    manifest_digest: str
    layer_digest: str
    layer_size: int


def _digest(data: bytes) -> str:
    return f"sha256:{hashlib.sha256(data).hexdigest()}"


def pack_manifest(layer_digest: str, layer_size: int, title: str) -> bytes:
    """The manifest ORAS 1.0.0 writes, serialised as Go's ``encoding/json`` does (compact, struct order)."""
    manifest = {
        "schemaVersion": 2,
        "mediaType": MANIFEST_MEDIA_TYPE,
        "config": {"mediaType": CONFIG_MEDIA_TYPE, "digest": _digest(EMPTY_CONFIG), "size": len(EMPTY_CONFIG)},
        "layers": [
            {
                "mediaType": LAYER_MEDIA_TYPE,
                "digest": layer_digest,
                "size": layer_size,
                "annotations": {TITLE_ANNOTATION: title},
            }
        ],
    }
    return json.dumps(manifest, separators=(",", ":")).encode()


class OciClient:
    """The calls one pack needs, against one registry, as one user."""

    def __init__(self, target: OciTarget) -> None:
        self.target = target

    @contextmanager
    def _session(self) -> Iterator[requests.Session]:
        with requests.Session() as session:
            # No proxies, no ~/.netrc: the credentials are the ones given, and go where the URL says.
            session.trust_env = False
            session.auth = (self.target.username.encode(), self.target.password.encode())
            try:
                context = trust_context(self.target.ca_certificate)
            except Exception as exc:
                raise OciError(
                    f"{self.target.registry}: the CA certificate cannot be loaded ({type(exc).__name__})",
                    method="TLS",
                    reference=self.target.registry,
                ) from None
            session.mount("https://", VerifyingAdapter(context, self.target.server_name, max_retries=_RETRY))
            session.mount("http://", requests.adapters.HTTPAdapter(max_retries=_RETRY))
            yield session

    def _call(
        self,
        session: requests.Session,
        method: str,
        path: str,
        reference: str,
        *,
        ok: tuple[int, ...],
        data: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        absent: tuple[int, ...] = (),
    ) -> requests.Response | None:
        """The response when its status is in ``ok``; None when in ``absent``; else ``OciError``."""
        url = self.target.registry_url.rstrip("/") + path
        try:
            response = session.request(
                method, url, data=data, headers=dict(headers or {}), timeout=TIMEOUT, allow_redirects=False
            )
        except requests.exceptions.RequestException as exc:
            raise OciError(
                self._safe(f"{self.target.registry}: {method} {reference} failed: {type(exc).__name__}: {exc}"),
                method=method,
                reference=reference,
                unreachable=unreachable_reason(exc),
            ) from None
        if response.status_code in ok:
            return response
        if response.status_code in absent:
            return None
        raise OciError(
            self._safe(
                f"{self.target.registry}: {method} {reference} answered {response.status_code} "
                f"{response.reason or ''}{self._errors(response)}"
            ),
            method=method,
            reference=reference,
            status=response.status_code,
            unreachable=unreachable_status(response.status_code),
        )

    def _secrets(self) -> tuple[str, ...]:
        # A registry or proxy that quotes the request may echo the Authorization header: its base64 too.
        basic = base64.b64encode(f"{self.target.username}:{self.target.password}".encode()).decode()
        return (self.target.password, basic)

    def _safe(self, text: str) -> str:
        return redact(text, self._secrets())

    def _errors(self, response: requests.Response) -> str:
        """The registry's error codes and messages (distribution spec "Error codes"), if any, as one short line."""
        try:
            payload = response.json()
        except ValueError:
            payload = None  # a HEAD has no body; a proxy may answer in HTML
        errors = payload.get("errors") if isinstance(payload, dict) else None
        described = [
            shown(f"{e.get('code')}: {e.get('message')}", self._secrets(), _MAX_SERVER_MESSAGE)
            for e in (errors if isinstance(errors, list) else [])[:_MAX_ERRORS_SHOWN]
            if isinstance(e, dict)
        ]
        hint = ""
        if response.status_code == 401:
            hint = " (the registry refused this user and password)"
        elif response.status_code == 405 and response.request.method == "DELETE" and "Allow" not in response.headers:
            # Distribution refuses a delete it is not configured for in an error body alone; a route that takes no
            # DELETE at the time (read-only maintenance mode) says which methods it takes in ``Allow``.
            hint = " (deletes are off on this registry: distribution needs REGISTRY_STORAGE_DELETE_ENABLED=true)"
        return (f" ({'; '.join(described)})" if described else "") + hint

    def _push_blob(self, session: requests.Session, repository: str, data: bytes, *, ask_first: bool = True) -> str:
        digest = _digest(data)
        reference = f"{repository}@{digest}"
        # A registry on object storage may answer a blob it holds with a redirect to the storage (the spec
        # allows one on any GET or HEAD): present all the same, and never followed with our credentials.
        if ask_first:
            exists = self._call(
                session,
                "HEAD",
                f"/v2/{repository}/blobs/{digest}",
                reference,
                ok=(200, 301, 302, 307, 308),
                absent=(404,),
            )
            if exists is not None:
                return digest
        started = self._call(session, "POST", f"/v2/{repository}/blobs/uploads/", reference, ok=(202,))
        assert started is not None
        location = urlsplit(started.headers.get("Location", ""))
        if not location.path:
            raise OciError(
                f"{self.target.registry}: POST {reference} answered 202 without a Location",
                method="POST",
                reference=reference,
                status=202,
            )
        # Only the path and query: the credentials stay with the registry this client was given, whatever
        # host a proxy in front writes into the Location.
        query = "&".join(part for part in (location.query, urlencode({"digest": digest})) if part)
        self._call(
            session,
            "PUT",
            f"{location.path}?{query}",
            reference,
            ok=(201,),
            data=data,
            headers={"Content-Type": "application/octet-stream"},
        )
        return digest

    def push_pack(self, repository: str, tag: str, layer: bytes, title: str) -> PushResult:
        """Pushes config, layer and manifest; the tag then points at the returned manifest digest."""
        reference = f"{repository}:{tag}"
        manifest = pack_manifest(_digest(layer), len(layer), title)
        with self._session() as session:
            # The empty config is two bytes: uploading it costs no more than asking whether it is there (each
            # request is a password check at the proxy, the cost of a push), and a new repository never has it.
            self._push_blob(session, repository, EMPTY_CONFIG, ask_first=False)
            layer_digest = self._push_blob(session, repository, layer)
            response = self._call(
                session,
                "PUT",
                f"/v2/{repository}/manifests/{tag}",
                reference,
                ok=(201,),
                data=manifest,
                headers={"Content-Type": MANIFEST_MEDIA_TYPE},
            )
        assert response is not None
        digest = _digest(manifest)
        answered = response.headers.get("Docker-Content-Digest")
        if answered and answered != digest:
            raise OciError(
                f"{self.target.registry}: PUT {reference} stored manifest {answered}, not the {digest} sent",
                method="PUT",
                reference=reference,
                status=response.status_code,
            )
        return PushResult(manifest_digest=digest, layer_digest=layer_digest, layer_size=len(layer))

    def _read_manifest(self, method: str, repository: str, reference: str) -> requests.Response | None:
        """``HEAD`` or ``GET`` of the manifest a tag (or digest) names; None when the registry has none."""
        with self._session() as session:
            return self._call(
                session,
                method,
                f"/v2/{repository}/manifests/{reference}",
                f"{repository}:{reference}",
                ok=(200,),
                absent=(404,),
                headers={"Accept": MANIFEST_MEDIA_TYPE},
            )

    def manifest_digest(self, repository: str, reference: str) -> str | None:
        """The digest the tag (or digest) resolves to, or None when the registry has no such manifest."""
        response = self._read_manifest("HEAD", repository, reference)
        if response is None:
            return None
        digest = response.headers.get("Docker-Content-Digest")
        if digest:
            return digest
        # The header is optional (distribution spec "Pulling manifests"): the digest of the bytes is the truth.
        fetched = self.get_manifest(repository, reference)
        return fetched[0] if fetched else None

    def get_manifest(self, repository: str, reference: str) -> tuple[str, dict[str, Any]] | None:
        """The manifest's digest and content, or None when absent."""
        response = self._read_manifest("GET", repository, reference)
        if response is None:
            return None
        try:
            manifest = response.json()
        except ValueError:
            manifest = None
        if not isinstance(manifest, dict):
            content_type = shown(response.headers.get("Content-Type") or "no Content-Type", self._secrets(), 100)
            raise OciError(
                f"{self.target.registry}: GET {repository}:{reference} answered 200 with a body that is not a "
                f"manifest ({content_type}, {len(response.content)} bytes): the address does not serve a registry's "
                "/v2/ API (for a registry this stack does not run, check ociEndpoint)",
                method="GET",
                reference=f"{repository}:{reference}",
                status=response.status_code,
            )
        return _digest(response.content), manifest

    def delete_manifest(self, repository: str, digest: str) -> bool:
        """Deletes the manifest (every tag on it goes too); False when it was already gone."""
        with self._session() as session:
            response = self._call(
                session,
                "DELETE",
                f"/v2/{repository}/manifests/{digest}",
                f"{repository}@{digest}",
                ok=(202, 200),
                absent=(404,),
            )
        return response is not None
