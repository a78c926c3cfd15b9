"""What the fake Palette's pack sync does (``FakePalette`` with ``reads_registries``): read an OCI registry the way
Palette reads one registered with ``providerType: pack``, and parse each pack as Palette parses it.

The reading follows the registration and nothing else: its ``endpoint`` (the host name is looked up in the fake's
own table of addresses, as Palette resolves it in DNS; TLS is verified for that name against the registered
``tls.certificate``, or not at all with ``insecureSkipVerify``), its ``baseContentPath`` and its basic-auth user
and password (the read-only pull user the program registers). It lists the catalog (``GET /v2/_catalog``, following
``Link`` pages: distribution spec "Listing Repositories") for the repositories under
``<baseContentPath>/spectro-packs/archive/``, every tag of each (``GET /v2/<name>/tags/list``), then each tag's
manifest and its one layer (distribution spec "Pulling manifests", "Pulling blobs"), exactly the artifact the program
pushes (components/packs/oci_client.py ``pack_manifest``, docs/packs.md "The artifact": an OCI image manifest with one
``application/vnd.oci.image.layer.v1.tar`` layer, the gzipped tar of one top-level folder).

In that folder: ``pack.json`` (JSON: ``name``, ``version``, ``layer``, ``displayName``), ``values.yaml`` (YAML, a
mapping or empty), ``README.md``, and the optional ``presets.yaml`` (``presets[]`` of ``name``, ``displayName``,
``group``, ``remove[]``, ``add``) and ``schema.yaml`` (a value path to ``schema: '{{ required | readonly | format
"..." | hints "..." }}'``). A pack that cannot be read or parsed is skipped and its reason kept, as Palette skips a
pack it cannot parse and still calls the sync done. The fake is stricter than Palette is known to be in one way:
a ``pack.json`` whose ``name`` or ``version`` differs from the repository or the tag it was read at is skipped too.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import io
import json
import re
import tarfile
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import yaml

from tests.support.registry_client import RegistryClient

__all__ = ["ParsedPack", "SyncResult", "parse_layer", "read_registry"]

ARCHIVE = "spectro-packs/archive"
MANIFEST_MEDIA_TYPE = "application/vnd.oci.image.manifest.v1+json"
LAYER_MEDIA_TYPES = ("application/vnd.oci.image.layer.v1.tar", "application/vnd.oci.image.layer.v1.tar+gzip")
LAYERS = ("kernel", "os", "k8s", "cni", "csi", "addon")
"""``v1PackLayer``."""
_NEXT = re.compile(r'<([^>]+)>;\s*rel="?next"?')
_SCHEMA_TOKEN = re.compile(r'"((?:[^"\\]|\\.)*)"|([^\s|]+)')


class Skip(Exception):
    """Why one pack is skipped (the reason Palette keeps)."""


@dataclass(frozen=True)
class ParsedPack:
    """One pack version as the sync parsed it."""

    name: str
    version: str
    manifest_digest: str
    pack_json: dict[str, Any]
    values: str
    """``values.yaml`` as text (what ``packValues[].values`` carries)."""
    readme: str
    presets: list[dict[str, Any]]
    schema: list[dict[str, Any]]


@dataclass
class SyncResult:
    """What one sync of one registry found."""

    packs: dict[tuple[str, str], ParsedPack] = field(default_factory=dict)
    """By ``(name, version)``."""
    skipped: dict[str, str] = field(default_factory=dict)
    """``<repository>:<tag>`` -> the reason the pack was skipped."""
    failure: str | None = None
    """Why the registry could not be read at all (the sync fails), or None."""
    reads: list[str] = field(default_factory=list)
    """``METHOD path`` of every registry request, in order."""


def read_registry(spec: dict[str, Any], addresses: dict[str, str], *, timeout: float = 10.0) -> SyncResult:
    """Read every pack the registration ``spec`` (the stored ``v1BasicOciRegistrySpec``, real password) points at."""
    result = SyncResult()
    parts = urlsplit(str(spec.get("endpoint") or ""))
    host = parts.hostname or ""
    auth = spec.get("auth") or {}
    tls = auth.get("tls") or {}
    address = addresses.get(host, host)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    client = RegistryClient(
        f"{parts.scheme}://{address}:{port}",
        ca_certificate=None if tls.get("insecureSkipVerify") else (tls.get("certificate") or None),
        server_name=host,
        username=auth.get("username") if auth.get("type") == "basic" else None,
        password=auth.get("password"),
        timeout=timeout,
        verify=not tls.get("insecureSkipVerify"),
    )
    prefix = f"{str(spec.get('baseContentPath') or '').strip('/')}/{ARCHIVE}/".lstrip("/")
    try:
        repositories = [r for r in _paged(client, "/v2/_catalog", "repositories", result) if r.startswith(prefix)]
    except (OSError, Skip) as exc:
        result.failure = f"cannot list the registry's catalog at {spec.get('endpoint')}: {exc}"
        return result
    for repository in sorted(repositories):
        name = repository[len(prefix) :]
        try:
            tags = _paged(client, f"/v2/{repository}/tags/list", "tags", result)
        except (OSError, Skip) as exc:
            result.skipped[repository] = f"cannot list its tags: {exc}"
            continue
        for tag in sorted(tags):
            reference = f"{repository}:{tag}"
            try:
                pack = _read_pack(client, repository, name, tag, result)
            except (OSError, Skip) as exc:
                result.skipped[reference] = str(exc)
                continue
            result.packs[(pack.name, pack.version)] = pack
    return result


def _get(client: RegistryClient, path: str, result: SyncResult, headers: dict[str, str] | None = None) -> bytes:
    result.reads.append(f"GET {path}")
    answer = client.request("GET", path, headers=headers)
    if answer.status != 200:
        raise Skip(f"GET {path} answered {answer.status}")
    return answer.body


def _paged(client: RegistryClient, path: str, key: str, result: SyncResult) -> list[str]:
    items: list[str] = []
    while path:
        result.reads.append(f"GET {path}")
        answer = client.request("GET", path)
        if answer.status != 200:
            raise Skip(f"GET {path} answered {answer.status}")
        items += json.loads(answer.body).get(key) or []
        found = _NEXT.search(answer.headers.get("link", ""))
        path = ""
        if found:
            target = urlsplit(found.group(1))
            query = "&".join(f"{k}={v}" for k, v in parse_qsl(target.query, keep_blank_values=True))
            path = target.path + (f"?{query}" if query else "")
    return items


def _read_pack(client: RegistryClient, repository: str, name: str, tag: str, result: SyncResult) -> ParsedPack:
    raw = _get(client, f"/v2/{repository}/manifests/{tag}", result, {"Accept": MANIFEST_MEDIA_TYPE})
    try:
        manifest = json.loads(raw)
        [layer] = manifest["layers"]
        digest = str(layer["digest"])
    except (ValueError, KeyError, TypeError):
        raise Skip("the manifest is not an OCI image manifest with one layer") from None
    if layer.get("mediaType") not in LAYER_MEDIA_TYPES:
        raise Skip(f"the layer's media type {layer.get('mediaType')!r} is not a tar")
    blob = _get(client, f"/v2/{repository}/blobs/{digest}", result)
    parsed = parse_layer(blob)
    if parsed.name != name or parsed.version != tag:
        raise Skip(f"pack.json says {parsed.name}:{parsed.version}, read at {name}:{tag}")
    return dataclasses.replace(parsed, manifest_digest="sha256:" + hashlib.sha256(raw).hexdigest())


def parse_layer(blob: bytes) -> ParsedPack:
    """The pack in a layer (a tar, gzipped or not, of one top-level folder), or ``Skip`` with the reason."""
    data = gzip.decompress(blob) if blob[:2] == b"\x1f\x8b" else blob
    try:
        archive = tarfile.open(fileobj=io.BytesIO(data), mode="r:")
    except tarfile.TarError as exc:
        raise Skip(f"the layer is not a tar ({exc})") from None
    with archive:
        members = [m for m in archive.getmembers() if m.name.strip("/")]
        tops = {m.name.strip("/").split("/", 1)[0] for m in members}
        if len(tops) != 1:
            raise Skip(f"the layer holds {len(tops)} top-level entries, not one pack folder")
        [top] = tops
        files: dict[str, bytes] = {}
        for member in members:
            relative = member.name.strip("/")[len(top) + 1 :]
            if member.isfile() and relative in ("pack.json", "values.yaml", "README.md", "presets.yaml", "schema.yaml"):
                extracted = archive.extractfile(member)
                files[relative] = extracted.read() if extracted else b""
    if "pack.json" not in files:
        raise Skip("pack.json is missing")
    try:
        pack_json = json.loads(files["pack.json"])
    except ValueError as exc:
        raise Skip(f"pack.json is not JSON ({exc})") from None
    if not isinstance(pack_json, dict):
        raise Skip("pack.json is not a JSON object")
    for key in ("name", "version", "layer", "displayName"):
        if not isinstance(pack_json.get(key), str) or not pack_json[key]:
            raise Skip(f"pack.json has no {key}")
    if pack_json["layer"] not in LAYERS:
        raise Skip(f"pack.json has layer {pack_json['layer']!r}")
    if "values.yaml" not in files:
        raise Skip("values.yaml is missing")
    values = _text(files["values.yaml"], "values.yaml")
    loaded = _yaml(values, "values.yaml")
    if loaded is not None and not isinstance(loaded, dict):
        raise Skip("values.yaml is not a mapping")
    presets: list[dict[str, Any]] = []
    if "presets.yaml" in files:
        presets = _presets(_yaml(_text(files["presets.yaml"], "presets.yaml"), "presets.yaml"))
    schema: list[dict[str, Any]] = []
    if "schema.yaml" in files:
        schema = _schema(_yaml(_text(files["schema.yaml"], "schema.yaml"), "schema.yaml"))
    return ParsedPack(
        name=pack_json["name"],
        version=pack_json["version"],
        manifest_digest="",
        pack_json=pack_json,
        values=values,
        readme=_text(files.get("README.md", b""), "README.md"),
        presets=presets,
        schema=schema,
    )


def _text(data: bytes, file: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise Skip(f"{file} is not UTF-8") from None


def _yaml(text: str, file: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise Skip(f"{file} is not YAML ({str(exc).splitlines()[0]})") from None


def _presets(loaded: Any) -> list[dict[str, Any]]:
    """``presets.yaml``'s ``presets[]`` as ``v1PackPreset`` items."""
    if loaded is None:
        return []
    if not isinstance(loaded, dict) or not isinstance(loaded.get("presets"), list):
        raise Skip("presets.yaml has no presets list")
    presets = []
    for item in loaded["presets"]:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise Skip("presets.yaml has a preset without a name")
        remove = item.get("remove") or []
        add = item.get("add") or ""
        if not isinstance(remove, list) or not isinstance(add, str):
            raise Skip(f"presets.yaml preset {item['name']!r}: remove must be a list and add a string")
        presets.append(
            {
                "name": item["name"],
                "displayName": str(item.get("displayName") or ""),
                "group": str(item.get("group") or ""),
                "remove": [str(path) for path in remove],
                "add": add,
            }
        )
    return presets


