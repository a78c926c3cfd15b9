"""The single-host rotation gap with the graceful stop, against the SIGKILL it replaced.

Gap: from the moment the provider's delete begins (tests/support/docker_support.py ``replace_stop``: ContainerStop
with ``destroy_grace_seconds`` as the timeout, then ContainerRemove) until the rotated container's readiness
gate passes. "before" is the container as the program declared it before the graceful stop (no
REGISTRY_HTTP_DRAINTIMEOUT, no destroy_grace_seconds: stop timeout 0); "after" is today's declaration. An idle
registry drains at once, so the goal is that "after" stays within 2x of "before". Rounds alternate so both
see the same machine load. The medians go into pytest-benchmark's extra_info and docs/benchmarks.md.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from components.kinds.kind import DRAIN_ENV
from components.readiness import ReadinessGateProvider
from tests.support import docker_support
from tests.support.docker_support import DockerJanitor, RunningContainer, replace_stop, start_container
from tests.support.harness import CONTAINER, READINESS, MockState, ProgramRun, run_program
from tests.support.registry_container import BASE_CONFIG
from tests.support.tls_support import free_port

ROUNDS = 3
GOAL_RATIO = 2.0


def _before(spec: dict[str, Any]) -> dict[str, Any]:
    """The declaration before the graceful stop: the same container without the drain and the grace."""
    envs = [entry for entry in spec["envs"] if entry != DRAIN_ENV]
    assert len(envs) == len(spec["envs"]) - 1, "the program no longer declares the drain"
    return {**{k: v for k, v in spec.items() if k != "destroyGraceSeconds"}, "envs": envs}


def test_single_host_rotation_gap_before_and_after_the_graceful_stop(
    benchmark: Any, janitor: DockerJanitor, standin_image: str
) -> None:
    state = MockState()
    config = {**BASE_CONFIG, "dataVolume": janitor.name("spectro-registry-bench-drain-data")}
    runs: list[ProgramRun] = [run_program({**config, "rotationKeeper": str(n)}, state=state) for n in range(2)]
    port = free_port()
    name = janitor.name("spectro-registry-bench-drain")

    def start(index: int, variant: str) -> RunningContainer:
        spec = runs[index % 2].one(CONTAINER).inputs
        spec = _before(spec) if variant == "before" else spec
        return start_container(spec, janitor, image=standin_image, name=name, host_port=port)

    def gate(index: int) -> None:
        inputs = dict(runs[index % 2].one(READINESS).inputs)
        inputs.pop("__provider", None)
        inputs.update(url=f"https://127.0.0.1:{port}", timeout_seconds=30.0)
        ReadinessGateProvider().create(inputs)

    gaps: dict[str, list[float]] = {"before": [], "after": []}
    current: list[Any] = [start(0, "before"), "before"]
    gate(0)
    step = iter(range(1, 4 * ROUNDS + 1))

    def replace(variant: str) -> float:
        index = next(step)
        grace = int(current[0].spec.get("destroyGraceSeconds") or 0)
        began = time.monotonic()
        replace_stop(current[0], janitor, grace)
        current[:] = [start(index, variant), variant]
        gate(index)
        return time.monotonic() - began

    def rotate() -> None:
        for variant in ("before", "after"):
            if current[1] != variant:
                replace(variant)  # untimed: a container of this variant is the one to rotate
            gaps[variant].append(replace(variant))

    try:
        benchmark.pedantic(rotate, rounds=ROUNDS, iterations=1)
    finally:
        docker_support.remove_container(current[0], janitor)
    medians = {variant: statistics.median(values) for variant, values in gaps.items()}
    for variant, values in gaps.items():
        print(f"\nrotation gap {variant}: " + ", ".join(f"{v * 1000:.0f} ms" for v in values))
        benchmark.extra_info[f"rotation_gap_{variant}_median_s"] = round(medians[variant], 4)
    benchmark.extra_info["ratio"] = round(medians["after"] / medians["before"], 2)
    assert medians["after"] <= GOAL_RATIO * medians["before"], medians
