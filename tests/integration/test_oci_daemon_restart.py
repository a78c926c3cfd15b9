"""registryKind oci across a restart of the Docker daemon (as on a host's reboot), on the suite's second engine.

The declared network and two containers are made on a second dockerd of its own (tests/support/second_engine.py,
never the main one); the daemon is then stopped (it stops its containers) and started again, and its ``restart:
always`` containers come back in an order of Docker's choosing. With the registry in the proxy's network namespace,
Docker does not promise to order ``container:`` dependencies on start (docker/for-linux#1299): a registry started
before its proxy fails with "cannot join network of a non running container" and is not tried again (this engine,
Docker 20.10, happened to start the old pair in order in three restarts). On the private network the order does
not matter; the authenticated catalog must answer 200 within RESTART_BOUND_SECONDS of the daemon answering again.

The second engine runs with ``--iptables=false`` (so that the main engine's rules stay untouched), which also means
it does not add the rule an engine adds for each of its bridges, accepting forwarded traffic between two containers
of one network. This host's FORWARD policy is DROP (the main engine's) and bridged traffic goes through it
(``net.bridge.bridge-nf-call-iptables``), so the test adds that one rule for the private network's bridge to
``DOCKER-USER`` (the chain Docker leaves to users) and removes it at the end. An engine run with iptables off in
production needs the same.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from components.readiness import ReadinessGateProvider
from tests.integration.test_oci_instance import CONFIG, Instance, deploy
from tests.integration.test_oci_restarts import RESTART_BOUND_SECONDS, serving_again_within
from tests.support.docker_support import DockerJanitor, docker, inspect_container
from tests.support.harness import ProgramRun, run_program
from tests.support.second_engine import SecondEngine, second_engine


@pytest.fixture(scope="module")
def oci_run() -> ProgramRun:
    return run_program(CONFIG, stack="dev", use_stack_file=False)


@pytest.fixture
def engine(oci_standin_image: str, proxy_standin_image: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[SecondEngine]:
    """The second engine with both stand-in images, and every docker command of the test pointed at it."""
    with second_engine({}, oci_standin_image) as started:
        saved = subprocess.run(["docker", "save", proxy_standin_image], capture_output=True, check=True).stdout
        subprocess.run(["docker", "-H", started.host, "load", "-q"], input=saved, capture_output=True, check=True)
        monkeypatch.setenv("DOCKER_HOST", started.host)
        yield started
        monkeypatch.delenv("DOCKER_HOST")


@contextmanager
def forwarding_within(bridge: str) -> Iterator[None]:
    """Accepts forwarded traffic from ``bridge`` to itself (and nothing else) while the block runs."""
    rule = ["DOCKER-USER", "-i", bridge, "-o", bridge, "-j", "ACCEPT"]
    subprocess.run(["iptables", "-I", *rule], check=True, capture_output=True)
    try:
        yield
    finally:
        subprocess.run(["iptables", "-D", *rule], check=False, capture_output=True)


def test_an_instance_serves_again_after_the_docker_daemon_restarts(
    engine: SecondEngine,
    oci_run: ProgramRun,
    janitor: DockerJanitor,
    oci_standin_image: str,
    proxy_standin_image: str,
    tmp_path: Path,
) -> None:
    deployed = deploy(oci_run, janitor, (oci_standin_image, proxy_standin_image), janitor.name("oci-daemon-data"))
    ca_file = tmp_path / "ca.crt"
    ca_file.write_text(oci_run.exports["caCertificate"])
    (network,) = inspect_container(deployed.registry.id)["NetworkSettings"]["Networks"]
    network_id = docker("network", "inspect", "--format", "{{.Id}}", network).strip()
    with forwarding_within(f"br-{network_id[:12]}"):
        _restarts(engine, deployed, ca_file)


def _restarts(engine: SecondEngine, deployed: Instance, ca_file: Path) -> None:
    serving_again_within(deployed, 30.0, ca_file)
    for _ in range(2):
        answered = engine.restart()
        seconds = serving_again_within(deployed, RESTART_BOUND_SECONDS, ca_file)
        started = {
            name: docker("inspect", "--format", "{{.State.StartedAt}}", container).strip()
            for name, container in (("registry", deployed.registry.id), ("proxy", deployed.proxy.id))
        }
        order = "registry first" if started["registry"] < started["proxy"] else "proxy first"
        print(
            f"\n[restart figure] daemon restarted (answered after {answered:.2f} s, {order}): authenticated "
            f"catalog 200 after {seconds:.2f} s"
        )
        time.sleep(0.5)
    ReadinessGateProvider().create(deployed.gate_props())
