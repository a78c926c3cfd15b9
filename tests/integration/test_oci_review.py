"""Review of registryKind oci on the real engine: what happens to a deployed OCI instance after `pulumi up`.

The containers are the program's declared registry and proxy (tests/integration/test_oci_instance.py ``deploy``),
run on the stand-in images; the program's own readiness gate judges whether the instance serves.
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from components.readiness import ReadinessGateProvider, RegistryNotReady
from tests.integration.test_oci_instance import Instance, deploy, oci_run  # noqa: F401 - the module's fixture
from tests.support import docker_support, oci_support
from tests.support.docker_support import DockerJanitor, docker
from tests.support.harness import ProgramRun


@pytest.fixture
def instance(
    oci_run: ProgramRun,  # noqa: F811
    janitor: DockerJanitor,
    oci_standin_image: str,
    proxy_standin_image: str,
) -> Iterator[Instance]:
    deployed = deploy(oci_run, janitor, (oci_standin_image, proxy_standin_image), janitor.name("oci-review-data"))
    try:
        ReadinessGateProvider().create(deployed.gate_props())
    except RegistryNotReady as error:
        raise AssertionError(f"{error}\n{deployed.logs()}") from error
    yield deployed


def _crash_registry(container: str) -> None:
    """The registry process dies (as under the OOM killer): SIGKILL to the container's own process, by its
    pid on this host; the container's ``restart: always`` policy brings it back, not a user."""
    pid = int(docker("inspect", "--format", "{{.State.Pid}}", container).strip())
    started = docker("inspect", "--format", "{{.State.StartedAt}}", container).strip()
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while docker("inspect", "--format", "{{.State.StartedAt}}", container).strip() == started:
        assert time.monotonic() < deadline, "the restart policy did not restart the registry container"
        time.sleep(0.2)


@pytest.mark.parametrize("how", ["docker restart", "crash and restart policy"])
def test_an_instance_serves_again_after_its_registry_container_restarts(instance: Instance, how: str) -> None:
    """The registry container runs with ``restart: always``: Docker restarts it when the registry exits
    (a crash, the kernel's OOM killer under ``memoryLimitMb``, `docker restart`). A restarted container that
    owned its network namespace gets a new one (moby releases the sandbox on stop and makes a new one on
    start), and a proxy joined to the old one would keep running there, nginx never exiting, the published
    port leading nowhere. So the proxy owns the namespace and the registry joins it
    (``network_mode: container:<proxy id>``): restarted, the registry rejoins the proxy's live namespace,
    and the instance must serve again on its own, as a legacy instance (one container) does."""
    if how == "docker restart":
        docker("restart", "--time", "5", instance.registry.id)
    else:
        _crash_registry(instance.registry.id)
    deadline = time.monotonic() + 30
    while docker("inspect", "--format", "{{.State.Running}}", instance.registry.id).strip() != "true":
        assert time.monotonic() < deadline, "the registry container did not come back"
        time.sleep(0.2)
    # The host port may move when the engine picked it: read it again.
    instance.registry.host_port = docker_support._published_port(instance.proxy.id, 8443)
    try:
        props = instance.gate_props()
        props["timeout_seconds"] = 20.0
        ReadinessGateProvider().create(props)
    except RegistryNotReady as error:
        pytest.fail(f"the instance does not serve after its registry container restarted: {error}", pytrace=False)


def test_replacing_the_proxy_as_the_provider_does_lets_a_download_in_flight_finish(
    instance: Instance, tmp_path: Path
) -> None:
    """The docker provider deletes a container with ``ContainerStop`` and a timeout of
    ``destroy_grace_seconds``, 0 when the program sets none, then a forced remove
    (kreuzwerker/terraform-provider-docker v4.5.0 internal/provider/resource_docker_container_funcs.go
    ``resourceDockerContainerDelete``). A stop timeout of 0 is SIGQUIT followed at once by SIGKILL (moby
    daemon/stop.go): nginx's graceful shutdown (components.oci_proxy.STOP_SIGNAL) never gets to run, and
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


def test_nothing_but_the_proxy_listens_beyond_the_namespaces_loopback(instance: Instance) -> None:
    """The issue: "the registry listens on a network only nginx reaches". The program moves the API to
    127.0.0.1:5000 (REGISTRY_HTTP_ADDR), but the image's config also starts distribution's debug server,
    ``http.debug.addr: :5001`` (the official image's config-example.yml, distribution-library-image; the
    stand-in, scripts/standin/oci.sh, has it too): pprof, expvar and Prometheus metrics, without
    authentication, on every address of the namespace, i.e. on the bridge network (network_mode bridge),
    where any container on that network reaches it past the proxy. Only the proxy's port may listen on a
    non-loopback address."""
    pid = docker("inspect", "--format", "{{.State.Pid}}", instance.registry.id).strip()
    exposed = {(address, port) for address, port in _listening(pid) if not ipaddress.ip_address(address).is_loopback}
    assert {port for _, port in exposed} == {8443}, f"listening beyond loopback: {sorted(exposed)}"


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
    oci_run: ProgramRun,  # noqa: F811
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
    components/storage.py leaves the cache out on purpose, for exactly this reason.) A repository's blobs
    are looked up through that cache (distribution registry/storage/registry.go ``Blobs``:
    ``cache.NewCachedBlobStatter``; manifests are not); a blob delete through one instance clears that
    instance's entry only (registry/storage/linkedblobstore.go ``Delete`` -> ``blobAccessController.Clear``).
    An instance that served the blob before answers from its cache, and the data stays in the store until a
    garbage collection, so it keeps serving the deleted blob, and tells a client pushing it again that it
    is there (HEAD 200: the client skips the upload, and the repository's link stays missing on every other
    instance). Once deleted through the shared endpoint, a blob must be gone from every instance."""
    volume = janitor.name("oci-review-shared")
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
