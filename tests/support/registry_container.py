"""The program's declared registry container deployed on the real engine, for the layers that run it there.

The program is evaluated under the realistic mocks (``BASE_CONFIG``: names for the stand-in's TLS, readiness
paths the stand-in answers); ``deploy`` starts its recorded container from the stand-in image with its named
volume renamed for the test run, and waits until it answers; ``Deployed`` reaches it as a client would.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tests.support.docker_support import DockerJanitor, RunningContainer, container_spec_with, start_container
from tests.support.harness import CONTAINER, READINESS, ProgramRun
from tests.support.registry_client import RegistryClient, wait_until_answering

HOSTS = ["registry.test", "packs.registry.test"]
READ_ONLY_USERS = ["spectro", "ci-reader"]
REALM = "Spectro Pack Registry IT"

BASE_CONFIG: dict[str, Any] = {
    "hosts": HOSTS,
    "ipAddresses": ["127.0.0.1"],
    "port": 5443,
    "bindAddress": "127.0.0.1",
    "readOnlyUsers": READ_ONLY_USERS,
    "authRealm": REALM,
    "containerName": "spectro-registry-it",
    "dataVolume": "spectro-registry-it-data",
    "readinessHealthPath": "/v2/",
    "readinessCatalogPath": "/v2/_catalog",
    "rotationKeeper": "first",
}


@dataclass
class Deployed:
    """One evaluation of the program and the real container made from it."""

    run: ProgramRun
    container: RunningContainer
    scheme: str

    @property
    def url(self) -> str:
        return self.container.url(self.scheme)

    @property
    def ca(self) -> str | None:
        return self.run.exports.get("caCertificate")

    @property
    def users(self) -> dict[str, str]:
        exports = self.run.exports
        users = {exports["adminUser"]: exports["adminPassword"]}
        users.update(zip(exports["readOnlyUsers"], exports["readOnlyPasswords"], strict=True))
        return users

    def client(self, username: str | None = None, password: str | None = None, **kwargs: Any) -> RegistryClient:
        options: dict[str, Any] = {"ca_certificate": self.ca, "server_name": HOSTS[0] if self.ca else None}
        options.update(kwargs)
        return RegistryClient(self.url, username=username, password=password, **options)

    def admin(self) -> RegistryClient:
        user = self.run.exports["adminUser"]
        return self.client(user, self.users[user])

    def gate_props(self, **overrides: Any) -> dict[str, Any]:
        """The program's recorded readiness gate inputs, pointed at the real container."""
        inputs = {k: v for k, v in self.run.one(READINESS).inputs.items() if k != "__provider"}
        inputs.update(url=self.url, timeout_seconds=20.0)
        inputs.update(overrides)
        return {k: v for k, v in inputs.items() if v is not None}


def isolated_spec(run: ProgramRun, janitor: DockerJanitor, volume: str | None = None) -> dict[str, Any]:
    """The recorded container spec with its named volume renamed for this test run."""
    spec = run.one(CONTAINER).inputs
    volumes = []
    for mount in spec.get("volumes") or []:
        mount = dict(mount)
        if mount.get("volumeName"):
            mount["volumeName"] = volume or janitor.name(mount["volumeName"])
        volumes.append(mount)
    return container_spec_with(spec, volumes=volumes)


def deploy(
    run: ProgramRun, janitor: DockerJanitor, image: str, scheme: str, name: str | None = None, **kwargs: Any
) -> Deployed:
    container = start_container(isolated_spec(run, janitor, **kwargs), janitor, image=image, name=name)
    deployed = Deployed(run, container, scheme)
    try:
        wait_until_answering(deployed.url, timeout=30)
    except TimeoutError as error:
        raise AssertionError(f"{error}\ncontainer logs:\n{container.logs()}") from error
    return deployed
