"""registryKind oci on the real engine: an instance serves again after any restart of its containers, and its
registry's port is reached by its proxy only.

The instance is the program's declared network and two containers (tests/integration/test_oci_instance.py
``deploy``), made from the stand-in images. Each restart is timed from the moment the last restart command
returned until the read-only user's authenticated catalog answers 200 through the published port; the bound is
RESTART_BOUND_SECONDS (docs/oci.md, Restarts, gives the measured figures). The daemon's own restart is in
tests/integration/test_oci_daemon_restart.py.
"""

from __future__ import annotations

import ipaddress
import json
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from components.instance import proxy as oci_proxy
from components.readiness import ReadinessGateProvider, RegistryNotReady
from tests.integration.test_oci_instance import Instance, _listening, deploy
from tests.support import docker_support
from tests.support.docker_support import (
    DockerJanitor,
    docker,
    inspect_container,
    on_networks,
    start_container,
    start_network,
)
from tests.support.harness import ProgramRun

RESTART_BOUND_SECONDS = 15.0
"""How long after a restart the authenticated catalog must answer 200 again: the registry's start (about a second
on the stand-in), nginx's start, and at most RESOLVE_VALID_SECONDS of a cached lookup, with room for a loaded
machine."""

MEASURED: dict[str, float] = {}


@pytest.fixture
def instance(
    oci_run: ProgramRun, janitor: DockerJanitor, oci_standin_image: str, proxy_standin_image: str
) -> Iterator[Instance]:
    deployed = deploy(oci_run, janitor, (oci_standin_image, proxy_standin_image), janitor.name("oci-restart-data"))
    try:
        ReadinessGateProvider().create(deployed.gate_props())
    except RegistryNotReady as error:
        raise AssertionError(f"{error}\n{deployed.logs()}") from error
    yield deployed


@pytest.fixture(scope="module")
def oci_run() -> ProgramRun:
    from tests.integration.test_oci_instance import CONFIG
    from tests.support.harness import run_program

    return run_program(CONFIG, stack="dev", use_stack_file=False)


def _crash(container: str) -> None:
    """The container's own process dies (as under the OOM killer): SIGKILL by its pid on this host; the
    ``restart: always`` policy brings it back, not a user."""
    pid = int(docker("inspect", "--format", "{{.State.Pid}}", container).strip())
    started = docker("inspect", "--format", "{{.State.StartedAt}}", container).strip()
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while docker("inspect", "--format", "{{.State.StartedAt}}", container).strip() == started:
        assert time.monotonic() < deadline, "the restart policy did not restart the container"
        time.sleep(0.1)


CONSECUTIVE = 20
"""Answers in a row, each on a new connection, that count as serving: nginx runs a worker per CPU, each with its
own resolver cache, and a connection goes to any of them."""


def serving_again_within(instance: Instance, bound: float, ca_file: Path) -> float:
    """Seconds until the read-only user's catalog answers 200 through the proxy's published port (read again: an
    engine-picked host port may move when the proxy restarts), CONSECUTIVE times in a row; fails past ``bound``."""
    started = time.monotonic()
    user, password = instance.run.exports["readOnlyUsers"][0], instance.run.exports["readOnlyPasswords"][0]
    last = "nothing"
    first_ok: float | None = None
    in_a_row = 0
    while time.monotonic() - started < bound:
        try:
            port = docker_support._published_port(instance.proxy.id, oci_proxy.PROXY_PORT)
            answer = requests.get(
                f"https://127.0.0.1:{port}/v2/_catalog",
                auth=(user, password),
                verify=str(ca_file),
                timeout=5,
            )
            if answer.status_code == 200:
                instance.registry.host_port = instance.proxy.host_port = port
                first_ok = time.monotonic() if first_ok is None else first_ok
                in_a_row += 1
                if in_a_row >= CONSECUTIVE:
                    return first_ok - started
                continue
            last = f"HTTP {answer.status_code}"
        except (requests.RequestException, docker_support.DockerError) as error:
            last = type(error).__name__
        first_ok, in_a_row = None, 0
        time.sleep(0.05)
    pytest.fail(f"the catalog did not answer 200 within {bound} s of the restart (last: {last})\n{instance.logs()}")


def _restart(container: Callable[[Instance], str]) -> Callable[[Instance], None]:
    return lambda instance: docker("restart", "--time", "5", container(instance)) and None


def _registry(instance: Instance) -> str:
    return instance.registry.id


def _proxy(instance: Instance) -> str:
    return instance.proxy.id


RESTARTS: dict[str, list[Callable[[Instance], None]]] = {
    "registry restarted": [_restart(_registry)],
    "proxy restarted": [_restart(_proxy)],
    "registry then proxy": [_restart(_registry), _restart(_proxy)],
    "proxy then registry": [_restart(_proxy), _restart(_registry)],
    "registry crashed": [lambda instance: _crash(instance.registry.id)],
    "proxy crashed": [lambda instance: _crash(instance.proxy.id)],
    "both stopped, registry started first": [
        lambda instance: docker("stop", "--time", "5", instance.proxy.id, instance.registry.id) and None,
        lambda instance: docker("start", instance.registry.id) and None,
        lambda instance: time.sleep(1),
        lambda instance: docker("start", instance.proxy.id) and None,
    ],
}


