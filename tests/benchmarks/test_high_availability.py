"""What losing or replacing an instance costs, measured on the stand-in image (recorded, not timing-gated).

* second instance: ``docker start`` of a second instance on the shared bucket -> its readiness gate passes;
* failover gap: instance A stopped (``docker stop`` returned) -> a blob read through B succeeds;
* single-host rotation gap: the old container removed -> the rotated one started and its gate passed
  (a single-host stack is out of service for this long on every replacement; several hosts are not).

The numbers go into pytest-benchmark's extra_info, are printed, and are copied into docs/benchmarks.md.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

import pytest

from tests.support import docker_support
from tests.support.docker_support import DockerJanitor, remove_container, start_container, start_created
from tests.support.ha_support import Instance, evaluate, ha_config, start_instance
from tests.support.harness import MockState, run_program
from tests.support.s3_support import S3Server
from tests.support.tls_support import free_port

ROUNDS = 3
SANITY_SECONDS = 15.0
"""Not a target: only catches an instance that never came back."""


def _report(label: str, values: list[float]) -> dict[str, float]:
    print(f"\n{label}: " + ", ".join(f"{value * 1000:.0f} ms" for value in values))
    return {
        f"{label}_min_s": round(min(values), 4),
        f"{label}_median_s": round(statistics.median(values), 4),
        f"{label}_max_s": round(max(values), 4),
    }


@pytest.fixture(scope="module")
def pair(s3_server: S3Server, janitor: DockerJanitor, standin_image: str) -> list[Instance]:
    bucket = s3_server.create_bucket(f"bench-{janitor.token}")
    run = evaluate(ha_config(s3_server.endpoint, bucket, [free_port(), free_port()]))
    instances = [start_instance(run, i, janitor, standin_image) for i in range(2)]
    for instance in instances:
        instance.gate()
    return instances


def test_second_instance_start_to_ready(
    benchmark: Any, pair: list[Instance], janitor: DockerJanitor, standin_image: str
) -> None:
    first = pair[0]
    durations: list[float] = []

    def setup() -> tuple[tuple[Instance], dict[str, Any]]:
        return (start_instance(first.run, 1, janitor, standin_image, start=False),), {}

    def start_and_gate(created: Instance) -> None:
        before = time.monotonic()
        created.container = start_created(created.container)
        created.gate()
        durations.append(time.monotonic() - before)

    def teardown(created: Instance) -> None:
        remove_container(created.container, janitor)

    # The pair's own second instance listens on the same port: out of the way while measuring.
    pair[1].stop()
    try:
        benchmark.pedantic(start_and_gate, setup=setup, teardown=teardown, rounds=ROUNDS, iterations=1)
    finally:
        pair[1].start()
        pair[1].gate()
    benchmark.extra_info.update(_report("second_instance_start_to_ready", durations))
    assert max(durations) < SANITY_SECONDS


def test_failover_gap(benchmark: Any, pair: list[Instance]) -> None:
    a, b = pair
    digest = a.admin().push_blob("packs/failover", b"failover " + bytes(range(256)))
    gaps: list[float] = []

    def stop_a_and_read_through_b() -> None:
        a.stop()
        stopped = time.monotonic()
        deadline = stopped + SANITY_SECONDS
        reader = b.reader()
        while time.monotonic() < deadline:
            try:
                if reader.get(f"/v2/packs/failover/blobs/{digest}").status == 200:
                    break
            except OSError:
                pass
        gaps.append(time.monotonic() - stopped)

    def restart_a() -> None:
        a.start()
        a.gate()

    benchmark.pedantic(stop_a_and_read_through_b, teardown=lambda: restart_a(), rounds=ROUNDS, iterations=1)
    benchmark.extra_info.update(_report("failover_gap", gaps))
    assert max(gaps) < SANITY_SECONDS


def test_single_host_rotation_gap(benchmark: Any, janitor: DockerJanitor, standin_image: str) -> None:
    config = {
        "hosts": ["registry.test"],
        "ipAddresses": ["127.0.0.1"],
        "port": 5443,
        "bindAddress": "127.0.0.1",
        "containerName": "spectro-registry-bench-rotation",
        "dataVolume": janitor.name("spectro-registry-bench-rotation-data"),
        "readinessHealthPath": "/v2/",
        "readinessCatalogPath": "/v2/_catalog",
    }
    state = MockState()
    runs = [run_program({**config, "rotationKeeper": str(n)}, state=state) for n in range(ROUNDS + 1)]
    port = free_port()
    name = janitor.name("spectro-registry-bench-rotation")

    def container_of(index: int) -> docker_support.RunningContainer:
        spec = runs[index].one("docker:index/container:Container").inputs
        return start_container(spec, janitor, image=standin_image, name=name, host_port=port)

    def gate(index: int) -> None:
        from components.readiness import ReadinessGateProvider

        inputs = {k: v for k, v in runs[index].one("pulumi-python:dynamic/registry:ReadinessGate").inputs.items()}
        inputs.pop("__provider", None)
        inputs.update(url=f"https://127.0.0.1:{port}", timeout_seconds=30.0)
        ReadinessGateProvider().create(inputs)

    current = [container_of(0)]
    gate(0)
    gaps: list[float] = []
    rotation = iter(range(1, ROUNDS + 1))

    def rotate() -> None:
        index = next(rotation)
        remove_container(current[0], janitor)
        gone = time.monotonic()
        current[0] = container_of(index)
        gate(index)
        gaps.append(time.monotonic() - gone)

    try:
        benchmark.pedantic(rotate, rounds=ROUNDS, iterations=1)
    finally:
        remove_container(current[0], janitor)
    benchmark.extra_info.update(_report("single_host_rotation_gap", gaps))
    assert max(gaps) < SANITY_SECONDS
