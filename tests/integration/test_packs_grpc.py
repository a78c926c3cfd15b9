"""The Pack provider through the SDK's own provider host over gRPC, pushing to a real registry.

This is how the Pulumi engine runs a dynamic provider (pulumi/pulumi ``sdk/python/lib/pulumi/dynamic/__main__.py``):
the host prints its port, then answers ``Check``/``Create``/``Diff``/``Update``/``Read``/``Delete`` with the
pickled provider in ``__provider``. The registry is the stand-in (CNCF distribution 2.8) with TLS and bcrypt
htpasswd; an independent client (plain ``requests``, ``tests/support/pack_push_support.py``) reads back what was
pushed as Palette would: the manifest, its media types, the ``{}`` config, the title annotation, the layer's tar layout
and the ``pack.json`` inside.

The provider host runs with HOME set to a directory whose ``.docker/config.json`` holds a wrong credential for
the registry: the push must use the credentials given as inputs (the ``oras`` package would let that entry win,
``oras/auth/base.py`` ``_load_auth``).
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
from pulumi.dynamic.dynamic import serialize_provider
from pulumi.runtime import rpc
from pulumi.runtime.proto import provider_pb2

from components.config.source import Raw
from components.kinds import OCI
from components.packs import PackProvider
from components.packs.archive import pack_content
from components.packs.directory import parse_packs
from components.project import declared_config
from tests.support import docker_support
from tests.support.grpc_support import DynamicHost, plain, provider_host
from tests.support.pack_push_support import SERVER_NAME, OciRegistry, layer_file, layer_members, start_oci_registry
from tests.support.paths import ROOT, SAMPLE_PACK

URN = "urn:pulumi:dev::palette-pack-registry::pulumi-python:dynamic/packs:Pack::hello-universe"
PROVIDER = serialize_provider(PackProvider())
MANIFEST = "application/vnd.oci.image.manifest.v1+json"


@pytest.fixture(scope="module")
def registry(janitor: docker_support.DockerJanitor, standin_image: str, tmp_path_factory: Any) -> OciRegistry:
    return start_oci_registry(janitor, standin_image, tmp_path_factory.mktemp("registry"))


@dataclass
class Host(DynamicHost):
    home: Path
    """The host's HOME (with a Docker config the client must not read)."""


@pytest.fixture
def host(tmp_path: Path, registry: OciRegistry) -> Iterator[Host]:
    home = tmp_path / "home"
    (home / ".docker").mkdir(parents=True)
    wrong = base64.b64encode(f"{registry.username}:not-the-password".encode()).decode()
    docker_config = {"auths": {registry.host: {"auth": wrong}, SERVER_NAME: {"auth": wrong}}}
    (home / ".docker" / "config.json").write_text(json.dumps(docker_config))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PULUMI_", "ORAS_"))}
    env["HOME"] = str(home)
    # Any temporary file the host writes lands where the tests look for leaked secrets.
    (tmp_path / "tmp").mkdir()
    env["TMPDIR"] = str(tmp_path / "tmp")
    with provider_host(ROOT, env, tmp_path / "host.stderr") as (_process, stub):
        yield Host(stub, tmp_path / "host.stderr", URN, PROVIDER, home)


def copy_pack(tmp_path: Path, name: str = "hello-universe") -> Path:
    pack = tmp_path / "stack" / name
    shutil.copytree(SAMPLE_PACK, pack)
    return pack


def program_props(pack: Path, registry: OciRegistry, base: str, **overrides: Any) -> dict[str, Any]:
    """What the program computes for one pack on every run: the checked source, its content and files."""
    raw = Raw(lambda key: json.dumps([str(pack)]) if key == "packs" else None, declared_config())
    (source,), _ = parse_packs(raw, pack.parent, OCI)
    content = pack_content(source.directory)
    props = {
        "pack_dir": str(source.directory),
        "name": source.name,
        "version": source.version,
        "content_digest": content.content_digest,
        "files": content.files,
        "registry_url": registry.url,
        "server_name": SERVER_NAME,
        "ca_certificate": registry.ca_certificate,
        "repository": f"{base}/spectro-packs/archive",
        "username": registry.username,
        "password": registry.password,
    }
    props.update(overrides)
    return props


def edit_pack_json(pack: Path, **changes: Any) -> None:
    data = json.loads((pack / "pack.json").read_text())
    data.update(changes)
    (pack / "pack.json").write_text(json.dumps(data, indent=2))


def unique_base(request: pytest.FixtureRequest) -> str:
    return "it-" + request.node.name.lower().replace("_", "-")[:40] + f"-{time.monotonic_ns() % 100000}"


