"""Stand-in for pulumi-docker: RemoteImage, Volume, Network and Container on the provider's Docker host, through
the docker CLI, the way kreuzwerker/terraform-provider-docker drives the Engine API (internal/provider/
resource_docker_{image,volume,network,container}*.go). It never pulls: an image must already be on the host
(scripts/build-standin-image.sh builds the stand-in images). A resource type it does not serve fails the step
(tests/cli/plugins/server.py ``UnknownType``).
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tests.cli.plugins.docker_host import TIMEOUT, DockerHost
from tests.cli.plugins.server import (
    UNKNOWN,
    Props,
    ResourceType,
    StandinProvider,
    changed_keys,
    plugin_version,
    serve,
)
from tests.support.docker_support import upload_tar
from tests.support.provider_material import CONTAINER, IMAGE, NETWORK, VOLUME

_SETTLE_SECONDS = 0.5
"""How long a started container must stay up for ``mustRun`` (with restart=always a crash is a restart)."""


def _repo_digest(name: str, image: Mapping[str, Any]) -> str:
    """data_source_docker_image.go determineRepoDigest: the digest of the image's repository, else the first."""
    digests = list(image.get("RepoDigests") or [])
    repository = name.rsplit(":", 1)[0] if ":" in name.rsplit("/", 1)[-1] else name
    return next((d for d in digests if d.startswith(f"{repository}@")), digests[0] if digests else "")


class _OnHost(ResourceType):
    """A resource type that lives on the provider's Docker host."""

    def __init__(self, docker: DockerHost) -> None:
        self.docker = docker


class RemoteImage(_OnHost):
    """Found on the host, never pulled; ``keep_locally`` and ``force_remove`` change in place, the rest is
    ForceNew (resource_docker_image.go)."""

    token = IMAGE
    computed = ("imageId", "repoDigest")
    in_place = frozenset({"keepLocally", "forceRemove"})

    def _found(self, name: str) -> tuple[str, Props] | None:
        image = self.docker.inspect("image", name)
        if image is None:
            return None
        # The provider's id is the image id followed by the name (resource_docker_image_funcs.go).
        return image["Id"] + name, {"imageId": image["Id"], "repoDigest": _repo_digest(name, image)}

    def create(self, inputs: Props) -> tuple[str, Props]:
        name = str(inputs["name"])
        found = self._found(name)
        if found is None:
            raise LookupError(
                f"image '{name}' is not on {self.docker.where} and the stand-in never pulls: build it there first "
                "(scripts/build-standin-image.sh)"
            )
        return found[0], {**inputs, **found[1]}

    def read(self, id_: str, state: Props, inputs: Props) -> tuple[str, Props, Props]:
        found = self._found(str(state.get("name") or inputs.get("name")))
        if found is None:
            return "", {}, {}
        return found[0], {**state, **found[1]}, inputs

    def delete(self, id_: str, state: Props) -> None:
        if not state.get("keepLocally"):
            self.docker.run("image", "rm", str(state["name"]), missing_ok=True)


class Volume(_OnHost):
    """Every argument is ForceNew (resource_docker_volume.go)."""

    token = VOLUME
    computed = ("driver", "mountpoint")

    def create(self, inputs: Props) -> tuple[str, Props]:
        args = ["volume", "create"]
        if inputs.get("driver"):
            args += ["--driver", str(inputs["driver"])]
        for key, value in sorted((inputs.get("driverOpts") or {}).items()):
            args += ["--opt", f"{key}={value}"]
        for label in inputs.get("labels") or []:
            args += ["--label", f"{label['label']}={label['value']}"]
        if inputs.get("name"):
            args.append(str(inputs["name"]))
        name = str(self.docker.run(*args)).strip()
        volume = self.docker.inspect("volume", name) or {}
        return name, {**inputs, "name": name, "driver": volume.get("Driver"), "mountpoint": volume.get("Mountpoint")}

    def read(self, id_: str, state: Props, inputs: Props) -> tuple[str, Props, Props]:
        return (id_, state, inputs) if self.docker.inspect("volume", id_) else ("", {}, {})

    def delete(self, id_: str, state: Props) -> None:
        self.docker.run("volume", "rm", id_, missing_ok=True)


