"""Two registry instances from one evaluation of the program, on the local engine, sharing moto's bucket.

Both Docker hosts of the config reach the engine of this machine: ``unix:///var/run/docker.sock`` and
``unix:///run/docker.sock`` (``/var/run`` is a link to ``/run``), two distinct URLs as two hosts would have.
Each instance's container runs with host networking, the registry listening on its own 127.0.0.1 port,
so it reaches moto on 127.0.0.1 and nothing leaves the loopback interface. The program's
``readinessUrls`` point its gates at those ports; TLS is verified for the first of ``hosts``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from components.readiness import ReadinessGateProvider
from tests.support.docker_support import DockerJanitor, RunningContainer, docker, start_container
from tests.support.harness import MockState, ProgramRun, Recorded, run_program
from tests.support.registry_client import RegistryClient
from tests.support.s3_support import ACCESS_KEY, REGION, SECRET_KEY

CONTAINER = "docker:index/container:Container"
READINESS = "pulumi-python:dynamic/registry:ReadinessGate"
DOCKER_HOSTS = ["unix:///var/run/docker.sock", "unix:///run/docker.sock"]
HOSTS = ["registry.test"]
ROOT_DIRECTORY = "/packs"
S3_SECRETS = {"s3AccessKey", "s3SecretKey"}


def ha_config(endpoint: str, bucket: str, ports: list[int], **more: Any) -> dict[str, Any]:
    """The stack config of an HA deployment on this machine: one instance per port."""
    return {
        "hosts": HOSTS,
        "ipAddresses": ["127.0.0.1"],
        "port": 5443,
        "bindAddress": "127.0.0.1",
        "readOnlyUsers": ["spectro"],
        "containerName": "spectro-registry-ha",
        "readinessHealthPath": "/v2/",
        "readinessCatalogPath": "/v2/_catalog",
        "storage": "s3",
        "s3Bucket": bucket,
        "s3Region": REGION,
        "s3Endpoint": endpoint,
        "s3AccessKey": ACCESS_KEY,
        "s3SecretKey": SECRET_KEY,
        "s3RootDirectory": ROOT_DIRECTORY,
        "dockerHosts": DOCKER_HOSTS[: len(ports)],
        "readinessUrls": [f"https://127.0.0.1:{port}" for port in ports],
        **more,
    }


def evaluate(config: dict[str, Any], state: MockState | None = None) -> ProgramRun:
    return run_program(config, state=state, secrets_=S3_SECRETS, use_stack_file=False)


@dataclass
class Instance:
    """One instance of a program run, running as a real container."""

    run: ProgramRun
    index: int
    container: RunningContainer

    @property
    def url(self) -> str:
        return self.container.url("https")

    def client(self, user: str | None = None, password: str | None = None, timeout: float = 10.0) -> RegistryClient:
        return RegistryClient(
            self.url,
            ca_certificate=self.run.exports["caCertificate"],
            server_name=HOSTS[0],
            username=user,
            password=password,
            timeout=timeout,
        )

    def admin(self) -> RegistryClient:
        return self.client(self.run.exports["adminUser"], self.run.exports["adminPassword"])

    def reader(self) -> RegistryClient:
        return self.client(self.run.exports["readOnlyUsers"][0], self.run.exports["readOnlyPasswords"][0])

    def gate(self, timeout: float = 30.0) -> dict[str, Any]:
        """Runs the program's own readiness gate for this instance; returns its outputs."""
        result = ReadinessGateProvider().create(gate_props(self.run, self.index, timeout_seconds=timeout))
        assert result.outs is not None
        return result.outs

    def stop(self) -> None:
        docker("stop", "--time", "5", self.container.id)

    def start(self) -> None:
        docker("start", self.container.id)


def gate_of(run: ProgramRun, index: int) -> Recorded:
    """Instance ``index``'s readiness gate, in the order of dockerHosts (the program's instanceEndpoints),
    whatever order the registrations reached the engine in."""
    url = run.exports["instanceEndpoints"][index]
    (gate,) = [g for g in run.all(READINESS) if g.inputs["url"] == url]
    return gate


def container_of(run: ProgramRun, index: int) -> Recorded:
    """Instance ``index``'s container: the one its gate depends on."""
    (container,) = [c for c in run.all(CONTAINER) if c.urn in gate_of(run, index).options["dependencies"]]
    return container


def gate_props(run: ProgramRun, index: int, **overrides: Any) -> dict[str, Any]:
    inputs = {k: v for k, v in gate_of(run, index).inputs.items() if k != "__provider"}
    inputs.update(overrides)
    return {k: v for k, v in inputs.items() if v is not None}


def port_of(run: ProgramRun, index: int) -> int:
    return int(gate_of(run, index).inputs["url"].rsplit(":", 1)[1])


def start_instance(run: ProgramRun, index: int, janitor: DockerJanitor, image: str, *, start: bool = True) -> Instance:
    spec = container_of(run, index).inputs
    name = janitor.name(f"spectro-registry-ha-{index}-{time.monotonic_ns() % 10**6}")
    container = start_container(
        spec, janitor, image=image, name=name, host_network_port=port_of(run, index), start=start
    )
    return Instance(run, index, container)