def assert_published_as_palette_expects(registry: OciRegistry, repository: str, tag: str, pack: Path) -> str:
    """Reads the artifact back independently; returns the manifest digest."""
    reader = registry.reader()
    status, body, headers = reader.manifest(repository, tag)
    assert status == 200, body
    manifest = json.loads(body)
    assert manifest["schemaVersion"] == 2
    assert manifest["mediaType"] == MANIFEST
    assert headers["Content-Type"] == MANIFEST
    assert manifest["config"]["mediaType"] == "application/vnd.unknown.config.v1+json"
    assert reader.blob(repository, manifest["config"]["digest"]) == b"{}"
    (layer,) = manifest["layers"]
    assert layer["mediaType"] == "application/vnd.oci.image.layer.v1.tar"
    name = json.loads((pack / "pack.json").read_text())["name"]
    assert layer["annotations"] == {"org.opencontainers.image.title": f"{name}-{tag}.tar.gz"}
    data = reader.blob(repository, layer["digest"])
    assert layer["size"] == len(data)
    top = pack.name
    members = layer_members(data)
    expected = {top} | {f"{top}/{p.relative_to(pack).as_posix()}" for p in pack.rglob("*")}
    assert set(members) == expected
    assert layer_file(data, f"{top}/pack.json") == (pack / "pack.json").read_bytes()
    return headers["Docker-Content-Digest"]