class Network(_OnHost):
    """Every argument is ForceNew (resource_docker_network.go); the read gives back what Docker reports
    (resourceDockerNetworkReadRefreshFunc: driver, internal, options, ipam_config, scope)."""

    token = NETWORK
    computed = ("scope", "ipamConfig")

    def create(self, inputs: Props) -> tuple[str, Props]:
        unknown = set(inputs) - {"name", "driver", "internal", "options", "labels"}
        if unknown:
            raise ValueError(f"the docker stand-in does not create a network with {sorted(unknown)}")
        args = ["network", "create"]
        if inputs.get("driver"):
            args += ["--driver", str(inputs["driver"])]
        if inputs.get("internal"):
            args.append("--internal")
        for key, value in sorted((inputs.get("options") or {}).items()):
            args += ["--opt", f"{key}={value}"]
        for label in inputs.get("labels") or []:
            args += ["--label", f"{label['label']}={label['value']}"]
        network_id = str(self.docker.run(*args, str(inputs["name"]))).strip()
        return network_id, self._reported(network_id, inputs)

    def _reported(self, network_id: str, inputs: Props) -> Props:
        found = self.docker.inspect("network", network_id) or {}
        ipam = [
            {"subnet": c.get("Subnet", ""), "gateway": c.get("Gateway", "")}
            for c in (found.get("IPAM") or {}).get("Config") or []
        ]
        return {
            **inputs,
            "driver": found.get("Driver"),
            "internal": bool(found.get("Internal")),
            "options": found.get("Options") or {},
            "scope": found.get("Scope"),
            "ipamConfig": ipam,
        }

    def read(self, id_: str, state: Props, inputs: Props) -> tuple[str, Props, Props]:
        if self.docker.inspect("network", id_) is None:
            return "", {}, {}
        return id_, self._reported(id_, state), inputs

    def delete(self, id_: str, state: Props) -> None:
        self.docker.run("network", "rm", id_, missing_ok=True)


def _as_set(value: object) -> object:
    """A schema.TypeSet as the provider compares it: order does not count, in the set or in its nested sets."""
    if value == UNKNOWN or not isinstance(value, list):
        return value
    items = [
        {k: sorted(v) if isinstance(v, list) else v for k, v in item.items()} if isinstance(item, dict) else item
        for item in value
    ]
    return sorted(items, key=lambda item: json.dumps(item, sort_keys=True))


SET_INPUTS = ("networksAdvanced",)
"""Container inputs that are sets in the provider's schema (resource_docker_container.go: ``networks_advanced``,
TypeSet, with ``aliases`` a set too, ForceNew): another order is no change."""


class Container(_OnHost):
    """Created, given its uploads, started (resourceDockerContainerCreate). The arguments that are not
    ForceNew in resource_docker_container.go change in place; resourceDockerContainerUpdate applies restart and
    the memory limits (``docker update``) and starts a stopped container whose ``must_run`` is back to true."""

    token = CONTAINER
    in_place = frozenset(
        {
            "attach",
            "containerReadRefreshTimeoutMilliseconds",
            "cpuPeriod",
            "cpuQuota",
            "cpuSet",
            "cpuShares",
            "destroyGraceSeconds",
            "deviceReadBps",
            "deviceReadIops",
            "deviceWriteBps",
            "deviceWriteIops",
            "healthcheck",
            "init",
            "logs",
            "maxRetryCount",
            "memory",
            "memoryReservation",
            "memorySwap",
            "mustRun",
            "removeVolumes",
            "restart",
            "rm",
            "start",
            "tmpfs",
            "wait",
            "waitTimeout",
        }
    )

    def diff(self, state: Props, old_inputs: Props, news: Props) -> tuple[list[str], list[str]]:
        olds = {k: _as_set(v) if k in SET_INPUTS else v for k, v in old_inputs.items()}
        changed = changed_keys(olds, {k: _as_set(v) if k in SET_INPUTS else v for k, v in news.items()})
        return changed, [key for key in changed if key not in self.in_place]

    def create(self, inputs: Props) -> tuple[str, Props]:
        envs = [str(entry) for entry in inputs.get("envs") or []]
        if any("\n" in entry for entry in envs):
            raise ValueError("an env value spans lines: docker env files cannot carry it")
        with tempfile.TemporaryDirectory() as directory:
            # An env file keeps values such as REGISTRY_HTTP_SECRET off the process list.
            env_file = Path(directory, "env")
            env_file.touch(mode=0o600)
            env_file.write_text("".join(f"{entry}\n" for entry in envs))
            created = self.docker.run(*_create_args(inputs), "--env-file", str(env_file), str(inputs["image"]))
        container_id = str(created).strip()
        try:
            self._join(container_id, inputs.get("networksAdvanced") or [])
            if inputs.get("uploads"):
                self.docker.run("cp", "-", f"{container_id}:/", input_=upload_tar(list(inputs["uploads"])))
            if inputs.get("start", True):
                self._start(container_id, inputs)
        except Exception:
            # Nothing is left behind for a failed create: the engine would not know it.
            self.docker.run("rm", "--force", "--volumes", container_id, missing_ok=True)
            raise
        return container_id, dict(inputs)

    def _join(self, container_id: str, networks: list[Props]) -> None:
        """resourceDockerContainerCreate with networks_advanced: disconnect from "bridge" (not being on it is no
        error), then connect to each network with its aliases."""
        if not networks:
            return
        try:
            self.docker.run("network", "disconnect", "bridge", container_id)
        except Exception as error:
            if "is not connected to the network bridge" not in str(error):
                raise
        for network in networks:
            unknown = set(network) - {"name", "aliases"}
            if unknown:
                raise ValueError(f"the docker stand-in does not join a network with {sorted(unknown)}")
            aliases = [arg for alias in network.get("aliases") or [] for arg in ("--alias", str(alias))]
            self.docker.run("network", "connect", *aliases, str(network["name"]), container_id)

    def _start(self, container_id: str, inputs: Props) -> None:
        self.docker.run("start", container_id)
        if not inputs.get("mustRun", True):
            return
        time.sleep(_SETTLE_SECONDS)
        found = self.docker.inspect("container", container_id) or {}
        state = found.get("State") or {}
        if not state.get("Running") or state.get("Restarting") or found.get("RestartCount"):
            raise RuntimeError(
                f"container '{inputs.get('name')}' is not running after start (status {state.get('Status')}, "
                f"exit code {state.get('ExitCode')}{', ' + state['Error'] if state.get('Error') else ''})"
            )

    def read(self, id_: str, state: Props, inputs: Props) -> tuple[str, Props, Props]:
        found = self.docker.inspect("container", id_)
        if found is None:
            return "", {}, {}
        if not found["State"]["Running"] and state.get("mustRun", True):
            # A stopped container reads back must_run = false, so the next update starts it
            # (resourceDockerContainerRead).
            return id_, {**state, "mustRun": False}, {**inputs, "mustRun": False}
        return id_, state, inputs

    def update(self, id_: str, state: Props, news: Props) -> Props:
        flags: list[str] = []
        if news.get("restart") and news.get("restart") != state.get("restart"):
            flags += ["--restart", str(news["restart"])]
        if (news.get("memory"), news.get("memorySwap")) != (state.get("memory"), state.get("memorySwap")):
            flags += _memory_flags(news)
        if flags:
            self.docker.run("update", *flags, id_)
        if news.get("mustRun", True) and not state.get("mustRun", True):
            self._start(id_, news)
        return {**state, **news}

    def delete(self, id_: str, state: Props) -> None:
        # Stopped with destroy_grace_seconds as the timeout (0 when unset: SIGKILL at once), then removed with
        # force (resourceDockerContainerDelete).
        grace = int(state.get("destroyGraceSeconds") or 0)
        self.docker.run("stop", "--time", str(grace), id_, missing_ok=True, timeout=TIMEOUT + grace)
        volumes = ["--volumes"] if state.get("removeVolumes", True) else []
        self.docker.run("rm", "--force", *volumes, id_, missing_ok=True)


