"""A small client for Palette's registry APIs, built on plain ``requests``.

It knows the calls in ``docs/palette-api.md`` and nothing about Pulumi, so it can be used and
tested on its own. The calls are the same for both kinds of registration (a legacy pack registry, an
OCI registry); their paths and bodies come from the kind's ``shapes.RegistryShape``.

Each public method is one operation with its own ``requests.Session`` (opened and
closed in a ``with`` block), a timeout on every request and retries through
``HTTPAdapter(max_retries=urllib3.util.Retry(...))``: exponential backoff with jitter on 429 and 5xx and on
connection errors, honouring ``Retry-After``.

POSTs are retried by urllib3 only where a repeat cannot duplicate anything (validate, sync). The create
POST is never repeated blindly: after a retryable failure the name is looked up first, because the
failed attempt may have registered it, and only when it is absent is the create tried again. So one
call to ``create`` leaves exactly one registration.

Errors are ``PaletteError`` subclasses. Their messages name the registration and the Palette (``api_url``),
the verb and path and the HTTP status, and never contain the API key or a password: anything the server
echoes (a failed sync's message included) is redacted of the key and of the registration's own secrets
(``PaletteClient.secrets``), in every form a secret takes in a message (as is, ``repr``/JSON-escaped,
URL-encoded).

The API key is stripped of surrounding whitespace (a key read from a secret file or a CI variable often
ends in a newline); a key with a control or non-ASCII character inside is refused as malformed before
any request, without being quoted.

A 404 on a registration's own URL means it is gone only when the key is known to work: an invalid key
has been reported to answer 404 (docs/palette-api.md "Errors"). So before a 404 is believed, one cheap authenticated
call (the kind's listing: the list's first page with ``limit=1``, or the OCI summary) must answer 200;
otherwise the key is blamed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import MaxRetryError, ReadTimeoutError

from components.dynamic.http import (
    RETRY_STATUSES,
    redact,
    shown,
    unreachable_reason,
    unreachable_status,
)
from components.palette.access import normalise_api_key
from components.palette.errors import (
    ERRORS_BY_STATUS,
    PaletteAuthError,
    PaletteConflict,
    PaletteError,
    PaletteNotFound,
    PaletteSyncError,
    PaletteUnavailable,
)
from components.palette.policy import HttpPolicy
from components.palette.shapes import PACK_REGISTRY_API, RegistrationSpec, RegistryShape

__all__ = ["MASKED", "PaletteClient", "sync_state"]

log = logging.getLogger(__name__)

PAGE_LIMIT = 50  # the API's default and maximum page size
MAX_PAGES = 1000  # a guard against a server that never ends the listing
# What Palette sends back in place of a secret on every read.
MASKED = "********"
_MAX_SERVER_MESSAGE = 300

# Sync status strings, by outcome (docs/palette-api.md "Sync"); compared case-insensitively.
_SYNC_DONE = frozenset({"completed", "success", "succeeded"})
_SYNC_FAILED = frozenset({"failed", "error"})

# requests refuses these before anything is sent (a header value with a line break, a bad URL).
_MALFORMED = (
    requests.exceptions.InvalidHeader,
    requests.exceptions.InvalidURL,
    requests.exceptions.InvalidSchema,
    requests.exceptions.MissingSchema,
)

_FIX_KEY = "Set a valid Palette API key: `pulumi config set --secret paletteApiKey <key>` or export PALETTE_API_KEY."


# ---------------------------------------------------------------------------------------------- sync


def sync_state(status: str | None) -> str:
    """``"done"``, ``"failed"`` or ``"running"`` for a Palette sync status string."""
    folded = (status or "").strip().casefold()
    if folded in _SYNC_DONE:
        return "done"
    if folded in _SYNC_FAILED:
        return "failed"
    return "running"


# ---------------------------------------------------------------------------------------------- client


@dataclass(frozen=True)
class PaletteClient:
    """Registry calls against one Palette, for one registration (both named in every error), in the API
    shape of its kind (``shapes``: the legacy pack-registry API unless told otherwise)."""

    api_url: str
    api_key: str = field(repr=False)
    registration: str = ""
    policy: HttpPolicy = field(default_factory=HttpPolicy)
    secrets: tuple[str, ...] = field(default=(), repr=False)
    """The registration's own secrets (its registry password), redacted like the key from every message:
    Palette's replies (a failed sync's message) may quote them."""
    shape: RegistryShape = PACK_REGISTRY_API
    """Which API the registration lives in: its paths and bodies."""

    def __post_init__(self) -> None:
        # A key read from a file or a CI variable often ends in a newline; no key has surrounding spaces.
        object.__setattr__(self, "api_key", normalise_api_key(self.api_key))

    @property
    def where(self) -> str:
        """How messages name the registration: its name and the Palette it is in."""
        return f"pack registry '{self.registration}' at {self.api_url}"

    # -- reads

    def find_by_name(self, name: str) -> dict[str, Any] | None:
        """The registration whose ``metadata.name`` is exactly ``name``, from the kind's listing (paged
        or not); for a kind whose listing holds summaries, a summary item."""
        with self._session(retry_post=False) as session:
            return self._find(session, name)

    def get(self, uid: str) -> dict[str, Any]:
        """The registration ``uid`` (secrets masked). ``PaletteNotFound`` when it is gone (a 404 that
        the key's own check confirms); ``PaletteAuthError`` when the 404 may be the key's fault."""
        with self._session(retry_post=False) as session:
            try:
                return self._object(self._call(session, "GET", self.shape.item(uid), expect=200))
            except PaletteNotFound:
                self._confirm_not_found(session)
                raise

    def sync_status(self, uid: str) -> dict[str, Any]:
        """``{isSyncSupported, status, message, lastRunTime, lastSyncedTime}``."""
        with self._session(retry_post=False) as session:
            return self._sync_status(session, uid)

    # -- writes

    def validate(self, registry: RegistrationSpec) -> None:
        """Ask Palette to check the registry (endpoint, credentials, TLS). Raises when it refuses."""
        with self._session(retry_post=True) as session:
            self._call(
                session,
                "POST",
                self.shape.validate,
                json=self.shape.spec(registry),
                expect=204,
                secrets=(registry.password,),
            )

    def create(self, registry: RegistrationSpec, *, skip_pack_sync: bool) -> str:
        """Register ``registry`` and return its uid; ``PaletteConflict`` when the name is taken.

        urllib3 does not repeat this POST. On a retryable failure (429, 5xx, dropped connection,
        timeout) the name is looked up: if the failed attempt did register it, that uid is returned;
        if not, the create is tried again after the policy's backoff.
        """
        params = {"skipPackSync": "true" if skip_pack_sync else "false"}
        body = self.shape.body(registry)
        path = self.shape.collection
        retry = self.policy.retry(retry_post=True)
        with self._session(retry_post=False) as session:
            while True:
                try:
                    response = self._send(session, "POST", path, params=params, json=body, secrets=(registry.password,))
                except PaletteUnavailable as exc:
                    failure: PaletteError = exc
                    raw = None
                else:
                    if response.status_code == 201:
                        uid = self._uid(response, secrets=(registry.password,))
                        log.debug("created pack registry '%s' (uid %s)", registry.name, uid)
                        return uid
                    failure = self._error(response, secrets=(registry.password,))
                    if response.status_code not in RETRY_STATUSES:
                        raise failure
                    raw = response.raw
                existing = self._find(session, registry.name)
                if existing is not None:
                    uid = str(existing["metadata"]["uid"])
                    log.info("pack registry '%s': the interrupted create did register it (uid %s)", registry.name, uid)
                    return uid
                try:
                    retry = retry.increment(method="POST", url=path, response=raw)
                except MaxRetryError:
                    raise failure from None
                log.info("pack registry '%s': create failed (%s), trying again", registry.name, failure)
                retry.sleep(raw)

    def update(self, uid: str, registry: RegistrationSpec) -> None:
        """Replace the registration with ``registry`` (a full PUT, real password included)."""
        with self._session(retry_post=False) as session:
            try:
                self._call(
                    session,
                    "PUT",
                    self.shape.item(uid),
                    json=self.shape.body(registry, uid),
                    expect=204,
                    secrets=(registry.password,),
                )
            except PaletteNotFound:
                self._confirm_not_found(session)
                raise

    def delete(self, uid: str) -> bool:
        """Delete the registration. ``False`` when it was already gone (404 on its own URL, with the key
        confirmed to work); ``PaletteAuthError`` when the 404 may be the key's fault."""
        with self._session(retry_post=False) as session:
            try:
                self._call(session, "DELETE", self.shape.item(uid), expect=204)
            except PaletteNotFound:
                self._confirm_not_found(session)
                return False
        return True

    def sync(self, uid: str) -> None:
        """Start a pack sync (``forceSync=false``: a sync already running is left alone)."""
        with self._session(retry_post=True) as session:
            self._call(session, "POST", self.shape.sync(uid), params={"forceSync": "false"}, expect=202)

    def wait_for_sync(self, uid: str, *, timeout_seconds: float) -> dict[str, Any]:
        """Poll the sync status until it is done; the last status. ``PaletteSyncError`` when it
        failed or was still running after ``timeout_seconds``."""
        deadline = time.monotonic() + timeout_seconds
        with self._session(retry_post=False) as session:
            while True:
                status = self._sync_status(session, uid)
                text = str(status.get("status") or "")
                state = sync_state(text)
                if status.get("isSyncSupported") is False or state == "done":
                    return status
                path = self.shape.sync_status(uid)
                if state == "failed":
                    detail = self._shown(str(status.get("message") or "no message"), ())
                    raise PaletteSyncError(
                        f"{self.where}: Palette's pack sync failed (status {text!r}): {detail}",
                        registration=self.registration,
                        method="GET",
                        path=path,
                    )
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise PaletteSyncError(
                        f"{self.where}: the pack sync was still {text or 'pending'!r} "
                        f"after {timeout_seconds:g}s; raise sync_timeout_seconds or set wait_for_sync false",
                        registration=self.registration,
                        method="GET",
                        path=path,
                    )
                log.info("pack registry '%s': sync %s, waiting", self.registration, text or "pending")
                time.sleep(min(self.policy.sync_poll_seconds, remaining))

    def wait_for_packs(
        self,
        registry_uid: str,
        names: Iterable[str],
        *,
        proven: Callable[[str, Mapping[str, Any] | None], bool],
        timeout_seconds: float,
    ) -> dict[str, dict[str, Any] | None]:
        """Read what Palette lists of each pack name in the registry (``GET /v1/packs/{name}/registries/{uid}``,
        ``v1PackTagEntity``; None when Palette answers 404: it does not know the pack) until ``proven(name,
        listing)`` holds for every name, or ``timeout_seconds`` have passed; the last listing of each name.

        A proven name is not read again. Between two rounds the client waits ``sync_poll_seconds``; every read is
        retried on 429 and 5xx like every call (``Retry-After`` honoured), and a 429 or 5xx that outlasts the
        retries raises ``PaletteUnavailable``."""
        deadline = time.monotonic() + timeout_seconds
        pending = sorted(set(names))
        listings: dict[str, dict[str, Any] | None] = {}
        with self._session(retry_post=False) as session:
            while True:
                for name in list(pending):
                    path = f"/v1/packs/{quote(name, safe='')}/registries/{quote(registry_uid, safe='')}"
                    response = self._send(session, "GET", path)
                    if response.status_code == 404:
                        listings[name] = None
                    elif response.status_code == 200:
                        listings[name] = self._object(response)
                    else:
                        raise self._error(response, secrets=())
                    if proven(name, listings[name]):
                        pending.remove(name)
                remaining = deadline - time.monotonic()
                if not pending or remaining <= 0:
                    return listings
                log.info("pack registry '%s': Palette does not list %s yet, waiting", self.registration, pending)
                time.sleep(min(self.policy.sync_poll_seconds, remaining))

    # -- plumbing

    @contextmanager
    def _session(self, *, retry_post: bool) -> Iterator[requests.Session]:
        if not self.api_key:
            raise PaletteAuthError(
                f"{self.where}: no Palette API key. {_FIX_KEY}",
                registration=self.registration,
            )
        if not _sendable(self.api_key):
            raise PaletteAuthError(
                f"{self.where}: the Palette API key is malformed: it holds a control "
                f"or non-ASCII character (the key is not shown). {_FIX_KEY}",
                registration=self.registration,
            )
        with requests.Session() as session:
            adapter = HTTPAdapter(max_retries=self.policy.retry(retry_post=retry_post))
            session.mount("https://", adapter)
            session.mount("http://", adapter)
            session.headers.update({"ApiKey": self.api_key, "Accept": "application/json"})
            yield session

    def _find(self, session: requests.Session, name: str) -> dict[str, Any] | None:
        listing = self.shape.listing
        token = ""
        for _ in range(MAX_PAGES):
            params: dict[str, Any] | None = None
            if self.shape.paged:
                params = {"limit": PAGE_LIMIT, **({"continue": token} if token else {})}
            page = self._object(self._call(session, "GET", listing, params=params, expect=200))
            for item in page.get("items") or []:
                if (item.get("metadata") or {}).get("name") == name:
                    return self._adoptable(item)
            token = str((page.get("listmeta") or {}).get("continue") or "") if self.shape.paged else ""
            if not token:
                return None
        raise PaletteError(
            f"{self.where}: GET {listing} did not end after {MAX_PAGES} pages",
            registration=self.registration,
            method="GET",
            path=listing,
        )

    def _adoptable(self, item: dict[str, Any]) -> dict[str, Any]:
        reason = self.shape.refuses(item)
        if reason:
            raise PaletteConflict(
                f"{self.where}: {reason}",
                registration=self.registration,
                method="GET",
                path=self.shape.listing,
            )
        return item

    def _sync_status(self, session: requests.Session, uid: str) -> dict[str, Any]:
        return self._object(self._call(session, "GET", self.shape.sync_status(uid), expect=200))

    def _confirm_not_found(self, session: requests.Session) -> None:
        """Return when the key works (the kind's listing answers 200), so that a 404 just seen means "gone".

        An invalid key has been seen to answer 404 (docs/palette-api.md "Errors"): believing it would make a refresh
        drop a live registration and a destroy orphan it.
        """
        listing, query = self.shape.listing, dict(self.shape.key_check)
        response = self._send(session, "GET", listing, params=query or None)
        if response.status_code == 200:
            return
        if response.status_code in (401, 404):
            asked = listing + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")
            raise PaletteAuthError(
                f"{self.where}: Palette answered 404 for the registration, but it "
                f"also answered HTTP {response.status_code} to GET {asked}, so the 404 is not "
                f"taken to mean the registration is gone: Palette most likely rejected the API key. {_FIX_KEY}",
                registration=self.registration,
                method="GET",
                path=listing,
                status=response.status_code,
            )
        raise self._error(response, secrets=())

    def _call(
        self,
        session: requests.Session,
        method: str,
        path: str,
        *,
        expect: int,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        secrets: tuple[str, ...] = (),
    ) -> requests.Response:
        response = self._send(session, method, path, params=params, json=json, secrets=secrets)
        if response.status_code != expect:
            raise self._error(response, secrets=secrets)
        return response

    def _send(
        self,
        session: requests.Session,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        secrets: tuple[str, ...] = (),
    ) -> requests.Response:
        where = path + ("?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else "")
        try:
            response = session.request(
                method,
                self.api_url.rstrip("/") + path,
                params=params,
                json=json,
                timeout=self.policy.timeout,
                # A redirect would carry the ApiKey header to wherever it points.
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            # After the retries, urllib3 wraps the last error in a MaxRetryError: describe that one.
            cause = exc.args[0] if exc.args else None
            reason = cause.reason if isinstance(cause, MaxRetryError) else exc
            kind: type[PaletteError] = PaletteUnavailable
            unreachable = unreachable_reason(exc)
            if isinstance(exc, _MALFORMED):
                # requests refused to build the request: nothing was sent, so nothing was unreachable.
                kind, what, unreachable = PaletteError, "was not sent: the request is malformed", None
            elif isinstance(exc, requests.ReadTimeout) or isinstance(reason, ReadTimeoutError):
                what = f"got no answer from Palette within {self.policy.read_timeout:g}s"
            else:
                what = f"could not reach Palette at {self.api_url}"
            raise kind(
                f"{self.where}: {method} {where} {what}: {self._redact(str(reason), secrets)}",
                registration=self.registration,
                method=method,
                path=where,
                unreachable=unreachable,
            ) from None
        log.debug("%s %s -> %s", method, where, response.status_code)
        return response

    def _object(self, response: requests.Response, *, secrets: tuple[str, ...] = ()) -> dict[str, Any]:
        """A successful answer's body, which Palette's API always sends as a JSON object. Anything else (most
        often the HTML of Palette's web console, when paletteApiUrl names the console and not its API) fails in
        one line instead of a traceback."""
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict):
            return body
        content_type = self._shown(response.headers.get("Content-Type") or "no Content-Type", secrets, limit=100)
        raise self._unexpected(
            response,
            f"with a body that is not a JSON object ({content_type}, {len(response.content)} bytes). Set paletteApiUrl "
            "to Palette's API address (https://api.spectrocloud.com for Palette SaaS; for a self-hosted Palette, the "
            "address its API answers at), not its web console.",
        )

    def _uid(self, response: requests.Response, *, secrets: tuple[str, ...]) -> str:
        """The ``uid`` of a create's answer (``{"uid": "..."}``)."""
        uid = self._object(response, secrets=secrets).get("uid")
        if not isinstance(uid, str) or not uid:
            raise self._unexpected(
                response,
                "without the new registration's uid; look the registration up in Palette before running pulumi up "
                "again (it may exist)",
            )
        return uid

    def _unexpected(self, response: requests.Response, what: str) -> PaletteError:
        """A success whose answer is not what Palette's API sends."""
        request = response.request
        return PaletteError(
            f"{self.where}: {request.method} {request.path_url} returned HTTP {response.status_code} {what}",
            registration=self.registration,
            method=str(request.method),
            path=str(request.path_url),
            status=response.status_code,
        )

    def _error(self, response: requests.Response, *, secrets: tuple[str, ...]) -> PaletteError:
        request = response.request
        method = str(request.method)
        path = str(request.path_url)
        status = response.status_code
        try:
            payload = response.json()
        except ValueError:
            payload = None
        if not isinstance(payload, dict):
            payload = {"message": response.text}
        code = self._shown(str(payload.get("code") or ""), secrets, limit=100)
        ref = self._shown(str(payload.get("ref") or ""), secrets, limit=100)
        detail = self._shown(str(payload.get("message") or response.reason or ""), secrets)
        said = f"{code}: {detail}" if code else detail
        if ref:
            said += f" (ref {ref})"
        where = f"{self.where}: {method} {path} returned HTTP {status}"
        kind = ERRORS_BY_STATUS.get(status)
        if status == 401:
            message = f"{where}: Palette rejected the API key. {_FIX_KEY} Palette said: {said}"
        elif status == 403:
            message = (
                f"{where}: the API key's user may not manage pack registries; pack registries are "
                f"tenant-level, so use a key of a tenant admin. Palette said: {said}"
            )
        elif status in RETRY_STATUSES:
            kind = PaletteUnavailable
            message = f"{where} (after {self.policy.retries} retries): {said}"
        else:
            message = f"{where}: {said}"
        return (kind or PaletteError)(
            message,
            registration=self.registration,
            method=method,
            path=path,
            status=status,
            code=code or None,
            ref=ref or None,
            unreachable=unreachable_status(status),
        )

    def _shown(self, text: str, secrets: tuple[str, ...], limit: int = _MAX_SERVER_MESSAGE) -> str:
        """Text Palette sent, fit for a one-line message without the client's secrets (dynamic/http.py ``shown``)."""
        return shown(text, self._secrets(secrets), limit)

    def _redact(self, text: str, secrets: tuple[str, ...]) -> str:
        return redact(text, self._secrets(secrets))

    def _secrets(self, secrets: tuple[str, ...]) -> tuple[str, ...]:
        # Palette's mask is no secret: a message may say a value was masked.
        return tuple(s for s in (self.api_key, *self.secrets, *secrets) if s != MASKED)


def _sendable(key: str) -> bool:
    """Whether every character of the key can go into an HTTP header as is (printable ASCII)."""
    return all(32 <= ord(char) < 127 for char in key)