def test_the_whole_lifecycle_against_a_real_registry(
    host: Host, registry: OciRegistry, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Create, no-change diff, update, refresh after an overwrite, replacement, destroy, refresh when gone.

    A replacement is played in the engine's default order, create first: ``CreateReplacement`` of the new
    resource, then ``DeleteReplaced`` of the old (pulumi/pulumi ``pkg/resource/deploy/step_generator.go``;
    ``tests/integration/steps/step3/index.ts`` spells the sequence out).
    """
    base = unique_base(request)
    pack = copy_pack(tmp_path)
    repository = f"{base}/spectro-packs/archive/hello-universe"
    reader = registry.reader()

    # pulumi up: check, create (the push)
    before = registry.request_count()
    created = host.create(program_props(pack, registry, base))
    time.sleep(0.3)
    push_logs = registry.container.logs("all")
    # the tag: a HEAD (free, or holding this very manifest); config: a POST and one PUT; layer: a HEAD, a POST and
    # one PUT; then the manifest PUT; nothing sent twice, no 401.
    assert registry.request_count() - before == 7
    assert "http.response.status=401" not in push_logs
    outs = plain(created.properties)
    digest = assert_published_as_palette_expects(registry, repository, "1.0.0", pack)
    assert created.id == f"{registry.host}/{repository}:1.0.0" == outs["reference"]
    assert outs["manifest_digest"] == digest
    assert outs["files"] == pack_content(pack).files
    assert outs["layer_digest"].startswith("sha256:")
    assert outs["__provider"] == PROVIDER

    # pulumi up with nothing changed: no change, no registry call
    before = registry.request_count()
    diff = host.diff(created.id, created.properties, program_props(pack, registry, base))
    assert diff.changes == provider_pb2.DiffResponse.DIFF_NONE
    time.sleep(0.3)
    assert registry.request_count() == before

    # a changed file: an update of the same tag; the old manifest is removed
    (pack / "manifests" / "hello-universe.yaml").write_text("apiVersion: v1\nkind: Namespace\n")
    props = program_props(pack, registry, base)
    diff = host.diff(created.id, created.properties, props)
    assert diff.changes == provider_pb2.DiffResponse.DIFF_SOME
    assert list(diff.replaces) == []
    updated = host.update(created.id, created.properties, props)
    new_digest = assert_published_as_palette_expects(registry, repository, "1.0.0", pack)
    assert new_digest != digest
    assert plain(updated.properties)["manifest_digest"] == new_digest
    assert reader.manifest(repository, digest)[0] == 404
    state = updated.properties

    # refresh after someone overwrote the tag: the live digest shows, and the next up pushes again
    other = reader.push_other(repository, "1.0.0")
    read = host.read(created.id, state)
    assert read.id == created.id
    assert plain(read.properties)["manifest_digest"] == other
    diff = host.diff(created.id, read.properties, props)
    assert diff.changes == provider_pb2.DiffResponse.DIFF_SOME
    assert list(diff.replaces) == []
    repushed = host.update(created.id, read.properties, props)
    assert assert_published_as_palette_expects(registry, repository, "1.0.0", pack) == new_digest
    assert plain(repushed.properties)["manifest_digest"] == new_digest
    state = repushed.properties

    # a new version: a replacement, the new tag pushed first, then the old manifest deleted
    edit_pack_json(pack, version="1.1.0")
    renamed = program_props(pack, registry, base)
    diff = host.diff(created.id, state, renamed)
    assert list(diff.replaces) == ["version"]
    assert diff.deleteBeforeReplace is False
    replacement = host.create(renamed)
    assert replacement.id == f"{registry.host}/{repository}:1.1.0"
    host.delete(created.id, state)
    assert reader.manifest(repository, "1.0.0")[0] == 404
    assert reader.tags(repository) == ["1.1.0"]
    assert_published_as_palette_expects(registry, repository, "1.1.0", pack)

    # pulumi destroy, twice: the second finds it gone and is done
    host.delete(replacement.id, replacement.properties)
    assert reader.manifest(repository, "1.1.0")[0] == 404
    host.delete(replacement.id, replacement.properties)

    # refresh once it is gone
    assert host.read(replacement.id, replacement.properties).id == ""

    logs = host.stderr.read_text()
    assert registry.password not in logs
    for props_ in (outs, plain(updated.properties), plain(replacement.properties)):
        assert [key for key, value in props_.items() if registry.password in json.dumps(value)] == ["password"]


def test_refresh_after_an_out_of_band_delete_finds_it_gone(
    host: Host, registry: OciRegistry, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    base = unique_base(request)
    pack = copy_pack(tmp_path)
    created = host.create(program_props(pack, registry, base))
    repository = f"{base}/spectro-packs/archive/hello-universe"
    assert registry.reader().delete(repository, plain(created.properties)["manifest_digest"]) == 202

    read = host.read(created.id, created.properties)

    assert read.id == ""


def test_a_new_name_is_a_new_repository_and_the_old_one_is_emptied(
    host: Host, registry: OciRegistry, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    base = unique_base(request)
    pack = copy_pack(tmp_path)
    created = host.create(program_props(pack, registry, base))
    edit_pack_json(pack, name="hello-cosmos")
    props = program_props(pack, registry, base)

    diff = host.diff(created.id, created.properties, props)
    replacement = host.create(props)
    host.delete(created.id, created.properties)

    assert list(diff.replaces) == ["name"]
    reader = registry.reader()
    assert reader.tags(f"{base}/spectro-packs/archive/hello-universe") == []
    assert reader.tags(f"{base}/spectro-packs/archive/hello-cosmos") == ["1.0.0"]
    assert plain(replacement.properties)["reference"].endswith("/hello-cosmos:1.0.0")


def test_files_changed_after_the_preview_are_not_pushed(
    host: Host, registry: OciRegistry, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    base = unique_base(request)
    pack = copy_pack(tmp_path)
    props = program_props(pack, registry, base)
    (pack / "values.yaml").write_text("pack:\n  namespace: changed\n")

    with pytest.raises(grpc.RpcError) as raised:
        host.create(props)

    message = raised.value.details()
    assert "changed since the program read them (values.yaml)" in message
    assert registry.reader().tags(f"{base}/spectro-packs/archive/hello-universe") == []


def test_a_wrong_password_fails_naming_registry_verb_reference_and_status_but_not_the_password(
    host: Host, registry: OciRegistry, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    base = unique_base(request)
    wrong = "Wr0ng-" + registry.password[::-1]

    with pytest.raises(grpc.RpcError) as raised:
        host.create(program_props(copy_pack(tmp_path), registry, base, password=wrong))

    message = raised.value.details()
    # The first request of a create asks what the tag holds.
    assert f"{registry.host}: HEAD {base}/spectro-packs/archive/hello-universe:1.0.0" in message
    assert "answered 401" in message and "refused this user and password" in message
    assert wrong not in message and wrong not in host.stderr.read_text()


def test_a_wrong_ca_is_refused_before_anything_is_sent(
    host: Host, registry: OciRegistry, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    from tests.support.tls_support import Authority

    base = unique_base(request)
    other_ca = Authority.create("Someone Else").certificate_pem

    with pytest.raises(grpc.RpcError) as raised:
        host.create(program_props(copy_pack(tmp_path), registry, base, ca_certificate=other_ca))

    assert "SSLError" in raised.value.details()
    assert registry.reader().tags(f"{base}/spectro-packs/archive/hello-universe") == []


def test_a_preview_with_unknown_registry_values_is_accepted_and_is_a_change(
    host: Host, registry: OciRegistry, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    base = unique_base(request)
    pack = copy_pack(tmp_path)
    created = host.create(program_props(pack, registry, base))
    # The engine sends an unknown as this sentinel string.
    props = program_props(pack, registry, base, password=rpc.UNKNOWN, ca_certificate=rpc.UNKNOWN)

    diff = host.diff(created.id, created.properties, props)

    assert diff.changes == provider_pb2.DiffResponse.DIFF_SOME
    assert list(diff.replaces) == []


def test_the_password_is_in_no_file_the_provider_host_can_write(
    host: Host, registry: OciRegistry, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    base = unique_base(request)
    pack = copy_pack(tmp_path)
    host.create(program_props(pack, registry, base))

    leaked = [
        path for path in tmp_path.rglob("*") if path.is_file() and registry.password.encode() in path.read_bytes()
    ]

    assert leaked == []
    assert registry.password.encode() not in base64.b64decode(PROVIDER)
    # The wrong Docker credential is untouched and nothing was added beside it.
    assert sorted(p.name for p in (host.home / ".docker").iterdir()) == ["config.json"]


def test_a_certificate_for_another_name_is_refused(
    host: Host, registry: OciRegistry, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    base = unique_base(request)

    with pytest.raises(grpc.RpcError) as raised:
        host.create(program_props(copy_pack(tmp_path), registry, base, server_name="elsewhere.test"))

    assert "Hostname mismatch" in raised.value.details()
    assert registry.reader().tags(f"{base}/spectro-packs/archive/hello-universe") == []
