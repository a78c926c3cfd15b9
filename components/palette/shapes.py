"""The two shapes a registration takes in Palette's API: a legacy pack registry or an OCI registry.

Everything that differs between the kinds is here, one ``RegistryShape`` per kind: the paths, the spec
body, how a registration is found by its name, where a read body keeps the sync status, which inputs
Palette holds, and how a read body maps back to them. The lifecycle (validate, create or adopt, the
owner token, retries, sync, drift, delete) is written once, in ``client`` and ``provider``.

- legacy (docs/palette-api.md "Legacy pack registries"): ``/v1/registries/pack``, found by paging
  through the full list; the sync status under ``status.packSyncStatus``.
- oci (docs/palette-api.md "OCI registries"): created at
  ``/v1/registries/oci/basic``, found in ``/v1/registries/oci/summary`` (no paging, summary items),
  read, changed and deleted at ``/v1/registries/oci/{uid}/basic``; the spec has no ``name`` and no
  ``private``, says ``providerType: pack`` (Palette's default is ``helm``) and where packs live
  (``baseContentPath``); the sync status under ``status.syncStatus``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "FIXED",
    "OCI_PROVIDER_TYPE",
    "OCI_REGISTRY_API",
    "OWNER_ANNOTATION",
    "PACK_REGISTRY_API",
    "SHAPES",
    "RegistrationSpec",
    "RegistryShape",
    "owner_of",
    "shape_for",
]

# The ``metadata.annotations`` key that says which resource holds a registration (a random token per
# resource): the spec's v1ObjectMeta carries annotations, "preserved when modifying objects".
OWNER_ANNOTATION = "palette-pack-registry.owner"

# What an OCI registry must say to hold packs; Palette reads a missing providerType as helm.
OCI_PROVIDER_TYPE = "pack"
_OCI_DEFAULT_PROVIDER_TYPE = "helm"


@dataclass(frozen=True)
class RegistrationSpec:
    """What a registration holds in Palette, in Python terms (either kind)."""

    name: str
    endpoint: str
    username: str
    password: str = field(repr=False)
    ca_certificate: str | None = None
    tls_enabled: bool = True
    insecure_skip_verify: bool = False
    private: bool = True
    """Legacy only: the OCI spec has no such field."""
    owner: str = ""
    """The holding resource's token, written to ``metadata.annotations`` (none when empty)."""
    annotations: Mapping[str, str] | None = None
    """Other annotations the registration carries in Palette, kept by a create or a PUT."""
    base_content_path: str = ""
    """OCI only: the path under which Palette reads ``spectro-packs/archive/<name>:<version>``."""

    def auth(self, *, tls_enabled: bool) -> dict[str, Any]:
        """The ``v1RegistryAuth`` both kinds send (basic auth, the TLS block always complete)."""
        tls: dict[str, Any] = {"enabled": tls_enabled, "insecureSkipVerify": bool(self.insecure_skip_verify)}
        if self.ca_certificate:
            tls["certificate"] = self.ca_certificate
        return {"type": "basic", "username": self.username, "password": self.password, "tls": tls}

    def metadata(self, uid: str | None = None) -> dict[str, Any]:
        """``v1ObjectMeta``: the name, the uid for an update, the annotations with the owner token."""
        metadata: dict[str, Any] = {"name": self.name}
        if uid:
            metadata["uid"] = uid
        annotations = dict(self.annotations or {})
        if self.owner:
            annotations[OWNER_ANNOTATION] = self.owner
        if annotations:
            metadata["annotations"] = annotations
        return metadata


def _legacy_spec(registry: RegistrationSpec) -> dict[str, Any]:
    """``v1RegistrationSpec``."""
    return {
        "name": registry.name,
        "endpoint": registry.endpoint,
        "private": bool(registry.private),
        "auth": registry.auth(tls_enabled=bool(registry.tls_enabled)),
    }


def _oci_spec(registry: RegistrationSpec) -> dict[str, Any]:
    """``v1BasicOciRegistrySpec`` for a pack registry (Spectro's Terraform provider ``toRegistryBasic``:
    TLS always enabled, sync supported, no Spectro manifests)."""
    return {
        "endpoint": registry.endpoint,
        "providerType": OCI_PROVIDER_TYPE,
        "baseContentPath": registry.base_content_path,
        "isSyncSupported": True,
        "containsSpectroManifest": False,
        "auth": registry.auth(tls_enabled=True),
    }


def _auth_fields(spec: Mapping[str, Any]) -> dict[str, Any]:
    auth = spec.get("auth") or {}
    tls = auth.get("tls") or {}
    return {
        "endpoint": spec.get("endpoint"),
        "username": auth.get("username"),
        "tls_enabled": bool(tls.get("enabled")),
        "insecure_skip_verify": bool(tls.get("insecureSkipVerify")),
        # Raw: the provider normalises PEM text the way it compares it.
        "ca_certificate": tls.get("certificate"),
    }


def _legacy_fields(spec: Mapping[str, Any]) -> dict[str, Any]:
    return {**_auth_fields(spec), "private": bool(spec.get("private"))}


def _oci_fields(spec: Mapping[str, Any]) -> dict[str, Any]:
    return {
        **_auth_fields(spec),
        "base_content_path": str(spec.get("baseContentPath") or ""),
        "provider_type": str(spec.get("providerType") or _OCI_DEFAULT_PROVIDER_TYPE),
    }


def _any_item(_item: Mapping[str, Any]) -> str | None:
    return None


