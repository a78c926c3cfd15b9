"""Review of registryKind oci on the real engine: what happens to a deployed OCI instance after `pulumi up`.

The containers are the program's declared registry and proxy (tests/test_oci_integration.py ``deploy``),
run on the stand-in images; the program's own readiness gate judges whether the instance serves.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from components.readiness import ReadinessGateProvider, RegistryNotReady
from tests import docker_support, oci_support
from tests.docker_support import DockerJanitor, docker
from tests.harness import ProgramRun
from tests.test_oci_integration import Instance, deploy, oci_run  # noqa: F401 - the module's fixture

pytestmark = pytest.mark.integration

docker_engine = docker_support.docker_engine
janitor = docker_support.janitor
oci_standin_image = oci_support.oci_standin_image
proxy_standin_image = oci_support.proxy_standin_image


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


def test_an_instance_serves_again_after_its_registry_container_restarts(instance: Instance) -> None:
    """The registry container runs with ``restart: always``: Docker restarts it when the registry exits
    (a crash, the kernel's OOM killer under ``memoryLimitMb``, `docker restart`). A restarted container gets
    a new network namespace (moby releases the sandbox on stop and makes a new one on start), while the
    proxy, which joined the old one (``network_mode: container:<id>``), keeps running there: nginx never
    exits, so its own restart policy never fires, and the published port now leads into a namespace where
    nothing listens on 8443. Nothing brings the instance back until someone restarts the proxy by hand.
    The instance must serve again on its own, as a legacy instance (one container) does."""
    docker("restart", "--time", "5", instance.registry.id)
    deadline = time.monotonic() + 30
    while docker("inspect", "--format", "{{.State.Running}}", instance.registry.id).strip() != "true":
        assert time.monotonic() < deadline, "the registry container did not come back"
        time.sleep(0.2)
    # The host port may move when the engine picked it: read it again.
    instance.registry.host_port = docker_support._published_port(instance.registry.id, 8443)
    try:
        props = instance.gate_props()
        props["timeout_seconds"] = 20.0
        ReadinessGateProvider().create(props)
    except RegistryNotReady as error:
        pytest.fail(f"the instance does not serve after its registry container restarted: {error}", pytrace=False)
