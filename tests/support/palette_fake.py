"""A fake Palette: a real HTTP server on 127.0.0.1 that serves the pack-registry and OCI-registry APIs.

It follows docs/palette-api.md ("Legacy pack registries" and the sections after it): the ``ApiKey`` header
(any case) or 401, the documented success codes and bodies, secrets masked as ``********`` on every
read, paging with ``listmeta.continue`` (at most 50 a page, ``""`` at the end), errors as
``{code, message, details, ref}``, 404 ``ResourceNotFound``, and a 409 for a duplicate name on create
(the contract's best guess). ``metadata.annotations`` (v1ObjectMeta, a string map "preserved when
modifying objects") is stored on create and returned on every read; a PUT that carries annotations
replaces them, one without keeps them.

OCI registries (basic auth) follow docs/palette-api.md "OCI
registries": create at ``POST /v1/registries/oci/basic`` (201 ``{uid}``, 409 for a duplicate name),
``POST .../oci/basic/validate`` with the bare ``v1BasicOciRegistrySpec`` (204), ``GET .../oci/summary``
(every OCI registry at once, no paging, summary items whose spec has ``registryType`` and
``providerType``), ``GET/PUT/DELETE .../oci/{uid}/basic`` (the password masked on GET; 204 for PUT and
DELETE), ``POST .../{uid}/basic/sync`` (202) and ``GET .../{uid}/basic/sync/status``; a read body keeps the
sync status under ``status.syncStatus``, a summary item under ``status.sync``. A spec without
``providerType`` is stored as ``helm`` (the schema's default). The fake is stricter than Palette is known
to be in two ways, so that a client cannot lean on what is unconfirmed: a spec key the schema does not
define (``name``, ``private``) is a 400, and a summary item's metadata carries the name and uid only (no
annotations). The two kinds live in separate collections: one kind's calls never see the other's.

With ``reads_registries``, a sync of an OCI registration that holds packs (``providerType: pack``) is real: it
runs in a thread of its own (the status says ``InProgress`` until it is done) and reads the registry as Palette does,
with the registration's endpoint, base content path, credentials and CA (tests/support/palette_sync.py, which also
says how each pack is parsed and when one is skipped); ``addresses`` maps a registered host name to the address the
fake connects to (Palette's DNS). A registry that cannot be read fails the sync with the reason as its message; a
pack that cannot be parsed is skipped, its reason kept in ``skipped``, and the sync still completes. What the last
sync found is served at ``GET /v1/packs/{packName}/registries/{registryUid}`` as ``v1PackTagEntity``
(docs/palette-api.md "What Palette serves after a sync"; tests/data/palette/pack-listing-spec.json, the spec
excerpt a test validates every answer against): the pack's versions under ``tags[]``, each with a ``packUid`` that
stays the same for a name and version of one registration, and ``packValues[]`` with the ``values``, ``readme``,
``presets`` and ``schema`` parsed from the layer; a pack name the last sync did not find is a 404
``ResourceNotFound``.

Tests switch faults on (the next N matching responses are a 429 with ``Retry-After``, a 5xx, slow, or
a dropped connection, before or after the request took effect) and read ``requests``: every request
with its method, path, query, headers and JSON body.

    with FakePalette() as palette:
        client = PaletteClient(palette.url, palette.api_key)
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
import re
import secrets
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from tests.support.palette_sync import ParsedPack, SyncResult, read_registry

MASKED = "********"
PAGE_MAX = 50
REGISTRIES = "/v1/registries/pack"
_ITEM = re.compile(r"^/v1/registries/pack/(?P<uid>[^/]+)(?P<rest>/sync|/sync/status)?$")
OCI = "/v1/registries/oci"
_OCI_ITEM = re.compile(r"^/v1/registries/oci/(?P<uid>[^/]+)/basic(?P<rest>/sync|/sync/status)?$")
# v1BasicOciRegistrySpec's properties, and where each kind keeps the sync status in a read body.
_OCI_SPEC_KEYS = frozenset(
    {
        "auth",
        "baseContentPath",
        "basePath",
        "containsSpectroManifest",
        "endpoint",
        "isSyncSupported",
        "providerType",
        "registryUid",
        "scope",
    }
)
_PROVIDER_TYPES = ("helm", "zarf", "pack")
_PACKS = re.compile(r"^/v1/packs/(?P<name>[^/]+)/registries/(?P<uid>[^/]+)$")
LEGACY_KIND, OCI_KIND = "legacy", "oci"
_SYNC_KEY = {LEGACY_KIND: "packSyncStatus", OCI_KIND: "syncStatus"}


@dataclass
class Recorded:
    """One request as the server saw it."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # names lower-cased
    body: Any

    @property
    def target(self) -> str:
        """``METHOD path`` (no query), handy in assertions."""
        return f"{self.method} {self.path}"


