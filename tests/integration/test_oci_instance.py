"""registryKind oci on the real engine: the program's declared registry and proxy containers, run as declared.

The program is evaluated under the realistic mocks (real passwords, bcrypt hashes, keys and certificates);
its two recorded containers become real containers of the stand-in images (Debian's distribution 2.8
laid out like the official ``registry`` image, Debian's nginx laid out like the official ``nginx`` image;
scripts/standin/), on a real network made from the declared one. The proxy publishes its port on 127.0.0.1 and
joins "bridge" and the private network; the registry joins only the private network, under its alias, as the
declared ``networksAdvanced`` say. The program's own readiness gate (``ReadinessGateProvider``) then proves the
instance, and a plain client checks what a user and Palette would meet. Then what happens to the deployed instance
after `pulumi up`: either container restarted or crashed, in any order, its proxy replaced with a download in
flight, who reaches the registry's port, and two instances sharing one store.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from components.instance import proxy as oci_proxy
from components.readiness import ReadinessGateProvider, RegistryNotReady
from tests.support import oci_support
from tests.support.docker_support import (
    DockerJanitor,
    RunningContainer,
    container_spec_with,
    docker,
    inspect_container,
    on_networks,
    remove_container,
    start_container,
    start_network,
)
from tests.support.harness import NETWORK, READINESS, ProgramRun, run_program
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
    """What `pulumi up` makes of the declared network and two containers (the images swapped for the stand-ins):
    the network, the proxy publishing the port, then the registry on the private network only."""
    suffix = secrets.token_hex(3)
    declared_network = run.one(NETWORK)
    network = start_network({**declared_network.inputs, "name": f"{declared_network.inputs['name']}-{suffix}"}, janitor)
    real = {declared_network.id: network}
    declared = run.named("registry-proxy-container").inputs
    proxy = start_container(
        on_networks(declared, real), janitor, image=images[1], name=janitor.name(f"{declared['name']}-{suffix}")
    )
    registry_spec = run.named("registry-container").inputs
    mounts = [{**mount, "volumeName": volume} for mount in registry_spec["volumes"]]
    registry = start_container(
        on_networks(container_spec_with(registry_spec, volumes=mounts), real),
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


def test_docker_reports_both_containers_on_the_networks_declared(instance: Instance) -> None:
    """The docker provider reads ``network_mode`` back as ``HostConfig.NetworkMode``, verbatim, and never reads
    ``networks_advanced`` back for a resource that has some (kreuzwerker/terraform-provider-docker
    internal/provider/resource_docker_container_funcs.go, ``d.Set("network_mode", ...)`` and the
    "best-effort support for terraform import" branch); both are ForceNew. Docker must report "bridge" for
    both containers, or every ``pulumi up`` would replace them; the registry is on the private network only,
    under its alias, and only the proxy's port is bound to the host."""
    for container in (instance.registry.id, instance.proxy.id):
        assert docker("inspect", "--format", "{{.HostConfig.NetworkMode}}", container).strip() == "bridge"
    network = next(e["name"] for e in instance.registry.spec["networksAdvanced"])
    registry_networks = inspect_container(instance.registry.id)["NetworkSettings"]["Networks"]
    assert set(registry_networks) == {network}
    assert oci_proxy.REGISTRY_HOST in registry_networks[network]["Aliases"]
    assert set(inspect_container(instance.proxy.id)["NetworkSettings"]["Networks"]) == {"bridge", network}
    published = json.loads(docker("inspect", "--format", "{{json .NetworkSettings.Ports}}", instance.proxy.id))
    # Exposed ports are listed with no binding; only the proxy's port is bound to the host.
    assert [port for port, bindings in published.items() if bindings] == ["8443/tcp"]
    assert not any(
        json.loads(docker("inspect", "--format", "{{json .HostConfig.PortBindings}}", instance.registry.id)) or {}
    )


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
            spec,
            envs=envs,
            uploads=uploads,
            volumes=mounts,
            networkMode="bridge",
            networksAdvanced=[],
            ports=[{"internal": 8443}],
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
    from components.packs import PackProvider
    from components.packs.oci_client import OciError

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


def test_replacing_the_proxy_as_the_provider_does_lets_a_download_in_flight_finish(
    instance: Instance, tmp_path: Path
) -> None:
    """The docker provider deletes a container with ``ContainerStop`` and a timeout of
    ``destroy_grace_seconds``, 0 when the program sets none, then a forced remove
    (kreuzwerker/terraform-provider-docker v4.5.0 internal/provider/resource_docker_container_funcs.go
    ``resourceDockerContainerDelete``). A stop timeout of 0 is SIGQUIT followed at once by SIGKILL (moby
    daemon/stop.go): nginx's graceful shutdown (components.instance.proxy.STOP_SIGNAL) never gets to run, and
    every replacement of the proxy (a rotation, a new certificate, a new image, a rolling update) cuts the
    downloads in flight. tests/integration/test_oci_proxy.py proves the graceful stop with
    ``docker stop --time 30``, which is not what `pulumi up` does. The program must give the proxy a grace
    period: stopped with the timeout it declares, a blob being read is still delivered whole."""
    ca_file = tmp_path / "ca.crt"
    ca_file.write_text(instance.run.exports["caCertificate"])
    admin = (instance.run.exports["adminUser"], instance.run.exports["adminPassword"])
    reader = (instance.run.exports["readOnlyUsers"][0], instance.run.exports["readOnlyPasswords"][0])
    repository = "packs/spectro-packs/archive/grace"
    with oci_support.download_in_flight(instance.url, admin, reader, str(ca_file), repository, 90) as download:
        grace = int(instance.run.named("registry-proxy-container").inputs.get("destroyGraceSeconds") or 0)
        docker("stop", "--time", str(grace), instance.proxy.id)
    assert not download.errors, (
        f"the download was cut when the proxy was stopped with a timeout of {grace}s: {download.errors}"
    )
    assert hashlib.sha256(download.received.getvalue()).hexdigest() == download.digest.removeprefix("sha256:")