def _schema(loaded: Any, path: str = "") -> list[dict[str, Any]]:
    """``schema.yaml`` (a value path to ``schema: '{{ ... }}'``) as ``v1PackSchema`` items."""
    if loaded is None:
        return []
    if not isinstance(loaded, dict):
        raise Skip(f"schema.yaml: {path or 'the top'} is not a mapping")
    found = []
    for key, value in loaded.items():
        if key == "schema" and isinstance(value, str):
            found.append(_schema_entry(path, value))
        elif isinstance(value, dict):
            found += _schema(value, f"{path}.{key}" if path else str(key))
        else:
            raise Skip(f"schema.yaml: {path}.{key} is neither a mapping nor a schema string")
    return found


def _schema_entry(name: str, text: str) -> dict[str, Any]:
    body = text.strip()
    if not (body.startswith("{{") and body.endswith("}}")):
        raise Skip(f"schema.yaml: {name}: the schema is not '{{{{ ... }}}}'")
    entry: dict[str, Any] = {"name": name, "required": False, "readonly": False, "format": "", "hints": []}
    for part in body[2:-2].split("|"):
        words = [quoted if quoted else bare for quoted, bare in _SCHEMA_TOKEN.findall(part)]
        if not words:
            continue
        head, args = words[0], words[1:]
        if head in ("required", "readonly"):
            entry[head] = True
        elif head in ("format", "regex", "type") and len(args) == 1:
            entry[head] = args[0]
        elif head in ("hints", "listOptions"):
            entry[head] = args
        else:
            raise Skip(f"schema.yaml: {name}: unknown schema word {head!r}")
    return entry