@dataclass
class Fault:
    """What to do to the next ``count`` matching requests (``count=None``: all of them)."""

    count: int | None
    status: int | None = None  # answer with this status (and an error body) ...
    drop: bool = False  # ... or close the connection without answering
    delay: float = 0.0  # sleep this long before answering
    retry_after: str | None = None
    method: str | None = None
    path: str | None = None  # a regex searched in the path
    commit: bool = False  # let the request take effect first, then delay or spoil the answer
    message: str | None = None
    action: Callable[[], None] | None = None  # run just before the request is handled
    raw: tuple[str, bytes] | None = None  # answer with this Content-Type and body (and ``status``), as it is

    def matches(self, method: str, path: str) -> bool:
        if self.method and self.method != method:
            return False
        return not (self.path and not re.search(self.path, path))


@dataclass
class FakePalette:
    """The fake server and its state. Use as a context manager, or ``start()`` / ``close()``."""

    api_key: str = field(default_factory=lambda: "fake-palette-key-" + secrets.token_hex(12))
    duplicate_status: int = 409
    sync_polls_to_finish: int = 1
    """How many sync-status reads a running sync takes before it reports ``sync_outcome``."""
    sync_outcome: str = "Completed"
    sync_message: str = ""
    validate_error: tuple[int, str] | None = None
    """``(status, message)`` the validate call answers with instead of 204."""
    rejected_key_status: int = 401
    """What a missing or wrong key gets: 401, or 404 ``ResourceNotFound`` (docs/palette-api.md "Errors": an invalid key
    has been seen to produce it), on every path."""
    keeps_annotations: bool = True
    """False: ``metadata.annotations`` are dropped on create and PUT (a Palette that does not keep them)."""

    reads_registries: bool = False
    """A sync of an OCI pack registration reads the registry for real (see the module's docstring)."""
    addresses: dict[str, str] = field(default_factory=dict)
    """Registered host name -> the address a real sync connects to for it (Palette's DNS)."""

    registries: dict[str, dict[str, Any]] = field(default_factory=dict)
    synced: dict[str, SyncResult] = field(default_factory=dict)
    """Registration uid -> what its last finished real sync found."""
    requests: list[Recorded] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._sync_reads: dict[str, int] = {}
        self._kinds: dict[str, str] = {}
        self._registry_types: dict[str, str] = {}
        self._syncs: dict[str, threading.Thread] = {}
        self._pack_uids: dict[tuple[str, str, str], str] = {}

    # -- lifecycle

    def start(self) -> FakePalette:
        fake = self

        class Handler(_Handler):
            palette = fake

        self._server = _Server(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, name="fake-palette", daemon=True
        )
        self._thread.start()
        return self

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakePalette:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def url(self) -> str:
        assert self._server is not None, "start the fake first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # -- faults

    def fail_next(self, count: int | None, status: int = 503, **match: Any) -> None:
        """The next ``count`` matching requests get ``status`` (``retry_after=``, ``method=``,
        ``path=``, ``commit=``, ``message=`` as in ``Fault``)."""
        with self._lock:
            self.faults.append(Fault(count, status=status, **match))

    def drop_next(self, count: int | None, **match: Any) -> None:
        """The next ``count`` matching requests get no answer: the connection is closed."""
        with self._lock:
            self.faults.append(Fault(count, drop=True, **match))

    def slow_next(self, count: int | None, seconds: float, **match: Any) -> None:
        """The next ``count`` matching requests are answered after ``seconds``."""
        with self._lock:
            self.faults.append(Fault(count, delay=seconds, **match))

    def answer_next(
        self, count: int | None, body: bytes, content_type: str = "text/html", status: int = 200, **match: Any
    ) -> None:
        """The next ``count`` matching requests get ``body`` as it is: what a web page, a proxy's error page or a
        server that is not Palette's API sends."""
        with self._lock:
            self.faults.append(Fault(count, status=status, raw=(content_type, body), **match))

    def before_next(self, action: Callable[[], None], **match: Any) -> None:
        """Run ``action`` just before the next matching request is handled (a change racing it)."""
        with self._lock:
            self.faults.append(Fault(1, action=action, **match))

    def clear_faults(self) -> None:
        with self._lock:
            self.faults.clear()

    def _take_fault(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.matches(method, path):
                    if fault.count is not None:
                        fault.count -= 1
                        if fault.count <= 0:
                            self.faults.remove(fault)
                    return fault
        return None

    # -- state, out of band (what someone clicking in the Palette console would do)

    def add_registry(
        self,
        name: str,
        *,
        kind: str = LEGACY_KIND,
        endpoint: str = "https://registry.example.com:5000",
        username: str = "someone",
        password: str | None = None,
        private: bool = True,
        certificate: str = "",
        insecure_skip_verify: bool = False,
        annotations: dict[str, str] | None = None,
        provider_type: str = "pack",
        base_content_path: str = "packs",
        registry_type: str = "basic",
    ) -> str:
        """A registration made by someone else: ``kind`` legacy or oci (``provider_type``,
        ``base_content_path`` and the summary's ``registry_type``, e.g. ``ecr``, for oci only)."""
        auth = {
            "type": "basic",
            "username": username,
            "password": password if password is not None else "someone-elses-" + secrets.token_hex(6),
            "tls": {"enabled": True, "insecureSkipVerify": insecure_skip_verify, "certificate": certificate},
        }
        spec: dict[str, Any]
        if kind == OCI_KIND:
            spec = {
                "endpoint": endpoint,
                "providerType": provider_type,
                "baseContentPath": base_content_path,
                "isSyncSupported": True,
                "containsSpectroManifest": False,
                "auth": auth,
            }
        else:
            spec = {"name": name, "endpoint": endpoint, "private": private, "auth": auth}
        metadata: dict[str, Any] = {"name": name}
        if annotations:
            metadata["annotations"] = dict(annotations)
        with self._lock:
            uid = self._store({"metadata": metadata, "spec": spec}, syncing=False, kind=kind)
            self._registry_types[uid] = registry_type
            return uid

    def kind_of(self, uid: str) -> str:
        """``legacy`` or ``oci``: which API the registration lives in."""
        with self._lock:
            return self._kinds[uid]

    def edit(self, uid: str, **spec: Any) -> None:
        """Change fields of ``spec`` (``endpoint``, ``private``, ``baseContentPath``, ``providerType``) or of
        ``spec.auth`` (the rest)."""
        with self._lock:
            record = self.registries[uid]
            for key, value in spec.items():
                if key in ("endpoint", "private", "baseContentPath", "providerType"):
                    record["spec"][key] = value
                elif key in ("enabled", "insecureSkipVerify", "certificate"):
                    record["spec"]["auth"]["tls"][key] = value
                else:
                    record["spec"]["auth"][key] = value

    def annotate(self, uid: str, annotations: dict[str, str] | None) -> None:
        """Replace the registration's ``metadata.annotations`` (``None``: remove them)."""
        with self._lock:
            metadata = self.registries[uid]["metadata"]
            metadata.pop("annotations", None)
            if annotations is not None:
                metadata["annotations"] = dict(annotations)

    def remove(self, uid: str) -> None:
        with self._lock:
            del self.registries[uid]

    def named(self, name: str, kind: str | None = None) -> list[dict[str, Any]]:
        """Every stored registration with that name (with real secrets), of either kind or of ``kind``."""
        with self._lock:
            return [
                copy.deepcopy(r)
                for uid, r in self.registries.items()
                if r["metadata"]["name"] == name and kind in (None, self._kinds[uid])
            ]

    def of_kind(self, kind: str) -> dict[str, dict[str, Any]]:
        """The stored registrations of one kind, by uid (the live records: hold the lock to change them)."""
        return {uid: r for uid, r in self.registries.items() if self._kinds.get(uid) == kind}

    def calls(self, method: str | None = None, path: str | None = None) -> list[Recorded]:
        """Recorded requests, optionally filtered by method and by a regex searched in the path."""
        with self._lock:
            return [
                r
                for r in self.requests
                if (method is None or r.method == method) and (path is None or re.search(path, r.path))
            ]

    def skipped(self, uid: str) -> dict[str, str]:
        """``<repository>:<tag>`` -> why the last real sync of ``uid`` skipped that pack."""
        with self._lock:
            found = self.synced.get(uid)
            return dict(found.skipped) if found else {}

    def wait_for_syncs(self, timeout: float = 30.0) -> None:
        """Wait until every real sync started so far is done."""
        deadline = time.monotonic() + timeout
        with self._lock:
            threads = list(self._syncs.values())
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def pack_uid(self, uid: str, name: str, version: str) -> str:
        """The ``packUid`` of a pack version in registration ``uid`` (the same across syncs)."""
        with self._lock:
            return self._pack_uids.setdefault((uid, name, version), secrets.token_hex(12))

    def _start_sync(self, uid: str) -> None:
        """A real sync of ``uid`` in a thread of its own, when this fake reads registries and ``uid`` holds packs."""
        record = self.registries[uid]
        if not self.reads_registries or self._kinds[uid] != OCI_KIND or record["spec"].get("providerType") != "pack":
            return
        spec = copy.deepcopy(record["spec"])
        addresses = dict(self.addresses)

        def run() -> None:
            try:
                found = read_registry(spec, addresses)
            except Exception as exc:  # the sync fails, as Palette's does, with the reason as its message
                found = SyncResult(failure=f"{type(exc).__name__}: {exc}")
            with self._lock:
                self.synced[uid] = found

        thread = threading.Thread(target=run, name=f"fake-palette-sync-{uid}", daemon=True)
        self._syncs[uid] = thread
        thread.start()

    def _sync_running(self, uid: str) -> bool:
        thread = self._syncs.get(uid)
        return thread is not None and thread.is_alive()

    def reset_calls(self) -> None:
        with self._lock:
            self.requests.clear()

    def _store(self, body: dict[str, Any], *, syncing: bool, kind: str = LEGACY_KIND) -> str:
        uid = secrets.token_hex(12)
        now = _now()
        record: dict[str, Any] = {"apiVersion": "v1", "kind": "PackRegistry"} if kind == LEGACY_KIND else {}
        spec = copy.deepcopy(body["spec"])
        if kind == OCI_KIND:
            spec["providerType"] = spec.get("providerType") or "helm"
        record.update(
            metadata={
                "name": body["metadata"]["name"],
                "uid": uid,
                "creationTimestamp": now,
                "lastModifiedTimestamp": now,
                **self._annotations(body["metadata"]),
            },
            spec={**spec, "scope": "tenant"},
            status={_SYNC_KEY[kind]: _sync("InProgress" if syncing else "", now if syncing else None)},
        )
        self.registries[uid] = record
        self._kinds[uid] = kind
        self._sync_reads[uid] = 0
        if syncing:
            self._start_sync(uid)
        return uid

    def _annotations(self, metadata: dict[str, Any]) -> dict[str, Any]:
        """``{"annotations": ...}`` to store from a request's metadata, or ``{}``."""
        annotations = metadata.get("annotations")
        if not self.keeps_annotations or annotations is None:
            return {}
        return {"annotations": dict(annotations)}


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())