def _listening(pid: str) -> set[tuple[str, int]]:
    """(address, port) of every TCP socket listening in the network namespace of process ``pid``
    (the host's /proc/<pid>/net/tcp{,6}, state 0A; read on the host, no address of the namespace is dialled)."""
    found = set()
    for table in ("tcp", "tcp6"):
        path = Path(f"/proc/{pid}/net/{table}")
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            fields = line.split()
            address, port = fields[1].split(":")
            if fields[3] != "0A":
                continue
            raw = bytes.fromhex(address)
            if table == "tcp":
                text = str(ipaddress.IPv4Address(raw[::-1]))
            else:
                text = str(ipaddress.IPv6Address(b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4))))
            found.add((text, int(port, 16)))
    return found


def test_the_registry_listens_on_its_private_network_and_its_debug_server_on_loopback(instance: Instance) -> None:
    """The registry's namespace has the loopback and the private network only; the API listens there (every
    address, REGISTRY_HTTP_ADDR :5000), and nothing else does beyond loopback. The image's config also starts
    distribution's debug server, ``http.debug.addr: :5001`` (the official image's config-example.yml,
    distribution-library-image; the stand-in, scripts/standin/oci.sh, has it too): pprof, expvar and Prometheus
    metrics, without authentication; the program moves it to 127.0.0.1, where not even the proxy reaches it."""
    pid = docker("inspect", "--format", "{{.State.Pid}}", instance.registry.id).strip()
    interfaces = {line.split(":")[0].strip() for line in Path(f"/proc/{pid}/net/dev").read_text().splitlines()[2:]}
    assert len(interfaces - {"lo"}) == 1, interfaces
    exposed = {(address, port) for address, port in _listening(pid) if not ipaddress.ip_address(address).is_loopback}
    assert {port for _, port in exposed} == {oci_proxy.REGISTRY_PORT}, f"listening beyond loopback: {sorted(exposed)}"
    assert ("127.0.0.1", 5001) in _listening(pid)


def _push_blob(url: str, admin: tuple[str, str], ca: str, repository: str, content: bytes) -> str:
    """Pushes one blob as the admin (a monolithic upload); returns its digest."""
    digest = "sha256:" + hashlib.sha256(content).hexdigest()
    started = requests.post(f"{url}/v2/{repository}/blobs/uploads/", auth=admin, verify=ca, timeout=30)
    assert started.status_code == 202, started.text
    done = requests.put(
        started.headers["Location"], params={"digest": digest}, data=content, auth=admin, verify=ca, timeout=30
    )
    assert done.status_code == 201, done.text
    return digest


def test_a_blob_deleted_through_one_instance_is_gone_from_every_instance_on_shared_storage(
    oci_run: ProgramRun,
    janitor: DockerJanitor,
    oci_standin_image: str,
    proxy_standin_image: str,
    tmp_path: Path,
) -> None:
    """Several OCI instances on the filesystem share one store (the same file system mounted on every host,
    the host path check_shared_data asks for with several dockerHosts; here one volume mounted by two
    instances), but each keeps
    distribution's blob descriptor cache in its own memory: the image's config has
    ``storage.cache.blobdescriptor: inmemory`` (distribution-library-image config-example.yml; the
    stand-in, scripts/standin/oci.sh, has it too), and for filesystem storage the program keeps the image's
    storage section. (S3 storage is not affected: ``REGISTRY_STORAGE=s3`` replaces that section, and
    components/instance/storage.py leaves the cache out on purpose, for exactly this reason.) A repository's blobs
    are looked up through that cache (distribution registry/storage/registry.go ``Blobs``:
    ``cache.NewCachedBlobStatter``; manifests are not); a blob delete through one instance clears that
    instance's entry only (registry/storage/linkedblobstore.go ``Delete`` -> ``blobAccessController.Clear``).
    An instance that served the blob before answers from its cache, and the data stays in the store until a
    garbage collection, so it keeps serving the deleted blob, and tells a client pushing it again that it
    is there (HEAD 200: the client skips the upload, and the repository's link stays missing on every other
    instance). Once deleted through the shared endpoint, a blob must be gone from every instance."""
    volume = janitor.name("oci-it-shared")
    images = (oci_standin_image, proxy_standin_image)
    first = deploy(oci_run, janitor, images, volume)
    second = deploy(oci_run, janitor, images, volume)
    for instance in (first, second):
        ReadinessGateProvider().create(instance.gate_props())
    ca_file = tmp_path / "ca.crt"
    ca_file.write_text(oci_run.exports["caCertificate"])
    ca = str(ca_file)
    admin = (oci_run.exports["adminUser"], oci_run.exports["adminPassword"])
    reader = (oci_run.exports["readOnlyUsers"][0], oci_run.exports["readOnlyPasswords"][0])
    repository = "packs/spectro-packs/archive/deleted"
    digest = _push_blob(first.url, admin, ca, repository, os.urandom(4096))

    def head(instance: Instance) -> int:
        url = f"{instance.url}/v2/{repository}/blobs/{digest}"
        return requests.head(url, auth=reader, verify=ca, timeout=30).status_code

    assert (head(first), head(second)) == (200, 200)
    deleted = requests.delete(f"{first.url}/v2/{repository}/blobs/{digest}", auth=admin, verify=ca, timeout=30)
    assert deleted.status_code == 202, deleted.text
    assert head(first) == 404
    assert head(second) == 404, "the other instance still reports the deleted blob from its in-memory cache"