@pytest.mark.parametrize("how", list(RESTARTS))
def test_an_instance_serves_again_after_any_restart_of_its_containers(
    instance: Instance, how: str, tmp_path: Path
) -> None:
    """Either container, or both in either order, restarted by `docker restart`, killed and brought back by the
    restart policy, or stopped and started registry first. With the registry in the proxy's network namespace
    (``network_mode: container:<proxy id>``) a restarted proxy got a new namespace and left the registry in the
    old one: every authenticated request answered 502 until someone restarted the registry by hand, and a
    registry started before its proxy did not start ("cannot join network of a non running container"). On the
    private network both stay attached across restarts (Docker keeps a container's networks in its
    configuration), and nginx looks the registry's alias up again (components/instance/proxy.py RESOLVER), so a
    registry back with another address is found."""
    ca_file = tmp_path / "ca.crt"
    ca_file.write_text(instance.run.exports["caCertificate"])
    for step in RESTARTS[how]:
        step(instance)
    seconds = serving_again_within(instance, RESTART_BOUND_SECONDS, ca_file)
    MEASURED[how] = seconds
    print(f"\n[restart figure] {how}: authenticated catalog 200 after {seconds:.2f} s")
    ReadinessGateProvider().create(instance.gate_props())


def _address(container: str, network: str) -> str:
    return str(inspect_container(container)["NetworkSettings"]["Networks"][network]["IPAddress"])


def test_a_registry_back_at_another_address_is_found_again(
    instance: Instance, janitor: DockerJanitor, proxy_standin_image: str, tmp_path: Path
) -> None:
    """The registry stops, another container takes its address on the private network, and the registry starts
    again at a new one: nginx must look the alias up again (components/instance/proxy.py RESOLVER, valid=)
    rather than keep the address it resolved first, which now leads to a container that does not serve."""
    ca_file = tmp_path / "ca.crt"
    ca_file.write_text(instance.run.exports["caCertificate"])
    (network,) = inspect_container(instance.registry.id)["NetworkSettings"]["Networks"]
    before = _address(instance.registry.id, network)
    serving_again_within(instance, RESTART_BOUND_SECONDS, ca_file)  # every worker has looked the alias up
    docker("stop", "--time", "5", instance.registry.id)
    squatter = start_container(
        {"name": "oci-squatter", "networkMode": "bridge", "networksAdvanced": [{"name": network}]},
        janitor,
        image=proxy_standin_image,
    )
    assert _address(squatter.id, network) == before, "the squatter did not take the registry's address"
    docker("start", instance.registry.id)
    assert _address(instance.registry.id, network) != before
    seconds = serving_again_within(instance, RESTART_BOUND_SECONDS, ca_file)
    print(f"\n[restart figure] registry back at another address: authenticated catalog 200 after {seconds:.2f} s")


PROBE_CONFIG = """server {{
    listen 8080;
    resolver 127.0.0.11 valid=1s ipv6=off;
    resolver_timeout 3s;
    location / {{
        set $target "{target}";
        proxy_pass http://$target;
    }}
}}
"""


def _probe(janitor: DockerJanitor, image: str, name: str, networks: list[dict[str, str]]) -> int:
    """A container of the proxy's image that forwards every request to the registry's alias, on ``networks``
    (by name), published on 127.0.0.1; returns its host port."""
    spec = {
        "name": f"oci-reach-probe-{name}",
        "networkMode": "bridge",
        "networksAdvanced": [{"name": "bridge"}, *networks],
        "ports": [{"internal": 8080, "ip": "127.0.0.1", "protocol": "tcp"}],
        "uploads": [
            {
                "file": oci_proxy.CONFIG_FILE,
                "content": PROBE_CONFIG.format(target=oci_proxy.UPSTREAM),
                "permissions": "0444",
            }
        ],
    }
    started = start_container(spec, janitor, image=image)
    return started.host_port