def _sync(status: str, ran: str | None, message: str = "") -> dict[str, Any]:
    return {
        "isSyncSupported": True,
        "status": status,
        "message": message,
        "lastRunTime": ran,
        "lastSyncedTime": ran if status == "Completed" else None,
    }


def _pack_values(pack_uid: str, pack: ParsedPack) -> dict[str, Any]:
    """``v1PackUidValues`` of one parsed pack version."""
    annotations = pack.pack_json.get("annotations")
    return {
        "packUid": pack_uid,
        "values": pack.values,
        "readme": pack.readme,
        "presets": pack.presets,
        "schema": pack.schema,
        "annotations": {str(k): str(v) for k, v in annotations.items()} if isinstance(annotations, dict) else {},
        "dependencies": [],
    }


def _masked(record: dict[str, Any]) -> dict[str, Any]:
    shown = copy.deepcopy(record)
    auth = shown["spec"].get("auth") or {}
    for secret in ("password", "token"):
        if auth.get(secret):
            auth[secret] = MASKED
    return shown


def _token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode()


def _offset(token: str) -> int | None:
    try:
        kind, _, number = base64.urlsafe_b64decode(token.encode()).decode().partition(":")
        return int(number) if kind == "offset" else None
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that timed out and hung up is part of the tests, not a server error.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Reply(Exception):
    def __init__(self, status: int, body: Any = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = headers or {}


def _error(status: int, code: str, message: str) -> _Reply:
    return _Reply(status, {"code": code, "message": message, "details": {}, "ref": secrets.token_hex(8)})


def _check_metadata(body: Any) -> None:
    """A registry body's ``metadata``: a name, string annotations."""
    if not isinstance(body, dict) or not (body.get("metadata") or {}).get("name"):
        raise _error(400, "InvalidRequest", "metadata.name is required")
    annotations = body["metadata"].get("annotations")
    if annotations is not None and (
        not isinstance(annotations, dict) or not all(isinstance(v, str) for v in annotations.values())
    ):
        raise _error(400, "InvalidRequest", "metadata.annotations must map strings to strings")


def _check_auth(auth: Any) -> None:
    """A registry spec's ``auth``: a known type, boolean TLS flags."""
    if auth.get("type") not in ("noAuth", "basic", "token"):
        raise _error(400, "InvalidRequest", "spec.auth.type must be noAuth, basic or token")
    tls = auth.get("tls") or {}
    for flag in ("enabled", "insecureSkipVerify"):
        if not isinstance(tls.get(flag), bool):
            raise _error(400, "InvalidRequest", f"spec.auth.tls.{flag} must be a boolean")


class _Handler(BaseHTTPRequestHandler):
    palette: FakePalette
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def setup(self) -> None:
        super().setup()
        # An answer goes out in two writes (headers, then body): without TCP_NODELAY, Nagle's algorithm holds the
        # body back until the client acknowledges the headers, which a client delays by up to 40 ms on Linux.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def _handle(self) -> None:
        palette = self.palette
        parts = urlsplit(self.path)
        path, query = parts.path, parse_qs(parts.query, keep_blank_values=True)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = _NOT_JSON
        with palette._lock:
            palette.requests.append(
                Recorded(self.command, path, query, {k.lower(): v for k, v in self.headers.items()}, body)
            )
        fault = palette._take_fault(self.command, path)
        if fault and fault.action:
            fault.action()
        if fault and fault.delay and not fault.commit:
            time.sleep(fault.delay)
        spoil = fault is not None and (fault.drop or fault.status is not None)
        if spoil and not fault.commit:
            self._spoil(fault)
            return
        try:
            reply = self._route(self.command, path, query, body)
        except _Reply as exc:
            reply = exc
        if fault and fault.delay and fault.commit:
            time.sleep(fault.delay)
        if spoil and fault.commit:
            self._spoil(fault)
            return
        self._send(reply)

    def _spoil(self, fault: Fault) -> None:
        if fault.drop:
            self.close_connection = True
            return
        assert fault.status is not None
        if fault.raw is not None:
            content_type, data = fault.raw
            self.send_response(fault.status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        codes = {429: "TooManyRequests", 500: "InternalError", 502: "BadGateway", 503: "ServiceUnavailable"}
        reply = _error(fault.status, codes.get(fault.status, "Error"), fault.message or "injected fault")
        if fault.retry_after is not None:
            reply.headers["Retry-After"] = fault.retry_after
        self._send(reply)

    def _send(self, reply: _Reply) -> None:
        data = b"" if reply.body is None else json.dumps(reply.body).encode()
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        if data:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if data:
            self.wfile.write(data)

    # -- the API

    def _route(self, method: str, path: str, query: dict[str, list[str]], body: Any) -> _Reply:
        palette = self.palette
        if self.headers.get("ApiKey") != palette.api_key:  # Message.get is case-insensitive
            if palette.rejected_key_status == 404:
                raise _error(404, "ResourceNotFound", f"{method} {path} not found")
            raise _error(palette.rejected_key_status, "AuthenticationFailed", "invalid or missing API key")
        if body is _NOT_JSON:
            raise _error(400, "InvalidRequest", "the body is not JSON")
        with palette._lock:
            if path == REGISTRIES:
                if method == "GET":
                    return self._list(query, summary=False)
                if method == "POST":
                    return self._create(query, body)
            elif path == f"{REGISTRIES}/summary" and method == "GET":
                return self._list(query, summary=True)
            elif path == f"{REGISTRIES}/validate" and method == "POST":
                return self._validate(body)
            elif path == "/v1/registries/metadata" and method == "GET":
                return _Reply(
                    200,
                    {
                        "items": [
                            {
                                "uid": uid,
                                "name": r["metadata"]["name"],
                                "kind": "pack" if palette._kinds[uid] == LEGACY_KIND else "oci",
                                "scope": "tenant",
                                "isDefault": False,
                                "isPrivate": bool(r["spec"].get("private", True)),
                            }
                            for uid, r in palette.registries.items()
                        ]
                    },
                )
            elif path == f"{OCI}/basic" and method == "POST":
                return self._oci_create(query, body)
            elif path == f"{OCI}/basic/validate" and method == "POST":
                return self._oci_validate(body)
            elif path == f"{OCI}/summary" and method == "GET":
                return self._oci_summary()
            elif (match := _PACKS.match(path)) and method == "GET":
                return self._pack_listing(unquote(match["name"]), unquote(match["uid"]))
            elif match := _OCI_ITEM.match(path):
                return self._item(method, match["uid"], match["rest"] or "", body, kind=OCI_KIND)
            elif match := _ITEM.match(path):
                return self._item(method, match["uid"], match["rest"] or "", body, kind=LEGACY_KIND)
        raise _error(404, "ResourceNotFound", f"{method} {path} not found")

    def _list(self, query: dict[str, list[str]], *, summary: bool) -> _Reply:
        registries = self.palette.of_kind(LEGACY_KIND)
        try:
            limit = int((query.get("limit") or [str(PAGE_MAX)])[0])
        except ValueError:
            raise _error(400, "InvalidRequest", "limit must be an integer") from None
        limit = PAGE_MAX if limit <= 0 else min(limit, PAGE_MAX)
        token = (query.get("continue") or [""])[0]
        start = 0
        if token:
            found = _offset(token)
            if found is None:
                raise _error(400, "InvalidContinueToken", "invalid continue token")
            start = found
        items = list(registries.values())[start : start + limit]
        end = start + len(items)
        if summary:
            shown = [
                {
                    "metadata": r["metadata"],
                    "spec": {"endpoint": r["spec"]["endpoint"], "private": r["spec"]["private"], "scope": "tenant"},
                    "status": {"sync": r["status"]["packSyncStatus"]},
                }
                for r in items
            ]
        else:
            shown = [_masked(r) for r in items]
        return _Reply(
            200,
            {
                "items": shown,
                "listmeta": {
                    "continue": _token(end) if end < len(registries) else "",
                    "count": len(registries),
                    "limit": limit,
                    "offset": end,
                },
            },
        )

    def _check_spec(self, spec: Any) -> None:
        if not isinstance(spec, dict) or not spec.get("endpoint") or not isinstance(spec.get("auth"), dict):
            raise _error(400, "InvalidRequest", "spec.endpoint and spec.auth are required")
        if not isinstance(spec.get("private"), bool):
            raise _error(400, "InvalidRequest", "spec.private must be a boolean")
        _check_auth(spec["auth"])

    def _check_registry(self, body: Any) -> None:
        _check_metadata(body)
        self._check_spec(body.get("spec"))

    def _create(self, query: dict[str, list[str]], body: Any) -> _Reply:
        palette = self.palette
        self._check_registry(body)
        name = body["metadata"]["name"]
        if any(r["metadata"]["name"] == name for r in palette.of_kind(LEGACY_KIND).values()):
            raise _error(
                palette.duplicate_status,
                "PackRegistryAlreadyExists",
                f"pack registry with name '{name}' already exists",
            )
        skip = (query.get("skipPackSync") or ["false"])[0] == "true"
        return _Reply(201, {"uid": palette._store(body, syncing=not skip)})

    def _validate(self, body: Any) -> _Reply:
        if isinstance(body, dict) and "metadata" in body:
            raise _error(400, "InvalidRequest", "validate takes the bare spec, not a pack registry")
        self._check_spec(body)
        if self.palette.validate_error is not None:
            status, message = self.palette.validate_error
            raise _error(status, "PackRegistryValidationFailed", message)
        return _Reply(204)

    def _item(self, method: str, uid: str, rest: str, body: Any, *, kind: str) -> _Reply:
        palette = self.palette
        record = palette.of_kind(kind).get(uid)
        if record is None:
            noun = "pack registry" if kind == LEGACY_KIND else "oci registry"
            raise _error(404, "ResourceNotFound", f"{noun} '{uid}' not found")
        sync_key = _SYNC_KEY[kind]
        if rest == "" and method == "GET":
            return _Reply(200, _masked(record))
        if rest == "" and method == "PUT":
            if kind == OCI_KIND:
                self._check_oci_registry(body)
                body = {**body, "spec": {**body["spec"], "providerType": body["spec"].get("providerType") or "helm"}}
            else:
                self._check_registry(body)
            if body["metadata"]["name"] != record["metadata"]["name"]:
                raise _error(400, "InvalidRequest", "metadata.name cannot be changed")
            record["spec"] = {**copy.deepcopy(body["spec"]), "scope": "tenant"}
            record["metadata"].update(palette._annotations(body["metadata"]))
            record["metadata"]["lastModifiedTimestamp"] = _now()
            return _Reply(204)
        if rest == "" and method == "DELETE":
            del palette.registries[uid]
            return _Reply(204)
        if rest == "/sync" and method == "POST":
            if palette._sync_running(uid):  # forceSync=false: a sync already running is left alone
                return _Reply(202)
            record["status"][sync_key] = _sync("InProgress", _now())
            palette._sync_reads[uid] = 0
            palette._start_sync(uid)
            return _Reply(202)
        if rest == "/sync/status" and method == "GET":
            status = record["status"][sync_key]
            if status["status"] == "InProgress":
                palette._sync_reads[uid] = palette._sync_reads.get(uid, 0) + 1
                if palette._sync_reads[uid] >= palette.sync_polls_to_finish and not palette._sync_running(uid):
                    outcome, message = palette.sync_outcome, palette.sync_message
                    found = palette.synced.get(uid) if uid in palette._syncs else None
                    if found is not None and found.failure is not None:
                        outcome, message = "Failed", found.failure
                    status = _sync(outcome, status["lastRunTime"], message)
                    record["status"][sync_key] = status
            return _Reply(200, status)
        raise _error(405, "MethodNotAllowed", f"{method} not allowed here")

    # -- OCI registries (basic auth)

    def _check_oci_spec(self, spec: Any) -> None:
        if not isinstance(spec, dict) or not spec.get("endpoint") or not isinstance(spec.get("auth"), dict):
            raise _error(400, "InvalidRequest", "spec.endpoint and spec.auth are required")
        unknown = sorted(set(spec) - _OCI_SPEC_KEYS)
        if unknown:
            raise _error(400, "InvalidRequest", f"unknown field(s) in v1BasicOciRegistrySpec: {', '.join(unknown)}")
        if spec.get("providerType") not in (None, *_PROVIDER_TYPES):
            raise _error(400, "InvalidRequest", f"spec.providerType must be one of {', '.join(_PROVIDER_TYPES)}")
        for flag in ("isSyncSupported", "containsSpectroManifest"):
            if flag in spec and not isinstance(spec[flag], bool):
                raise _error(400, "InvalidRequest", f"spec.{flag} must be a boolean")
        if not isinstance(spec.get("baseContentPath", ""), str):
            raise _error(400, "InvalidRequest", "spec.baseContentPath must be a string")
        _check_auth(spec["auth"])

    def _check_oci_registry(self, body: Any) -> None:
        _check_metadata(body)
        self._check_oci_spec(body.get("spec"))

    def _oci_create(self, query: dict[str, list[str]], body: Any) -> _Reply:
        palette = self.palette
        self._check_oci_registry(body)
        name = body["metadata"]["name"]
        if any(r["metadata"]["name"] == name for r in palette.of_kind(OCI_KIND).values()):
            raise _error(palette.duplicate_status, "OciRegistryAlreadyExists", f"registry '{name}' already exists")
        skip = (query.get("skipPackSync") or ["false"])[0] == "true"
        uid = palette._store(body, syncing=not skip, kind=OCI_KIND)
        palette._registry_types[uid] = "basic"
        return _Reply(201, {"uid": uid})

    def _oci_validate(self, body: Any) -> _Reply:
        if isinstance(body, dict) and "metadata" in body:
            raise _error(400, "InvalidRequest", "validate takes the bare spec, not a registry")
        self._check_oci_spec(body)
        if self.palette.validate_error is not None:
            status, message = self.palette.validate_error
            raise _error(status, "OciRegistryValidationFailed", message)
        return _Reply(204)

    def _pack_listing(self, name: str, uid: str) -> _Reply:
        """``v1PackTagEntity``: every version of ``name`` the last real sync of registration ``uid`` parsed."""
        palette = self.palette
        if uid not in palette.registries:
            raise _error(404, "ResourceNotFound", f"registry '{uid}' not found")
        found = palette.synced.get(uid) or SyncResult()
        versions = sorted(((v, pack) for (n, v), pack in found.packs.items() if n == name), key=lambda item: item[0])
        if not versions:
            raise _error(404, "ResourceNotFound", f"pack '{name}' not found in registry '{uid}'")
        latest = versions[-1][1].pack_json
        entity: dict[str, Any] = {
            "name": name,
            "displayName": latest["displayName"],
            "layer": latest["layer"],
            "registryUid": uid,
            "logoUrl": "",
            "cloudTypes": [str(c) for c in latest.get("cloudTypes") or ["all"]],
            "tags": [],
            "packValues": [],
        }
        for key in ("addonType", "addonSubType"):
            if isinstance(latest.get(key), str):
                entity[key] = latest[key]
        for version, pack in versions:
            pack_uid = palette.pack_uid(uid, name, version)
            entity["tags"].append({"tag": version, "version": version, "packUid": pack_uid, "parentTags": []})
            entity["packValues"].append(_pack_values(pack_uid, pack))
        return _Reply(200, entity)

    def _oci_summary(self) -> _Reply:
        palette = self.palette
        items = [
            {
                "metadata": {"name": r["metadata"]["name"], "uid": uid},
                "spec": {
                    "containsSpectroManifest": bool(r["spec"].get("containsSpectroManifest")),
                    "endpoint": r["spec"]["endpoint"],
                    "isPrivate": True,
                    "providerType": r["spec"].get("providerType") or "helm",
                    "registryType": palette._registry_types.get(uid, "basic"),
                    "scope": "tenant",
                },
                "status": {"sync": r["status"]["syncStatus"]},
            }
            for uid, r in palette.of_kind(OCI_KIND).items()
        ]
        return _Reply(200, {"items": items})


_NOT_JSON = object()
