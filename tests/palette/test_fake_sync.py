"""The fake Palette's real sync (tests/support/palette_sync.py): it reads the registered OCI registry with the
registered endpoint, base content path, credentials and CA, parses the artifact the program pushes
(components/packs/oci_client.py, pushed here by the program's own client into a scripted registry), skips what it
cannot parse with the reason kept, and serves the pack listing as Palette's spec defines it
(tests/data/palette/pack-listing-spec.json, validated with jsonschema)."""

from __future__ import annotations

import base64
import gzip
import io
import json
import shutil
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import yaml
from jsonschema import ValidationError

from components.packs.archive import build_archive
from components.packs.oci_client import OciClient, OciTarget
from tests.support.oci_scripted import Scripted, scripted_registry
from tests.support.palette_fake import FakePalette
from tests.support.palette_spec import listing_validator
from tests.support.paths import SAMPLE_PACK
from tests.support.tls_support import Authority

NAME = "registry.test"
BASE = "packs"
REPOSITORY = f"{BASE}/spectro-packs/archive"
READER, READER_PASSWORD = "palette-reader", "reader-pw-0123"


@pytest.fixture(scope="module")
def authority() -> Authority:
    return Authority.create("Fake Sync CA")


@pytest.fixture
def registry(authority: Authority) -> Iterator[Scripted]:
    with scripted_registry(authority, NAME) as state:
        yield state


def pusher(registry: Scripted, authority: Authority) -> OciClient:
    return OciClient(
        OciTarget(registry.url, "admin", "admin-pw", server_name=NAME, ca_certificate=authority.certificate_pem)
    )


def pack_dir(tmp_path: Path, name: str, version: str = "1.0.0", **files: str) -> Path:
    """The sample pack as ``name``:``version``, with ``files`` (relative path -> text) written over it."""
    directory = shutil.copytree(SAMPLE_PACK, tmp_path / f"{name}-{version}")
    manifest = json.loads((directory / "pack.json").read_text())
    manifest.update(name=name, version=version, displayName=name.title())
    (directory / "pack.json").write_text(json.dumps(manifest))
    for relative, text in files.items():
        (directory / relative).write_text(text)
    return directory


def push(registry: Scripted, authority: Authority, directory: Path, name: str, version: str) -> str:
    archive = build_archive(directory)
    pushed = pusher(registry, authority).push_pack(
        f"{REPOSITORY}/{name}", version, archive.data, f"{name}-{version}.tar.gz"
    )
    return pushed.manifest_digest