def _basic_oci_only(item: Mapping[str, Any]) -> str | None:
    kind = str((item.get("spec") or {}).get("registryType") or "basic")
    if kind != "basic":
        return f"an OCI registry of type {kind!r} has that name; only a basic-auth one can be adopted: rename"
    return None


@dataclass(frozen=True)
class RegistryShape:
    """The facts of one kind of registration in Palette's API."""

    kind: str
    """The ``registry_kind`` input's value."""
    collection: str
    """Where a registration is created (POST)."""
    validate: str
    """Where the bare spec is validated (POST, 204)."""
    listing: str
    """Where a registration is found by its name (GET)."""
    paged: bool
    """Whether ``listing`` pages (``limit``/``continue``) or answers everything at once."""
    listing_is_full: bool
    """Whether ``listing`` items are whole registrations (annotations included) or summaries."""
    key_check: Mapping[str, Any]
    """The query of the cheap authenticated ``listing`` call that confirms the key before a 404 counts."""
    item_path: str
    """A registration's own URL, ``{uid}`` in it (GET, PUT, DELETE); ``/sync`` and ``/sync/status`` follow."""
    sync_status_key: str
    """Under ``status`` in a read body: where the sync status is."""
    holds: tuple[str, ...]
    """The inputs Palette holds for this kind: a change is validated, PUT and synced."""
    build_spec: Callable[[RegistrationSpec], dict[str, Any]]
    read_fields: Callable[[Mapping[str, Any]], dict[str, Any]]
    """A read body's ``spec`` as the inputs it holds (the password excepted: it is masked)."""
    refuses: Callable[[Mapping[str, Any]], str | None] = _any_item
    """Why a listed registration of the name cannot be adopted, or None."""
    fixed: Mapping[str, Any] = field(default_factory=dict)
    """Derived inputs whose value the kind fixes (filled in by the provider, compared for drift)."""
    defaults: Mapping[str, Any] = field(default_factory=dict)
    """Inputs only this kind takes, and their values when absent."""
    allows_http: bool = True
    """Whether Palette registers an ``http://`` endpoint of this kind (with ``allow_http``)."""

    def item(self, uid: str) -> str:
        return self.item_path.format(uid=uid)

    def sync(self, uid: str) -> str:
        return self.item(uid) + "/sync"

    def sync_status(self, uid: str) -> str:
        return self.item(uid) + "/sync/status"

    def spec(self, registry: RegistrationSpec) -> dict[str, Any]:
        """The bare spec: the validate call's body."""
        return self.build_spec(registry)

    def body(self, registry: RegistrationSpec, uid: str | None = None) -> dict[str, Any]:
        """The full registration (create and update bodies); ``uid`` only for an update."""
        return {"metadata": registry.metadata(uid), "spec": self.build_spec(registry)}

    def sync_of(self, live: Mapping[str, Any]) -> Mapping[str, Any]:
        """The sync status a read body carries (``{}`` when none)."""
        found = (live.get("status") or {}).get(self.sync_status_key)
        return found if isinstance(found, Mapping) else {}


_COMMON_HOLDS = ("endpoint", "username", "password", "ca_certificate", "insecure_skip_verify")

PACK_REGISTRY_API = RegistryShape(
    kind="legacy",
    collection="/v1/registries/pack",
    validate="/v1/registries/pack/validate",
    listing="/v1/registries/pack",
    paged=True,
    listing_is_full=True,
    key_check={"limit": 1},
    item_path="/v1/registries/pack/{uid}",
    sync_status_key="packSyncStatus",
    holds=(*_COMMON_HOLDS, "private", "tls_enabled"),
    build_spec=_legacy_spec,
    read_fields=_legacy_fields,
)

OCI_REGISTRY_API = RegistryShape(
    kind="oci",
    collection="/v1/registries/oci/basic",
    validate="/v1/registries/oci/basic/validate",
    listing="/v1/registries/oci/summary",
    paged=False,
    listing_is_full=False,
    key_check={},
    item_path="/v1/registries/oci/{uid}/basic",
    sync_status_key="syncStatus",
    holds=(*_COMMON_HOLDS, "tls_enabled", "base_content_path", "provider_type"),
    build_spec=_oci_spec,
    read_fields=_oci_fields,
    refuses=_basic_oci_only,
    fixed={"provider_type": OCI_PROVIDER_TYPE},
    defaults={"base_content_path": "packs"},
    allows_http=False,
)

SHAPES: dict[str, RegistryShape] = {shape.kind: shape for shape in (PACK_REGISTRY_API, OCI_REGISTRY_API)}
"""The shapes by the ``registry_kind`` input's value (the registry kinds reach theirs as ``RegistryKind.palette``)."""

FIXED = frozenset(key for shape in SHAPES.values() for key in shape.fixed)
"""Inputs the provider fills in for a kind and never takes from the program."""


def shape_for(kind: Any) -> RegistryShape:
    """The shape of ``registry_kind`` (absent, as in a state from before kinds: the pack-registry API)."""
    return SHAPES.get(str(kind or PACK_REGISTRY_API.kind), PACK_REGISTRY_API)


def owner_of(registration: Mapping[str, Any]) -> str:
    """The owner token a registration (as Palette returns it) carries; ``""`` when none."""
    annotations = (registration.get("metadata") or {}).get("annotations") or {}
    return str(annotations.get(OWNER_ANNOTATION) or "") if isinstance(annotations, Mapping) else ""
