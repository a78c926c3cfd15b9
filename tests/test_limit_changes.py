"""Changing a resource limit on a running registry, the way `pulumi up` applies it on a real Docker engine."""

from __future__ import annotations

import json
from typing import Any

import pytest

from components.config import MIN_MEMORY_LIMIT_MB
from tests import docker_support
from tests.docker_support import DockerJanitor, docker, provider_read_back, remove_container
from tests.harness import MockState, run_program
from tests.test_integration import BASE_CONFIG, CONTAINER, deploy

pytestmark = pytest.mark.integration

docker_engine = docker_support.docker_engine
standin_image = docker_support.standin_image
janitor = docker_support.janitor

FORCE_NEW_LIMITS = {"cpus"}
"""Of the container's limit inputs, only cpus forces a new container; memory and memory_swap have no ForceNew
(kreuzwerker/terraform-provider-docker v4.5.0 internal/provider/resource_docker_container.go)."""


def test_setting_memory_limit_back_to_zero_lifts_the_limit(janitor: DockerJanitor, standin_image: str) -> None:
    """memoryLimitMb 128 -> 0 changes only memory and memorySwap, which are not ForceNew, so unless the program
    asks for a replacement (replace_on_changes) the engine updates the container in place. The provider's
    update (internal/provider/resource_docker_container_funcs.go resourceDockerContainerUpdate) calls
    ContainerUpdate with Memory = memory * 1 MiB = 0 and no MemorySwap (GetOk is false for 0); Docker reads a
    zero Memory in an update as "unchanged", so the container keeps its 128 MB limit while the state says 0,
    and `pulumi refresh` then shows a diff that the next update cannot remove either. `docker update --memory 0`
    sends the same resources (Memory 0, MemorySwap 0, the rest unset)."""
    state = MockState()
    limited = run_program({**BASE_CONFIG, "memoryLimitMb": MIN_MEMORY_LIMIT_MB}, state=state)
    lifted = run_program({**BASE_CONFIG, "memoryLimitMb": 0}, state=state)
    old: dict[str, Any] = limited.one(CONTAINER).inputs
    new: dict[str, Any] = lifted.one(CONTAINER).inputs
    changed = {key for key in old.keys() | new.keys() if old.get(key) != new.get(key)}
    assert changed == {"memory", "memorySwap"}

    name = janitor.name("spectro-registry-it-lift")
    first = deploy(limited, janitor, standin_image, "https", name=name)
    replace_on = set(lifted.one(CONTAINER).options["replace_on_changes"])
    if changed & (FORCE_NEW_LIMITS | replace_on):
        remove_container(first.container, janitor)
        volume = first.container.spec["volumes"][0]["volumeName"]
        running = deploy(lifted, janitor, standin_image, "https", name=name, volume=volume).container.id
    else:
        docker("update", "--memory", "0", "--restart", str(new["restart"]), first.container.id)
        running = first.container.id

    host = json.loads(docker("inspect", "--format", "{{json .HostConfig}}", running))
    assert host["Memory"] == 0, f"still limited to {host['Memory'] // (1 << 20)} MB after memoryLimitMb 0"
    # What the provider reads back on the next refresh matches what the program declares (no memory).
    assert provider_read_back(running)["memory"] == int(new.get("memory") or 0)