def _memory_flags(inputs: Props) -> list[str]:
    """memory and memory_swap are MB, swap -1 for unlimited (resource_docker_container_funcs.go)."""
    flags: list[str] = []
    if inputs.get("memory"):
        flags += ["--memory", f"{int(inputs['memory'])}m"]
    if inputs.get("memorySwap"):
        swap = int(inputs["memorySwap"])
        flags += ["--memory-swap", f"{swap}m" if swap > 0 else str(swap)]
    return flags


def _create_args(inputs: Props) -> list[str]:
    """`docker create` flags for the container's arguments (the image and the env file follow)."""
    args = ["create", "--name", str(inputs["name"])]
    if inputs.get("restart"):
        args += ["--restart", str(inputs["restart"])]
    if inputs.get("networkMode"):
        args += ["--network", str(inputs["networkMode"])]
    for port in inputs.get("ports") or []:
        # The provider's defaults: every address, tcp (portSetToDockerPorts).
        address = str(port.get("ip") or "0.0.0.0")  # noqa: S104 - the provider's default
        host_ip = f"[{address}]" if ":" in address else address
        external = str(int(port["external"])) if port.get("external") else ""
        args += ["--publish", f"{host_ip}:{external}:{int(port['internal'])}/{port.get('protocol') or 'tcp'}"]
    for volume in inputs.get("volumes") or []:
        if volume.get("fromContainer"):
            args += ["--volumes-from", str(volume["fromContainer"])]
            continue
        source = volume.get("volumeName") or volume.get("hostPath") or ""
        mount = f"{source}:{volume['containerPath']}" if source else str(volume["containerPath"])
        args += ["--volume", mount + (":ro" if volume.get("readOnly") else "")]
    for label in inputs.get("labels") or []:
        args += ["--label", f"{label['label']}={label['value']}"]
    if inputs.get("logDriver"):
        args += ["--log-driver", str(inputs["logDriver"])]
    for key, value in sorted((inputs.get("logOpts") or {}).items()):
        args += ["--log-opt", f"{key}={value}"]
    args += _memory_flags(inputs)
    if inputs.get("cpus"):
        args += ["--cpus", str(inputs["cpus"])]
    return args


def main() -> None:
    docker = DockerHost()
    types = [RemoteImage(docker), Volume(docker), Network(docker), Container(docker)]
    serve(StandinProvider("docker", plugin_version("pulumi_docker"), types, configure=docker.configure))


if __name__ == "__main__":
    main()