def _status(port: int) -> int:
    """The probe's answer to /v2/, once its nginx listens (docker-proxy accepts and resets before that)."""
    deadline = time.monotonic() + 15
    while True:
        try:
            return requests.get(f"http://127.0.0.1:{port}/v2/", timeout=10).status_code
        except requests.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_the_registrys_port_is_reached_by_its_proxy_only(
    instance: Instance, janitor: DockerJanitor, proxy_standin_image: str
) -> None:
    """Nothing but the proxy reaches the registry: it publishes no port; its only network is the instance's own,
    internal, which only the proxy joins; and the Docker host has no address on that network's bridge
    (``com.docker.network.bridge.inhibit_ipv4``) and so no route to it. A container elsewhere (on "bridge" and
    another user-defined network) that asks Docker's DNS for the registry's alias gets no answer (502); the same
    container on the private network reaches the registry (200: the registry checks no password, which is why
    nothing else may reach it), so the probe can tell."""
    assert docker("port", instance.registry.id).strip() == ""
    network = next(iter(inspect_container(instance.registry.id)["NetworkSettings"]["Networks"]))
    found = json.loads(docker("network", "inspect", network))[0]
    assert found["Internal"] is True
    assert found["Options"] == {"com.docker.network.bridge.inhibit_ipv4": "true"}
    members = {entry["Name"] for entry in found["Containers"].values()}
    assert members == {instance.registry.name, instance.proxy.name}
    bridge = f"br-{found['Id'][:12]}"
    addresses = subprocess.run(["ip", "-4", "-o", "addr", "show", "dev", bridge], capture_output=True, text=True)
    assert addresses.returncode == 0, addresses.stderr
    assert addresses.stdout.strip() == "", f"the host has an address on the private network: {addresses.stdout}"
    subnet = ipaddress.ip_network(found["IPAM"]["Config"][0]["Subnet"])
    routes = subprocess.run(["ip", "-4", "-o", "route", "show"], capture_output=True, text=True, check=True).stdout
    for route in routes.splitlines():
        destination = route.split()[0]
        if destination != "default":
            assert not ipaddress.ip_network(destination, strict=False).overlaps(subnet), route

    elsewhere = docker("network", "create", "--label", f"{docker_support.LABEL}={janitor.token}",
                       janitor.name("oci-reach-elsewhere")).strip()  # fmt: skip
    janitor.networks.append(elsewhere)
    outside = _probe(janitor, proxy_standin_image, "outside", [{"name": elsewhere}])
    assert _status(outside) == 502
    inside = _probe(janitor, proxy_standin_image, "inside", [{"name": network}])
    assert _status(inside) == 200


def test_with_s3_the_registry_listens_on_its_private_address_only(
    janitor: DockerJanitor, oci_standin_image: str, proxy_standin_image: str, tmp_path: Path
) -> None:
    """With S3 the registry is also on an egress network (its route to the bucket), which the Docker host can
    reach: it must listen on its private-network address only (REGISTRY_HTTP_ADDR is its alias; Go's net.Listen
    listens on the one address a host name resolves to), and the proxy must still reach it. The bucket endpoint
    is the registry's own loopback, so nothing leaves the host."""
    from tests.integration.test_oci_instance import CONFIG
    from tests.support.harness import NETWORK, run_program

    config = {**CONFIG, "storage": "s3", "s3Bucket": "packs", "s3Endpoint": "http://127.0.0.1:9", "s3Region": "x"}
    run = run_program(config, stack="dev", use_stack_file=False)
    real = {n.id: start_network({**n.inputs, "name": f"{n.inputs['name']}-s3"}, janitor) for n in run.all(NETWORK)}
    proxy_spec = run.named("registry-proxy-container").inputs
    proxy = start_container(
        on_networks(proxy_spec, real), janitor, image=proxy_standin_image, name=janitor.name("oci-s3-proxy")
    )
    registry = start_container(
        on_networks(run.named("registry-container").inputs, real),
        janitor,
        image=oci_standin_image,
        name=janitor.name("oci-s3-registry"),
    )
    private, egress = (real[n.id] for n in sorted(run.all(NETWORK), key=lambda n: not n.inputs.get("internal")))
    assert set(inspect_container(registry.id)["NetworkSettings"]["Networks"]) == {private, egress}
    pid = docker("inspect", "--format", "{{.State.Pid}}", registry.id).strip()
    deadline = time.monotonic() + 20
    while not [entry for entry in _listening(pid) if entry[1] == oci_proxy.REGISTRY_PORT]:
        assert time.monotonic() < deadline, registry.logs()
        time.sleep(0.1)
    exposed = {entry for entry in _listening(pid) if not ipaddress.ip_address(entry[0]).is_loopback}
    assert exposed == {(_address(registry.id, private), oci_proxy.REGISTRY_PORT)}
    routes = Path(f"/proc/{pid}/net/route").read_text().splitlines()[1:]
    assert any(line.split()[1] == "00000000" for line in routes), "no route out to the bucket"
    user, password = run.exports["readOnlyUsers"][0], run.exports["readOnlyPasswords"][0]
    ca_file = tmp_path / "ca.crt"
    ca_file.write_text(run.exports["caCertificate"])
    answer = None
    while time.monotonic() < deadline:
        port = docker_support._published_port(proxy.id, oci_proxy.PROXY_PORT)
        try:
            answer = requests.get(
                f"https://127.0.0.1:{port}/v2/", auth=(user, password), verify=str(ca_file), timeout=5
            )
        except requests.RequestException:
            answer = None
        if answer is not None and answer.status_code != 502:
            break
        time.sleep(0.1)
    # The registry's answer (its storage health check may already count the unreachable bucket), not nginx's 502.
    assert answer is not None and answer.status_code in (200, 503), answer and answer.status_code