def push_layer(registry: Scripted, authority: Authority, name: str, version: str, files: dict[str, bytes]) -> None:
    """A layer built by hand: one folder holding ``files``."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for relative, content in files.items():
            info = tarfile.TarInfo(f"{name}/{relative}")
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    layer = gzip.compress(raw.getvalue(), mtime=0)
    pusher(registry, authority).push_pack(f"{REPOSITORY}/{name}", version, layer, f"{name}-{version}.tar.gz")


def register(palette: FakePalette, registry: Scripted, authority: Authority, **fields) -> str:
    palette.reads_registries = True
    palette.addresses[NAME] = "127.0.0.1"
    port = registry.url.rsplit(":", 1)[1]
    options = {
        "kind": "oci",
        "endpoint": f"https://{NAME}:{port}",
        "username": READER,
        "password": READER_PASSWORD,
        "certificate": authority.certificate_pem,
        "base_content_path": BASE,
        **fields,
    }
    return palette.add_registry("packs", **options)


def call(palette: FakePalette, method: str, path: str) -> requests.Response:
    return requests.request(method, palette.url + path, headers={"ApiKey": palette.api_key}, timeout=5)


def sync(palette: FakePalette, uid: str) -> dict:
    """Ask for a sync and poll its status until it is no longer running; the last status."""
    assert call(palette, "POST", f"/v1/registries/oci/{uid}/basic/sync?forceSync=false").status_code == 202
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        status = call(palette, "GET", f"/v1/registries/oci/{uid}/basic/sync/status").json()
        if status["status"] != "InProgress":
            return status
        time.sleep(0.02)
    raise AssertionError("the fake's sync did not finish")


def listing(palette: FakePalette, name: str, uid: str) -> requests.Response:
    return call(palette, "GET", f"/v1/packs/{name}/registries/{uid}")


def test_a_sync_reads_every_tag_with_the_registered_credentials_and_serves_the_spec_shape(
    palette: FakePalette, registry: Scripted, authority: Authority, tmp_path: Path
) -> None:
    values = "replicas: 3\nimage:\n  tag: '1.2'\n"
    first = pack_dir(tmp_path, "hello-one", "1.0.0", **{"values.yaml": values})
    push(registry, authority, first, "hello-one", "1.0.0")
    push(registry, authority, pack_dir(tmp_path, "hello-one", "1.1.0"), "hello-one", "1.1.0")
    push(registry, authority, pack_dir(tmp_path, "hello-two"), "hello-two", "1.0.0")
    pushed = len(registry.requests)
    uid = register(palette, registry, authority)

    assert listing(palette, "hello-one", uid).status_code == 404  # nothing synced yet
    assert sync(palette, uid)["status"] == "Completed"

    reads = registry.requests[pushed:]
    basic = "Basic " + base64.b64encode(f"{READER}:{READER_PASSWORD}".encode()).decode()
    assert {authorization for _, _, authorization, _ in reads} == {basic}
    assert {method for method, _, _, _ in reads} == {"GET"}
    paths = [path for _, path, _, _ in reads]
    assert paths[0] == "/v2/_catalog"
    assert f"/v2/{REPOSITORY}/hello-one/tags/list" in paths
    assert f"/v2/{REPOSITORY}/hello-one/manifests/1.1.0" in paths

    answer = listing(palette, "hello-one", uid)
    assert answer.status_code == 200
    body = answer.json()
    listing_validator().validate(body)
    assert [tag["version"] for tag in body["tags"]] == ["1.0.0", "1.1.0"]
    assert body["registryUid"] == uid and body["layer"] == "addon" and body["addonType"] == "app services"
    by_uid = {entry["packUid"]: entry for entry in body["packValues"]}
    one = by_uid[body["tags"][0]["packUid"]]
    assert one["values"] == values
    assert one["readme"] == (SAMPLE_PACK / "README.md").read_text()
    assert one["annotations"] == {"source": "community", "contributor": "spectrocloud"}
    listing_validator().validate(listing(palette, "hello-two", uid).json())

    # The pack UID of a name and version stays through the next sync.
    assert sync(palette, uid)["status"] == "Completed"
    assert listing(palette, "hello-one", uid).json()["tags"] == body["tags"]
    assert palette.skipped(uid) == {}


def test_presets_and_schema_are_parsed_into_their_spec_shapes(
    palette: FakePalette, registry: Scripted, authority: Authority, tmp_path: Path
) -> None:
    presets = yaml.safe_dump(
        {
            "presets": [
                {
                    "name": "small",
                    "displayName": "Small",
                    "group": "Size",
                    "remove": ["manifests.hello.replicas"],
                    "add": "manifests:\n  hello:\n    replicas: 1\n",
                }
            ]
        }
    )
    schema = (
        "manifests:\n  hello:\n    replicas:\n"
        '      schema: \'{{ required | format "${number}" | hints "how many" }}\'\n'
    )
    directory = pack_dir(tmp_path, "hello-shaped", **{"presets.yaml": presets, "schema.yaml": schema})
    push(registry, authority, directory, "hello-shaped", "1.0.0")
    uid = register(palette, registry, authority)
    sync(palette, uid)

    body = listing(palette, "hello-shaped", uid).json()
    listing_validator().validate(body)
    [values] = body["packValues"]
    assert values["presets"] == [
        {
            "name": "small",
            "displayName": "Small",
            "group": "Size",
            "remove": ["manifests.hello.replicas"],
            "add": "manifests:\n  hello:\n    replicas: 1\n",
        }
    ]
    assert values["schema"] == [
        {
            "name": "manifests.hello.replicas",
            "required": True,
            "readonly": False,
            "format": "${number}",
            "hints": ["how many"],
        }
    ]


@pytest.mark.parametrize(
    ("files", "reason"),
    [
        ({"pack.json": b"{not json", "values.yaml": b""}, "pack.json is not JSON"),
        ({"values.yaml": b""}, "pack.json is missing"),
        (
            {"pack.json": b'{"name": "broken", "version": "1.0.0", "layer": "addon"}', "values.yaml": b""},
            "no displayName",
        ),
        ({"pack.json": b"PACK", "values.yaml": b"a: [unclosed"}, "values.yaml is not YAML"),
        ({"pack.json": b"PACK", "values.yaml": b"- a list"}, "values.yaml is not a mapping"),
        (
            {"pack.json": b"PACK", "values.yaml": b"", "schema.yaml": b"a:\n  schema: 'not braces'"},
            "is not '{{ ... }}'",
        ),
        ({"pack.json": b"PACK", "values.yaml": b"", "presets.yaml": b"presets: [{displayName: x}]"}, "without a name"),
        (
            {
                "pack.json": b'{"name": "other", "version": "1.0.0", "layer": "addon", "displayName": "O"}',
                "values.yaml": b"",
            },
            "says other:1.0.0",
        ),
    ],
    ids=["json", "no-pack-json", "no-display-name", "values-yaml", "values-list", "schema", "presets", "other-name"],
)
def test_a_pack_that_cannot_be_parsed_is_skipped_with_its_reason_and_the_sync_completes(
    palette: FakePalette, registry: Scripted, authority: Authority, tmp_path: Path, files: dict, reason: str
) -> None:
    good = b'{"name": "broken", "version": "1.0.0", "layer": "addon", "displayName": "Broken"}'
    push_layer(registry, authority, "broken", "1.0.0", {k: good if v == b"PACK" else v for k, v in files.items()})
    push(registry, authority, pack_dir(tmp_path, "fine"), "fine", "1.0.0")
    uid = register(palette, registry, authority)

    assert sync(palette, uid)["status"] == "Completed"
    [(reference, why)] = palette.skipped(uid).items()
    assert reference == f"{REPOSITORY}/broken:1.0.0" and reason in why, why
    assert listing(palette, "broken", uid).status_code == 404
    assert listing(palette, "fine", uid).status_code == 200


def test_a_registry_that_cannot_be_read_with_the_registered_ca_fails_the_sync(
    palette: FakePalette, registry: Scripted, authority: Authority, tmp_path: Path
) -> None:
    push(registry, authority, pack_dir(tmp_path, "fine"), "fine", "1.0.0")
    uid = register(palette, registry, authority, certificate=Authority.create("Another CA").certificate_pem)

    status = sync(palette, uid)
    assert status["status"] == "Failed" and "CERTIFICATE_VERIFY_FAILED" in status["message"], status
    assert listing(palette, "fine", uid).status_code == 404

    # insecureSkipVerify wins over the certificate (docs/palette-api.md "TLS trust").
    palette.edit(uid, insecureSkipVerify=True)
    assert sync(palette, uid)["status"] == "Completed"
    assert listing(palette, "fine", uid).status_code == 200


def test_a_pack_deleted_from_the_registry_is_gone_after_the_next_sync(
    palette: FakePalette, registry: Scripted, authority: Authority, tmp_path: Path
) -> None:
    push(registry, authority, pack_dir(tmp_path, "fine"), "fine", "1.0.0")
    uid = register(palette, registry, authority)
    sync(palette, uid)
    assert listing(palette, "fine", uid).status_code == 200
    registry.manifests.clear()
    sync(palette, uid)
    assert listing(palette, "fine", uid).status_code == 404


def test_the_spec_validator_refuses_what_the_spec_does_not_define() -> None:
    """The check the fake's answers pass can fail: a wrong type, a value outside an enumeration, a field Palette's
    spec does not have."""
    good = {"name": "p", "layer": "addon", "tags": [{"tag": "1.0.0", "packUid": "u"}], "packValues": [{"values": ""}]}
    listing_validator().validate(good)
    for bad in (
        {**good, "layer": "helm"},
        {**good, "tags": [{"tag": "1.0.0", "packUid": 7}]},
        {**good, "packValues": [{"values": {"a": 1}}]},
        {**good, "uid": "not in the spec"},
        {**good, "packValues": [{"schema": [{"name": "a", "required": "yes"}]}]},
    ):
        with pytest.raises(ValidationError):
            listing_validator().validate(bad)
    # Without the strict closing, Swagger's open objects take an unknown field.
    listing_validator(strict=False).validate({**good, "uid": "not in the spec"})
