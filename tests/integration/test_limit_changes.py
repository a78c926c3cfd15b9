"""Changing a memory limit on a running registry: why the program replaces the container instead of updating it.

The declared ``replace_on_changes=["memory"]`` is asserted in tests/program/test_docker_hosts.py
(test_a_memory_change_replaces_the_container); this file shows on the real engine what that option is for.
"""

from __future__ import annotations

from components.config import MIN_MEMORY_LIMIT_MB
from tests.support.docker_readback import container_state
from tests.support.docker_support import DockerJanitor, docker, inspect_container, remove_container
from tests.support.harness import CONTAINER, MockState, run_program
from tests.support.registry_container import BASE_CONFIG, deploy

MIB = 1024 * 1024


def test_an_in_place_update_cannot_lift_a_memory_limit(janitor: DockerJanitor, standin_image: str) -> None:
    """memoryLimitMb 128 -> 0 changes only memory and memorySwap, neither ForceNew
    (kreuzwerker/terraform-provider-docker v4.5.0 internal/provider/resource_docker_container.go), so without
    replace_on_changes the engine would update in place: resourceDockerContainerUpdate
    (resource_docker_container_funcs.go) sends ContainerUpdate with Memory = 0 * 1 MiB and no MemorySwap
    (GetOk is false for 0), the resources `docker update --memory 0` sends. Docker keeps the limit: the
    state would say 0 while the container stays limited, and no later update could lift it."""
    state = MockState()
    limited = run_program({**BASE_CONFIG, "memoryLimitMb": MIN_MEMORY_LIMIT_MB}, state=state)
    lifted = run_program({**BASE_CONFIG, "memoryLimitMb": 0}, state=state)
    old, new = limited.one(CONTAINER).inputs, lifted.one(CONTAINER).inputs
    assert {key for key in old.keys() | new.keys() if old.get(key) != new.get(key)} == {"memory", "memorySwap"}

    name = janitor.name("spectro-registry-it-lift")
    first = deploy(limited, janitor, standin_image, "https", name=name)
    docker("update", "--memory", "0", "--restart", str(new["restart"]), first.container.id)
    inspect = inspect_container(first.container.id)
    assert inspect["HostConfig"]["Memory"] == MIN_MEMORY_LIMIT_MB * MIB
    # What a refresh would then store, against the 0 the program declares: a diff no update removes.
    assert container_state(inspect, new)["memory"] == MIN_MEMORY_LIMIT_MB != int(new.get("memory") or 0)

    # The replacement the program asks for instead: a new container from the new inputs has no limit.
    remove_container(first.container, janitor)
    volume = first.container.spec["volumes"][0]["volumeName"]
    second = deploy(lifted, janitor, standin_image, "https", name=name, volume=volume)
    assert container_state(inspect_container(second.container.id), new)["memory"] == 0
    remove_container(second.container, janitor)
