"""How fast the readiness gate notices a registry that has come up.

Two measurements:

* listen -> ready: from the moment the server's port is bound until the gate reports ready. Target:
  under 0.5 s (the gate polls every 0.1 s by default). Measured against the local fake registry (real TLS,
  real CA) and against the real stand-in container, where "listening" is the time the registry logs
  "listening on [::]:5000".
* container start -> ready: from ``docker start`` until the gate reports ready, on the stand-in image.

The numbers go into pytest-benchmark's extra_info and are printed.
"""

from __future__ import annotations

import datetime
import re
import statistics
import time
from contextlib import ExitStack
from typing import Any

import pytest

from components.readiness.gate import DEFAULT_INTERVAL_SECONDS, ReadinessGateProvider
from tests.support.docker_support import (
    DockerJanitor,
    RunningContainer,
    remove_container,
    start_container,
    start_created,
)
from tests.support.harness import ProgramRun, run_program
from tests.support.tls_support import Authority, FakeRegistry, serve_registry

TARGET_SECONDS = 0.5
SANITY_SECONDS = 5.0
HOST = "registry.test"
USERS = {"admin": "bench-Admin-Pw-1", "spectro": "bench-Reader-Pw-2"}


def _report(label: str, values: list[float]) -> dict[str, float]:
    summary = {
        f"{label}_min_s": round(min(values), 4),
        f"{label}_median_s": round(statistics.median(values), 4),
        f"{label}_max_s": round(max(values), 4),
    }
    print(f"\n{label}: " + ", ".join(f"{value * 1000:.0f} ms" for value in values))
    return summary


def test_gate_latency_from_listen_to_ready(benchmark: Any) -> None:
    authority = Authority.create()
    leaf = authority.issue([HOST], ["127.0.0.1"])
    latencies: list[float] = []
    stack = ExitStack()

    def setup() -> tuple[tuple[FakeRegistry], dict[str, Any]]:
        registry = stack.enter_context(serve_registry(users=USERS, leaf=leaf, start_after=0.2))
        return (registry,), {}

    def gate(registry: FakeRegistry) -> None:
        ReadinessGateProvider().create(
            {
                "url": registry.url,
                "server_name": HOST,
                "ca_certificate": authority.certificate_pem,
                "username": "spectro",
                "password": USERS["spectro"],
                "timeout_seconds": 10.0,
            }
        )
        latencies.append(time.monotonic() - registry.bound_at[0])

    try:
        benchmark.pedantic(gate, setup=setup, teardown=lambda *_: stack.close(), rounds=5, iterations=1)
    finally:
        stack.close()
    benchmark.extra_info.update(_report("fake_listen_to_ready", latencies))
    benchmark.extra_info["interval_s"] = DEFAULT_INTERVAL_SECONDS
    benchmark.extra_info["target_s"] = TARGET_SECONDS
    assert len(latencies) == 5
    # A benchmark, not a timed test: the target goes in docs/benchmarks.md; this bound only catches a gate that
    # stopped polling (a loaded CI machine must not fail the run for a few hundred milliseconds).
    assert max(latencies) < SANITY_SECONDS


_LISTENING = re.compile(r'time="(?P<stamp>[^"]+)" level=info msg="listening on ')


def _listening_at(container: RunningContainer) -> float:
    """Wall-clock time (epoch seconds) at which the registry logged that it listens.

    The container shares the host's clock, so this lines up with ``time.time()`` here. A side poller
    would measure its own luck instead: docker-proxy accepts on the host port before the registry
    listens, and a connection made then can stall for a second.
    """
    logs = container.logs(tail="all")
    match = _LISTENING.search(logs)
    assert match, f"no 'listening on' line in the registry log:\n{logs[-2000:]}"
    stamp = match["stamp"].removesuffix("Z")
    whole, _, fraction = stamp.partition(".")
    moment = datetime.datetime.fromisoformat(whole).replace(tzinfo=datetime.UTC)
    return moment.timestamp() + float(f"0.{fraction or '0'}")


@pytest.fixture(scope="module")
def bench_run() -> ProgramRun:
    return run_program(
        {
            "hosts": [HOST],
            "ipAddresses": ["127.0.0.1"],
            "port": 5443,
            "bindAddress": "127.0.0.1",
            "containerName": "spectro-registry-bench",
            "dataVolume": "spectro-registry-bench-data",
            "readinessHealthPath": "/v2/",
            "readinessCatalogPath": "/v2/_catalog",
        }
    )


def test_gate_from_container_start_to_ready(
    benchmark: Any, bench_run: ProgramRun, janitor: DockerJanitor, standin_image: str
) -> None:
    spec = dict(bench_run.one("docker:index/container:Container").inputs)
    spec["volumes"] = [
        {**mount, "volumeName": janitor.name(mount["volumeName"])} if mount.get("volumeName") else mount
        for mount in spec["volumes"]
    ]
    gate_inputs = {
        k: v
        for k, v in bench_run.one("pulumi-python:dynamic/registry:ReadinessGate").inputs.items()
        if k != "__provider"
    }
    start_to_ready: list[float] = []
    listen_to_ready: list[float] = []
    containers: list[RunningContainer] = []

    def setup() -> tuple[tuple[RunningContainer], dict[str, Any]]:
        created = start_container(
            spec, janitor, image=standin_image, name=janitor.name("spectro-registry-bench"), start=False
        )
        containers.append(created)
        return (created,), {}

    def start_and_gate(created: RunningContainer) -> None:
        before_start = time.monotonic()
        running = start_created(created)
        ReadinessGateProvider().create({**gate_inputs, "url": running.url("https"), "timeout_seconds": 30.0})
        ready_wall, ready_at = time.time(), time.monotonic()
        start_to_ready.append(ready_at - before_start)
        listen_to_ready.append(ready_wall - _listening_at(running))

    def teardown(created: RunningContainer) -> None:
        remove_container(created, janitor)

    try:
        benchmark.pedantic(start_and_gate, setup=setup, teardown=teardown, rounds=3, iterations=1)
    finally:
        for container in containers:
            janitor.remove_container(container.id)
    benchmark.extra_info.update(_report("container_start_to_ready", start_to_ready))
    benchmark.extra_info.update(_report("container_listen_to_ready", listen_to_ready))
    benchmark.extra_info["target_s"] = TARGET_SECONDS
    assert max(listen_to_ready) < SANITY_SECONDS
    # Not a target, a sanity bound: the stand-in starts in well under a second on 2 cores.
    assert max(start_to_ready) < 10
