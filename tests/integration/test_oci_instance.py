"""registryKind oci on the real engine: the program's declared registry and proxy containers, run as declared.

The program is evaluated under the realistic mocks (real passwords, bcrypt hashes, keys and certificates);
its two recorded containers become real containers of the stand-in images (Debian's distribution 2.8
laid out like the official ``registry`` image, Debian's nginx laid out like the official ``nginx`` image;
scripts/standin/). The registry container publishes the proxy's port on 127.0.0.1; the proxy joins the
registry's network namespace by its real id, as the declared ``networkMode: container:<id>`` says. The
program's own readiness gate (``ReadinessGateProvider``) then proves the instance, and a plain client
checks what a user and Palette would meet.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from components.readiness import ReadinessGateProvider, RegistryNotReady
from tests.support.docker_support import (
    DockerJanitor,
    RunningContainer,
    container_spec_with,
    docker,
    remove_container,
    start_container,
)
from tests.support.harness import READINESS, ProgramRun, run_program
from tests.support.registry_client import RegistryClient

HOST = "registry.test"
CONFIG: dict[str, Any] = {
    "registryKind": "oci",
    "hosts": [HOST],
    "ipAddresses": ["127.0.0.1"],
    "port": 5443,
    "bindAddress": "127.0.0.1",
    "containerName": "spectro-registry-oci-it",
    "dataVolume": "spectro-registry-oci-it-data",
    "readOnlyUsers": ["spectro"],
    "authRealm": "Spectro Pack Registry OCI IT",
    "rotationKeeper": "first",
}


@dataclass
class Instance:
    """One evaluation of the program and the two real containers made from it."""

    run: ProgramRun
    registry: RunningContainer
    proxy: RunningContainer

    @property
    def url(self) -> str:
        return self.registry.url("https")

    def client(self, user: str | None = None, password: str | None = None) -> RegistryClient:
        return RegistryClient(
            self.url,
            ca_certificate=self.run.exports["caCertificate"],
            server_name=HOST,
            username=user,
            password=password,
        )

    def admin(self) -> RegistryClient:
        return self.client(self.run.exports["adminUser"], self.run.exports["adminPassword"])

    def reader(self) -> RegistryClient:
        return self.client(self.run.exports["readOnlyUsers"][0], self.run.exports["readOnlyPasswords"][0])

    def gate_props(self, **overrides: Any) -> dict[str, Any]:
        inputs = {k: v for k, v in self.run.one(READINESS).inputs.items() if k != "__provider"}
        inputs.update(url=self.url, timeout_seconds=30.0, **overrides)
        return {k: v for k, v in inputs.items() if v is not None}

    def logs(self) -> str:
        return f"--- registry\n{self.registry.logs()}\n--- proxy\n{self.proxy.logs()}"


def deploy(run: ProgramRun, janitor: DockerJanitor, images: tuple[str, str], volume: str) -> Instance:
    """What `pulumi up` makes of the two declared containers (the images swapped for the stand-ins): the proxy
    first, publishing the port, then the registry in the proxy's namespace (its real id for the mock's)."""
    suffix = secrets.token_hex(3)
    declared = run.named("registry-proxy-container").inputs
    proxy = start_container(declared, janitor, image=images[1], name=janitor.name(f"{declared['name']}-{suffix}"))
    registry_spec = run.named("registry-container").inputs
    assert registry_spec["networkMode"] == f"container:{run.named('registry-proxy-container').id}"
    mounts = [{**mount, "volumeName": volume} for mount in registry_spec["volumes"]]
    registry = start_container(
        container_spec_with(registry_spec, volumes=mounts, networkMode=f"container:{proxy.id}"),
        janitor,
        image=images[0],
        name=janitor.name(f"{registry_spec['name']}-{suffix}"),
    )
    registry.host_port = proxy.host_port
    return Instance(run, registry, proxy)


@pytest.fixture(scope="module")
def oci_run() -> ProgramRun:
    return run_program(CONFIG, stack="dev", use_stack_file=False)


@pytest.fixture
def instance(
    oci_run: ProgramRun, janitor: DockerJanitor, oci_standin_image: str, proxy_standin_image: str
) -> Iterator[Instance]:
    deployed = deploy(oci_run, janitor, (oci_standin_image, proxy_standin_image), janitor.name("oci-it-data"))
    try:
        ReadinessGateProvider().create(deployed.gate_props())
    except RegistryNotReady as error:
        raise AssertionError(f"{error}\n{deployed.logs()}") from error
    yield deployed


def test_the_programs_gate_passes_with_every_oci_check(instance: Instance) -> None:
    outs = ReadinessGateProvider().create(instance.gate_props()).outs
    assert outs["health_status"] == 401, "the gate counted the anonymous 401 challenge as the health answer"
    assert outs["require_challenge"] is True
    assert outs["write_probe_path"].endswith("/blobs/uploads/")


def test_docker_reports_the_registry_in_the_proxys_namespace_as_declared(instance: Instance) -> None:
    """The docker provider reads ``network_mode`` back as ``HostConfig.NetworkMode``, verbatim
    (kreuzwerker/terraform-provider-docker internal/provider/resource_docker_container_funcs.go,
    ``d.Set("network_mode", container.HostConfig.NetworkMode)``; the attribute is ForceNew). The program
    declares ``container:<proxy id>``: what Docker reports must be that same string, or every ``pulumi up``
    would replace the registry."""
    full_id = docker("inspect", "--format", "{{.Id}}", instance.proxy.id).strip()
    reported = docker("inspect", "--format", "{{.HostConfig.NetworkMode}}", instance.registry.id).strip()
    assert reported == f"container:{full_id}"
    published = json.loads(docker("inspect", "--format", "{{json .NetworkSettings.Ports}}", instance.proxy.id))
    # Exposed ports are listed with no binding; only the proxy's port is bound to the host.
    assert [port for port, bindings in published.items() if bindings] == ["8443/tcp"]


def test_anonymous_clients_get_the_basic_challenge(instance: Instance) -> None:
    answer = instance.client().get("/v2/")
    assert answer.status == 401
    assert answer.headers["www-authenticate"] == 'Basic realm="Spectro Pack Registry OCI IT"'


def test_the_read_only_user_reads_and_cannot_write(instance: Instance) -> None:
    reader = instance.reader()
    assert reader.get("/v2/_catalog").status == 200
    assert reader.request("POST", "/v2/packs/spectro-packs/archive/demo/blobs/uploads/", body=b"").status == 403
    assert reader.request("DELETE", "/v2/packs/spectro-packs/archive/demo/manifests/1.0.0").status == 403


def test_the_admin_pushes_and_the_read_only_user_pulls_through_the_proxy(instance: Instance) -> None:
    blob = secrets.token_bytes(256 * 1024)
    repository = "packs/spectro-packs/archive/demo"
    digest = instance.admin().push_blob(repository, blob)
    assert instance.reader().get(f"/v2/{repository}/blobs/{digest}").body == blob


def test_the_registry_is_not_reachable_past_the_proxy(instance: Instance) -> None:
    """The registry listens on the namespace's loopback: from the host, only the proxy's port answers."""
    port_map = docker("port", instance.proxy.id).strip().splitlines()
    assert all(line.startswith("8443/tcp") for line in port_map), port_map


def test_a_registry_published_without_its_proxy_fails_the_gate_naming_the_kind(
    oci_run: ProgramRun, janitor: DockerJanitor, oci_standin_image: str
) -> None:
    """Break the least-privilege promise on purpose: the registry alone, published directly (the state a
    proxy that forwards everything would leave). Its htpasswd auth lets the read-only user start a push,
    and the gate must refuse the instance."""
    spec = oci_run.named("registry-container").inputs
    envs = [e for e in spec["envs"] if not str(e).startswith("REGISTRY_HTTP_ADDR=")]
    envs.append("REGISTRY_HTTP_ADDR=:8443")
    certificate = oci_run.named("registry-proxy-container").inputs["uploads"]
    tls = {u["file"]: u["content"] for u in certificate if u["file"].endswith((".crt", ".key"))}
    uploads = [
        *spec["uploads"],
        {"file": "/certs/tls.crt", "content": tls["/etc/nginx/registry/tls.crt"], "permissions": "0444"},
        {"file": "/certs/tls.key", "content": tls["/etc/nginx/registry/tls.key"], "permissions": "0444"},
    ]
    envs += ["REGISTRY_HTTP_TLS_CERTIFICATE=/certs/tls.crt", "REGISTRY_HTTP_TLS_KEY=/certs/tls.key"]
    mounts = [{**mount, "volumeName": janitor.name("oci-it-bare")} for mount in spec["volumes"]]
    bare = start_container(
        container_spec_with(
            spec, envs=envs, uploads=uploads, volumes=mounts, networkMode="bridge", ports=[{"internal": 8443}]
        ),
        janitor,
        image=oci_standin_image,
    )
    inputs = {k: v for k, v in oci_run.one(READINESS).inputs.items() if k != "__provider"}
    inputs.update(url=bare.url("https"), timeout_seconds=15.0, require_challenge=False)
    with pytest.raises(
        RegistryNotReady, match=r"read-only user 'spectro' was allowed to start a push.*registryKind oci"
    ):
        ReadinessGateProvider().create(inputs)
    remove_container(bare, janitor)


def test_the_programs_pack_is_pushed_through_the_proxy_and_pulled_by_the_read_only_user(
    janitor: DockerJanitor, oci_standin_image: str, proxy_standin_image: str
) -> None:
    """The program's Pack for the sample pack, created by its own provider through the declared proxy (as the
    admin, TLS verified for the endpoint's name); the read-only user then reads the manifest, and the same
    push with the read-only user's password is refused by the proxy."""
    from components.oci_client import OciError
    from components.packs import PackProvider

    run = run_program({**CONFIG, "packs": ["tests/data/packs/hello-universe"]}, stack="dev", use_stack_file=False)
    deployed = deploy(run, janitor, (oci_standin_image, proxy_standin_image), janitor.name("oci-it-packs"))
    ReadinessGateProvider().create(deployed.gate_props())
    record = run.one("pulumi-python:dynamic/packs:Pack")
    inputs = {k: v for k, v in record.inputs.items() if v is not None and k != "__provider"}
    inputs["registry_url"] = deployed.url
    provider = PackProvider()
    created = provider.create(provider.check({}, inputs).inputs)
    manifest = deployed.reader().request(
        "GET",
        "/v2/packs/spectro-packs/archive/hello-universe/manifests/1.0.0",
        headers={"Accept": "application/vnd.oci.image.manifest.v1+json"},
    )
    assert manifest.status == 200
    assert "sha256:" + hashlib.sha256(manifest.body).hexdigest() == created.outs["manifest_digest"]
    reader = {**inputs, "username": "spectro", "password": run.exports["readOnlyPasswords"][0], "version": "2.0.0"}
    with pytest.raises(OciError, match="403"):
        provider.create(provider.check({}, reader).inputs)
