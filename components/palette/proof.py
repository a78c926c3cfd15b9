"""Palette proves every published pack: after the sync that follows a publish, Palette must list each pack version
with the values that were pushed (docs/packs.md "Palette proves every pack").

A sync that Palette calls done proves nothing about one pack: Palette skips a pack it cannot parse and still
reports the sync as done. What proves a pack is Palette listing it: ``GET /v1/packs/{name}/registries/{uid}``
(docs/palette-api.md "What Palette serves after a sync") returns the pack's version tags with their ``packUid`` and
``packValues[]`` with the ``values`` Palette parsed from the artifact. ``PackProof`` polls that call (bounded by
the sync timeout, every read retried on 429 and 5xx with ``Retry-After`` honoured: ``client.wait_for_packs``) until
every published ``name:version`` is listed and its ``values`` equal the ``values.yaml`` pushed, compared as parsed
YAML. A pack that is not listed, or listed with other values, fails ``pulumi up`` with one line per pack naming
it, its version and what Palette shows.

It is a dynamic resource that depends on the packs and the registration: it is created, or updated, when the set of
published packs (each ``name:version`` and its manifest digest), the registration's uid or the Palette changes; a
``pulumi up`` with nothing changed makes no Palette call, and neither does a refresh (``read`` keeps the state) or
a delete (nothing in Palette is the proof's own). Its ``packs`` output holds, per ``name:version``, what a cluster
profile needs: ``name``, ``version``, ``packUid`` and ``registryUid``.

Inputs   api_url, registration (its name, for messages), registry_uid, timeout_seconds, packs: ``name:version`` ->
         {name, version, manifest_digest, values_sha256, values_file}
Outputs  the inputs, and packs_proven: ``name:version`` -> {name, version, packUid, registryUid}
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pulumi
import yaml
from pulumi.dynamic import ConfigureRequest, CreateResult, DiffResult, Resource, ResourceProvider, UpdateResult

from components.config import values_yaml
from components.dynamic.values import is_unknown
from components.palette.client import PaletteClient
from components.palette.errors import PaletteError
from components.palette.provider import client_for, remember_api_key

__all__ = ["PackProof", "PackProofError", "PackProofProvider", "pack_key", "prove"]

log = logging.getLogger(__name__)

_SHOWN = 160
"""At most this many characters of what Palette shows go into a message."""


class PackProofError(Exception):
    """Palette does not list a published pack, or lists it with other values. One line per pack."""


def pack_key(name: str, version: str) -> str:
    """How the proof and the ``packs`` output key a pack: ``name:version``."""
    return f"{name}:{version}"


def _parsed(text: Any) -> Any:
    """A values text as compared: parsed YAML, empty as an empty mapping; the text itself when it is no YAML."""
    if not isinstance(text, str):
        return text
    try:
        loaded = values_yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    return {} if loaded is None else loaded


def _shown(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, default=str) if not isinstance(value, str) else repr(value)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."


def _pushed_values(pack: Mapping[str, Any]) -> Any:
    """The pushed ``values.yaml``, parsed: read from the pack directory, and refused when it is not the file pushed."""
    path = Path(str(pack["values_file"]))
    data = path.read_bytes()
    if hashlib.sha256(data).hexdigest() != pack["values_sha256"]:
        raise PackProofError(
            f"pack {pack['name']}:{pack['version']}: {path} changed since it was pushed; run `pulumi up` again to "
            "publish what is there now"
        )
    return _parsed(data.decode("utf-8"))


def _version_uid(listing: Mapping[str, Any] | None, version: str) -> str | None:
    """The ``packUid`` Palette lists for ``version`` (a tag whose version or tag is it), or None."""
    for tag in (listing or {}).get("tags") or []:
        if isinstance(tag, Mapping) and version in (tag.get("version"), tag.get("tag")) and tag.get("packUid"):
            return str(tag["packUid"])
    return None


def _listed_values(listing: Mapping[str, Any] | None, pack_uid: str) -> tuple[bool, Any]:
    """Whether Palette lists values for ``pack_uid``, and those values, parsed."""
    for entry in (listing or {}).get("packValues") or []:
        if isinstance(entry, Mapping) and entry.get("packUid") == pack_uid:
            return True, _parsed(entry.get("values") or "")
    return False, None


def _problem(pack: Mapping[str, Any], expected: Any, listing: Mapping[str, Any] | None) -> str | None:
    """What is wrong with how Palette lists ``pack`` (one line's middle part), or None when it is proven."""
    version = str(pack["version"])
    if listing is None:
        return "Palette does not list the pack at all (HTTP 404)"
    pack_uid = _version_uid(listing, version)
    if pack_uid is None:
        versions = sorted(
            {str(t.get("version") or t.get("tag")) for t in listing.get("tags") or [] if isinstance(t, Mapping)}
        )
        return (
            f"Palette lists only the versions {', '.join(versions)} of it"
            if versions
            else "Palette lists no version of it"
        )
    found, values = _listed_values(listing, pack_uid)
    if not found:
        return f"Palette lists it (packUid {pack_uid}) without values"
    if values != expected:
        return f"Palette lists it (packUid {pack_uid}) with other values than the values.yaml pushed: {_shown(values)}"
    return None


def prove(
    client: PaletteClient, registry_uid: str, packs: Mapping[str, Mapping[str, Any]], timeout_seconds: float
) -> dict[str, dict[str, str]]:
    """Poll Palette until it lists every pack with its pushed values; per ``name:version`` the pack's name, version,
    ``packUid`` and ``registryUid``. ``PackProofError`` (one line per pack) when the timeout passes first."""
    expected = {key: _pushed_values(pack) for key, pack in packs.items()}
    by_name: dict[str, list[str]] = {}
    for key, pack in packs.items():
        by_name.setdefault(str(pack["name"]), []).append(key)

    def proven(name: str, listing: Mapping[str, Any] | None) -> bool:
        return all(_problem(packs[key], expected[key], listing) is None for key in by_name[name])

    log.info("pack registry '%s': waiting for Palette to list %d pack(s)", client.registration, len(packs))
    listings = client.wait_for_packs(registry_uid, by_name, proven=proven, timeout_seconds=timeout_seconds)
    failures = []
    proofs: dict[str, dict[str, str]] = {}
    sync: str | None = None
    for key in sorted(packs):
        pack = packs[key]
        listing = listings.get(str(pack["name"]))
        problem = _problem(pack, expected[key], listing)
        if problem is not None:
            if sync is None:
                sync = _last_sync(client, registry_uid)
            failures.append(
                f"pack {pack['name']}:{pack['version']} is not proven in Palette's pack registry "
                f"'{client.registration}' (uid {registry_uid}) after {timeout_seconds:g}s: {problem}{sync}. "
                + _fix(problem)
            )
            continue
        proofs[key] = {
            "name": str(pack["name"]),
            "version": str(pack["version"]),
            "packUid": str(_version_uid(listing, str(pack["version"]))),
            "registryUid": registry_uid,
        }
    if failures:
        raise PackProofError("\n".join(failures))
    log.info("pack registry '%s': Palette lists every pack with its values", client.registration)
    return proofs


def _last_sync(client: PaletteClient, registry_uid: str) -> str:
    """What Palette says of its last sync of the registry, for a failure's line (``""`` when it cannot be read). The
    status only: a failed sync's message may quote the registry's credentials, which the proof does not hold to
    redact them."""
    try:
        status = str(client.sync_status(registry_uid).get("status") or "")
    except PaletteError:
        return ""
    return f" (Palette's last pack sync of the registry: {status!r})" if status else ""


def _fix(problem: str) -> str:
    if "other values" in problem:
        return (
            "Palette keeps what it read for a version: publish the change under a new version in pack.json, or "
            "check that nothing else pushes this tag"
        )
    return (
        "Palette skips a pack it cannot parse: check its pack.json, values.yaml, presets.yaml and schema.yaml; or "
        "raise paletteSyncTimeoutSeconds if Palette's sync is slow"
    )


_INPUTS = ("api_url", "registration", "registry_uid", "timeout_seconds", "packs")


def _published(props: Mapping[str, Any]) -> Any:
    """What a change of is a new proof: each pack's key and manifest digest (the directory it came from is not)."""
    packs = props.get("packs")
    if is_unknown(packs) or not isinstance(packs, Mapping):
        return packs
    return {key: (pack.get("manifest_digest") if isinstance(pack, Mapping) else pack) for key, pack in packs.items()}


class PackProofProvider(ResourceProvider):
    """Proves the published packs in Palette on create and update; nothing on read and delete."""

    # Pickled by reference into state as ``components.palette.{class name}``, as the registration's provider.
    __module__ = "components.palette"

    def configure(self, req: ConfigureRequest) -> None:
        remember_api_key(req)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = [
            key
            for key in ("api_url", "registry_uid")
            if is_unknown(news.get(key)) or str(news.get(key) or "").rstrip("/") != str(olds.get(key) or "").rstrip("/")
        ]
        if _published(news) != _published(olds) or is_unknown(news.get("packs")):
            changed.append("packs")
        return DiffResult(changes=bool(changed), replaces=[], stables=[], delete_before_replace=False)

    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult(str(props["registry_uid"]), self._prove(props))

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(self._prove(news))

    @staticmethod
    def _prove(props: Mapping[str, Any]) -> dict[str, Any]:
        inputs = {key: props.get(key) for key in _INPUTS}
        client = client_for({"api_url": inputs["api_url"], "name": inputs["registration"], "registry_kind": "oci"})
        proven = prove(client, str(inputs["registry_uid"]), inputs["packs"] or {}, float(inputs["timeout_seconds"]))
        return {**inputs, "packs_proven": proven}


class PackProof(Resource, module="palette", name="PackProof"):
    """Palette lists every published pack with its pushed values (type ``pulumi-python:dynamic/palette:PackProof``)."""

    packs_proven: pulumi.Output[dict[str, dict[str, str]]]
    """``name:version`` -> {name, version, packUid, registryUid}: what a cluster profile references."""

    def __init__(
        self,
        resource_name: str,
        *,
        api_url: pulumi.Input[str],
        registration: pulumi.Input[str],
        registry_uid: pulumi.Input[str],
        timeout_seconds: int,
        packs: pulumi.Input[Mapping[str, pulumi.Input[Mapping[str, Any]]]],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """Prove ``packs`` in the registration ``registry_uid``.

        :param api_url: Palette's base URL.
        :param registration: the registration's name (messages name it).
        :param registry_uid: the registration's uid in Palette.
        :param timeout_seconds: how long Palette may take to list every pack (``paletteSyncTimeoutSeconds``).
        :param packs: ``name:version`` -> {name, version, manifest_digest (as pushed), values_sha256 (of the
            values.yaml pushed), values_file (where that file is)}.
        """
        props = {
            "api_url": api_url,
            "registration": registration,
            "registry_uid": registry_uid,
            "timeout_seconds": timeout_seconds,
            "packs": packs,
            "packs_proven": None,
        }
        super().__init__(PackProofProvider(), resource_name, props, opts)
