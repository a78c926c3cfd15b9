"""On real engines: the declared container, created the way the provider creates it and read back through the
provider's rules (tests/support/docker_readback.py, restated from kreuzwerker/terraform-provider-docker v4.5.0
resource_docker_container_funcs.go and resource_docker_volume.go), equals what the program declares, so the
second `pulumi up` changes nothing. Host variants: the shared engine; a second dockerd with a daemon.json
of its own (log-opts with ``compress``, IPv6) made by tests/support/second_engine.py; the declarations for hosts
without swap accounting (what tests/program/test_docker_hosts.py gets from simulated ``/info`` answers).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from components.instance import docker_engine as engine_api
from components.instance.docker_engine import EngineFacts
from tests.support.docker_readback import container_drift, volume_drift
from tests.support.docker_support import (
    LABEL,
    DockerJanitor,
    docker,
    inspect_container,
    remove_container,
    start_container,
)
from tests.support.harness import CONTAINER, MockState, ProgramRun, run_program
from tests.support.registry_container import BASE_CONFIG
from tests.support.second_engine import SecondEngine, second_engine
from tests.support.tls_support import free_port

VOLUME = "docker:index/volume:Volume"
LIMITS = {"memoryLimitMb": 128, "cpus": "0.5"}


def _as_created(run: ProgramRun, janitor: DockerJanitor, image: str, role: str) -> tuple[dict[str, Any], str]:
    """The declared container on the engine DOCKER_HOST names, published as declared; returns the inputs
    as the test gave them (its own name, image and volume) and the container id."""
    spec = dict(run.one(CONTAINER).inputs)
    spec["volumes"] = [{**v, "volumeName": janitor.name(v["volumeName"])} for v in spec.get("volumes") or []]
    name = janitor.name(f"{spec['name']}-{role}")
    running = start_container(spec, janitor, image=image, name=name, publish_as_declared=True)
    return {**spec, "name": running.name, "image": image}, running.id


def test_the_shared_engine_reads_back_what_was_declared(janitor: DockerJanitor, standin_image: str) -> None:
    """Ports included, with the address written the long way (the engine reports 0:0::1 as ::1)."""
    run = run_program({**BASE_CONFIG, **LIMITS, "bindAddress": "0:0::1", "port": free_port()})
    declared, container = _as_created(run, janitor, standin_image, "ipv6")
    try:
        inspect = inspect_container(container)
        assert container_drift(declared, inspect) == {}
        assert inspect["NetworkSettings"]["Ports"]["5000/tcp"][0]["HostIp"] == "::1"
    finally:
        docker("rm", "--force", "--volumes", container)


def test_a_host_without_swap_accounting_reads_back_its_declaration(janitor: DockerJanitor, standin_image: str) -> None:
    """What the program declares for such a host (memory_swap -1) is what Docker keeps and reports."""
    run = run_program(
        {**BASE_CONFIG, **LIMITS, "port": free_port()}, engine=lambda *_, **__: EngineFacts(swap_limit=False)
    )
    declared, container = _as_created(run, janitor, standin_image, "noswap")
    try:
        assert declared["memorySwap"] == -1
        assert container_drift(declared, inspect_container(container)) == {}
    finally:
        docker("rm", "--force", "--volumes", container)


@pytest.fixture(scope="module")
def compressing_engine(docker_engine: None, standin_image: str) -> Iterator[SecondEngine]:
    daemon_json = {
        "log-driver": "json-file",
        "log-opts": {"compress": "true", "max-size": "5m"},
        "ipv6": True,
        "fixed-cidr-v6": "fd00:5ec0:d::/64",
        "ip": "::1",
    }
    with second_engine(daemon_json, standin_image) as engine:
        yield engine


def test_an_engine_with_its_own_log_defaults_is_quiet_on_the_second_run(
    compressing_engine: SecondEngine, janitor: DockerJanitor, standin_image: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The daemon merges ``compress`` into the container's json-file options (moby daemon/logs.go
    mergeAndVerifyLogConfig), the provider reads them back (containerLogOptsForState) and log_opts is
    ForceNew: the program declares what the running container has, from the second run on."""
    config = {**BASE_CONFIG, **LIMITS, "dockerHost": compressing_engine.host, "bindAddress": "::1"}
    config["port"] = free_port()
    monkeypatch.setenv("DOCKER_HOST", compressing_engine.host)
    state = MockState()
    first = run_program(config, state=state, engine=engine_api.ask_engine)
    spec = dict(first.one(CONTAINER).inputs)
    name = spec["name"]
    spec["volumes"] = [{**v, "volumeName": janitor.name(v["volumeName"])} for v in spec.get("volumes") or []]
    # The program's own name: the second run asks this engine about that container.
    running = start_container(spec, janitor, image=standin_image, name=name, publish_as_declared=True)
    try:
        inspect = inspect_container(running.id)
        assert inspect["HostConfig"]["LogConfig"]["Config"]["compress"] == "true"
        second = run_program(config, state=state, engine=engine_api.ask_engine)
        declared = {**second.one(CONTAINER).inputs, "image": standin_image, "volumes": spec["volumes"]}
        assert container_drift(declared, inspect) == {}
    finally:
        remove_container(running, janitor)


def test_a_volume_made_outside_is_quiet(janitor: DockerJanitor) -> None:
    """Made by compose (its labels) as a ``local`` volume with driver options (an NFS volume has the same
    shape; a tmpfs stands in for the NFS server): read back (resourceDockerVolumeRead), both ForceNew, and
    ignored by the declared options (the bridge drops them from the diff)."""
    run = run_program({**BASE_CONFIG, "dataVolume": janitor.name("spectro-registry-it-compose")})
    volume = run.one(VOLUME)
    name = volume.inputs["name"]
    docker(
        "volume", "create", "--label", f"{LABEL}={janitor.token}", "--label", "com.docker.compose.project=registry",
        "--label", "com.docker.compose.volume=data", "--driver", "local", "--opt", "type=tmpfs",
        "--opt", "device=tmpfs", "--opt", "o=size=16m", name,
    )  # fmt: skip
    janitor.volumes.append(name)
    inspect = json.loads(docker("volume", "inspect", name))[0]
    assert volume_drift(volume.inputs, inspect, volume.options["ignore_changes"]) == {}
