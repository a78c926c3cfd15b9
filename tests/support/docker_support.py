"""Running the program's declared registry container on a real Docker engine, through the docker CLI.

A *container spec* is the container's recorded inputs as the Pulumi program declared them, in Pulumi's
camelCase wire names (``name``, ``image``, ``envs``, ``uploads``, ``volumes``, ``ports``, ``restart``,
``networkMode``, ``networksAdvanced``). ``start_container`` turns it into a real container the way the docker
provider would: ``docker create``, then the declared networks joined (disconnected from "bridge" first), then the
uploads copied in as a tar stream with their declared modes, then ``docker start``, with the declared log driver
and options, memory (and swap) and CPU limits. ``start_network`` makes a declared network (a per-run name), and
``on_networks`` points a spec's ``networksAdvanced`` at the real networks. For tests
the image is swapped for the local stand-in, ports are published on 127.0.0.1 only (on a free host port
the engine picks), and names get a per-run suffix so a real deployment on the same machine is never
touched.

Everything created is labelled and tracked by a ``DockerJanitor``, which removes it at the end.
"""

from __future__ import annotations

import base64
import io
import ipaddress
import json
import os
import secrets
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from tests.support.paths import ROOT

__all__ = [
    "LABEL",
    "STANDIN_IMAGE",
    "CgroupLimits",
    "DockerJanitor",
    "RunningContainer",
    "build_standin_image",
    "cgroup_limits",
    "container_logs",
    "container_spec_with",
    "docker",
    "docker_available",
    "docker_engine_decision",
    "file_header_in_container",
    "file_in_container",
    "inspect_container",
    "on_networks",
    "replace_stop",
    "start_container",
    "start_network",
    "upload_files",
    "upload_tar",
]

STANDIN_IMAGE = os.environ.get("STANDIN_IMAGE", "palette-pack-registry-standin:test")
BUILD_SCRIPT = ROOT / "scripts" / "build-standin-image.sh"
LABEL = "org.palette-pack-registry.test"
"""Label on every container and volume the tests create (value: the test run's token)."""
CONTAINER_PORT = 5000
_DOCKER_TIMEOUT = 120


class DockerError(RuntimeError):
    """A docker CLI command failed; the message has the command (no env values) and its stderr."""


def docker(*args: str, input_: bytes | None = None, check: bool = True, timeout: float = _DOCKER_TIMEOUT) -> str:
    """Runs ``docker ARGS`` and returns its stdout (text)."""
    result = subprocess.run(["docker", *args], input=input_, capture_output=True, timeout=timeout, check=False)
    if check and result.returncode != 0:
        raise DockerError(
            f"docker {' '.join(args[:3])} ... failed ({result.returncode}): "
            f"{result.stderr.decode(errors='replace').strip()}"
        )
    return result.stdout.decode(errors="replace")


def docker_available() -> bool:
    """True when the docker CLI is installed and the engine answers."""
    try:
        result = subprocess.run(["docker", "info"], capture_output=True, timeout=30, check=False)
    except (FileNotFoundError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0


REQUIRE_DOCKER = "REQUIRE_DOCKER"
"""Set by scripts/test.sh: a missing Docker engine fails the integration tests instead of skipping them."""
_FALSE = {"", "0", "false", "no", "off"}


def docker_required(env: Mapping[str, str]) -> str | None:
    """Why a missing engine must fail the run (the variable that says so), or None when a skip is fine.

    ``REQUIRE_DOCKER`` is scripts/test.sh's own switch; ``CI`` is what CI services set (``true`` on GitHub and GitLab,
    ``1`` elsewhere). Any value but an explicit false one (empty, 0, false, no, off) requires Docker, so a
    value nobody foresaw never turns into a silent skip.
    """
    for variable in (REQUIRE_DOCKER, "CI"):
        value = env.get(variable)
        if value is not None and value.strip().lower() not in _FALSE:
            return f"{variable}={value}"
    return None


def docker_engine_decision(available: bool, env: Mapping[str, str]) -> tuple[str, str]:
    """What the docker_engine fixture does: ("use", ""), ("fail", message) or ("skip", reason)."""
    if available:
        return "use", ""
    reason = (
        "no Docker engine answers `docker info`: install Debian's docker.io and run scripts/start-dockerd.sh as root"
    )
    required = docker_required(env)
    if required:
        return "fail", f"{required} requires Docker, but {reason}"
    return "skip", reason


def build_standin_image(recipe: str, image: str) -> str:
    """``image`` built by scripts/build-standin-image.sh ``recipe`` (a no-op when up to date); fails the test
    with the script's output when the build fails."""
    result = subprocess.run(
        ["bash", str(BUILD_SCRIPT), recipe],
        capture_output=True,
        timeout=600,
        check=False,
        env={**os.environ, "STANDIN_IMAGE": image},
    )
    if result.returncode != 0:
        # pytest is imported here only: the stand-in plugins import this module and start within a `pulumi up`.
        import pytest

        pytest.fail(
            f"{BUILD_SCRIPT.name} {recipe} failed ({result.returncode}):\n"
            f"{result.stdout.decode()}{result.stderr.decode()}",
            pytrace=False,
        )
    return image


@dataclass
class DockerJanitor:
    """Tracks the containers, volumes and networks a test run creates and removes them."""

    token: str = field(default_factory=lambda: secrets.token_hex(4))
    containers: list[str] = field(default_factory=list)
    volumes: list[str] = field(default_factory=list)
    networks: list[str] = field(default_factory=list)
    kept: set[str] = field(default_factory=set)
    """Networks a test hands on to later tests (``release_since`` leaves them)."""

    def name(self, base: str) -> str:
        """A per-run name derived from the program's, so a real deployment is never touched."""
        return f"{base}-it-{self.token}"

    def remove_container(self, name_or_id: str) -> None:
        docker("rm", "--force", "--volumes", "--volumes", name_or_id, check=False)

    def keep(self, network: str) -> None:
        self.kept.add(network)

    def release_since(self, count: int) -> None:
        """Releases the networks made after the first ``count``, but those kept."""
        for network in [n for n in self.networks[count:] if n not in self.kept]:
            self.release(network)

    def release(self, network: str) -> None:
        """Removes a network at the end of the test that made it, with the containers of this run on it: each
        network takes a subnet from the engine's address pools (about 30 by default), too few to keep every
        test's until the session ends."""
        found = docker("network", "inspect", "--format", "{{json .Containers}}", network, check=False).strip()
        attached = set(json.loads(found) or {}) if found.startswith("{") else set()
        for container in [c for c in self.containers if any(full.startswith(c) for full in attached)]:
            self.remove_container(container)
            self.containers.remove(container)
        docker("network", "rm", network, check=False)
        if network in self.networks:
            self.networks.remove(network)

    def cleanup(self) -> None:
        for container in reversed(self.containers):
            self.remove_container(container)
        for volume in reversed(self.volumes):
            docker("volume", "rm", "--force", volume, check=False)
        for network in reversed(self.networks):
            docker("network", "rm", network, check=False)
        self.containers.clear()
        self.volumes.clear()
        self.networks.clear()


@dataclass
class RunningContainer:
    """A started container made from a spec."""

    id: str
    name: str
    spec: dict[str, Any]
    """The spec it was made from (after the test overrides)."""
    host_port: int
    """Host port on 127.0.0.1 that reaches container port 5000."""
    started_at: float
    """time.monotonic() right after `docker start` returned."""
    host_network: bool = False
    """Runs in the host's network namespace, the registry listening on 127.0.0.1:``host_port`` itself."""

    def url(self, scheme: str) -> str:
        return f"{scheme}://127.0.0.1:{self.host_port}"

    def logs(self, tail: str = "50") -> str:
        """The container's log (stdout and stderr, where the registry writes), last ``tail`` lines or "all"."""
        return container_logs(self.id, tail)


def container_logs(container: str, tail: str = "50") -> str:
    """A container's log, stdout and stderr, last ``tail`` lines or "all"."""
    result = subprocess.run(["docker", "logs", "--tail", tail, container], capture_output=True, timeout=30, check=False)
    return (result.stdout + result.stderr).decode(errors="replace")


def container_spec_with(spec: Mapping[str, Any], **overrides: Any) -> dict[str, Any]:
    """A copy of ``spec`` with some fields replaced (e.g. uploads from a later program run)."""
    return {**dict(spec), **overrides}


def _mode(permissions: Any) -> int:
    """The provider's ``permissions`` ("0444", "644" or a number) as a file mode."""
    if permissions is None or permissions == "":
        return 0o644
    if isinstance(permissions, int | float):
        return int(permissions)
    return int(str(permissions), 8)


def upload_tar(uploads: list[Mapping[str, Any]]) -> bytes:
    """A tar stream that recreates each upload at its absolute path, parents included, with its mode."""
    buffer = io.BytesIO()
    now = time.time()
    directories: set[str] = set()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for upload in uploads:
            path = PurePosixPath(upload["file"])
            if not path.is_absolute():
                raise ValueError(f"upload path {path} is not absolute")
            if upload.get("contentBase64"):
                content = base64.b64decode(upload["contentBase64"])
            else:
                content = str(upload.get("content") or "").encode()
            for parent in reversed(path.parents[:-1]):
                if str(parent) in directories:
                    continue
                directories.add(str(parent))
                info = tarfile.TarInfo(str(parent).lstrip("/"))
                info.type = tarfile.DIRTYPE
                info.mode = 0o755
                info.mtime = int(now)
                archive.addfile(info)
            info = tarfile.TarInfo(str(path).lstrip("/"))
            info.size = len(content)
            info.mode = _mode(upload.get("permissions"))
            # A fresh mtime: the registry re-reads htpasswd when its mtime changes.
            info.mtime = int(now)
            archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def upload_files(container: str, uploads: list[Mapping[str, Any]]) -> None:
    """Copies uploads (the provider's shape: file, content|contentBase64, permissions) into a container."""
    docker("cp", "-", f"{container}:/", input_=upload_tar(uploads))


def start_network(inputs: Mapping[str, Any], janitor: DockerJanitor) -> str:
    """Creates a declared Network (its inputs: name, driver, internal, options) under a per-run name, as the
    provider's resourceDockerNetworkCreate does; returns that name."""
    name = janitor.name(str(inputs["name"]))
    args = [
        "network",
        "create",
        "--label",
        f"{LABEL}={janitor.token}",
        "--driver",
        str(inputs.get("driver") or "bridge"),
    ]
    if inputs.get("internal"):
        args.append("--internal")
    for key, value in sorted((inputs.get("options") or {}).items()):
        args += ["--opt", f"{key}={value}"]
    docker(*args, name)
    janitor.networks.append(name)
    return name


def on_networks(spec: Mapping[str, Any], real: Mapping[str, str]) -> dict[str, Any]:
    """``spec`` with each of its ``networksAdvanced`` names (a declared network's id, or "bridge") replaced by
    the real network's name in ``real`` (names not in it stay)."""
    joined = [{**entry, "name": real.get(str(entry["name"]), entry["name"])} for entry in spec["networksAdvanced"]]
    return container_spec_with(spec, networksAdvanced=joined)


def _join(container_id: str, networks: list[Mapping[str, Any]]) -> None:
    """resourceDockerContainerCreate with networks_advanced: off "bridge", then onto each network with its
    aliases."""
    result = subprocess.run(
        ["docker", "network", "disconnect", "bridge", container_id], capture_output=True, timeout=30, check=False
    )
    if result.returncode != 0 and b"is not connected to the network bridge" not in result.stderr:
        raise DockerError(result.stderr.decode(errors="replace"))
    for network in networks:
        aliases = [arg for alias in network.get("aliases") or [] for arg in ("--alias", str(alias))]
        docker("network", "connect", *aliases, str(network["name"]), container_id)


def _published_port(container: str, internal: int = CONTAINER_PORT) -> int:
    deadline = time.monotonic() + 10
    while True:
        mapping = docker("port", container, f"{internal}/tcp", check=False).strip()
        for line in mapping.splitlines():
            host, _, port = line.rpartition(":")
            if host == "127.0.0.1" and port.isdigit():
                return int(port)
        if time.monotonic() > deadline:
            raise DockerError(f"container {container} publishes no 127.0.0.1 port for {internal}: {mapping!r}")
        time.sleep(0.05)


def start_container(
    spec: Mapping[str, Any],
    janitor: DockerJanitor,
    *,
    image: str,
    name: str | None = None,
    host_port: int | None = None,
    start: bool = True,
    host_network_port: int | None = None,
    publish_as_declared: bool = False,
) -> RunningContainer:
    """Creates and starts a container from a recorded container spec.

    ``image`` replaces the spec's (the program pins the real registry image, which cannot be pulled
    here). Named volumes are taken as given: call ``janitor.name`` on them first (``container_spec_with``)
    to keep a real deployment's data out of reach. Ports go to 127.0.0.1 only; the host port is
    ``host_port`` or one the engine picks.

    With ``host_network_port`` the container shares the host's network instead (``--network host``, no
    published ports) and the registry listens on 127.0.0.1 at that port (``REGISTRY_HTTP_ADDR``): the way
    a container reaches a test server on 127.0.0.1, such as an S3 store, without any private address.

    With ``publish_as_declared`` each port is published at its declared address and host port, as the
    provider's portSetToDockerPorts sends them (the test must have declared a loopback address).
    """
    if host_network_port is not None:
        spec = container_spec_with(
            spec,
            networkMode="host",
            ports=[],
            networksAdvanced=[],
            envs=[
                *(spec.get("envs") or []),
                f"REGISTRY_HTTP_ADDR=127.0.0.1:{host_network_port}",
                # With the host's network, an S3 driver short of credentials would ask the cloud metadata
                # address next: the tests' traffic stays on loopback.
                "AWS_EC2_METADATA_DISABLED=true",
            ],
        )
    container_name = name or janitor.name(str(spec["name"]))
    args = ["create", "--name", container_name, "--label", f"{LABEL}={janitor.token}"]
    restart = spec.get("restart")
    if restart:
        args += ["--restart", str(restart)]
    network = spec.get("networkMode")
    if network:
        args += ["--network", str(network)]
    if spec.get("logDriver"):
        args += ["--log-driver", str(spec["logDriver"])]
    for key, value in sorted((spec.get("logOpts") or {}).items()):
        args += ["--log-opt", f"{key}={value}"]
    # The provider sends memory and memory_swap in MB and cpus as given (resource_docker_container_funcs.go).
    if spec.get("memory"):
        args += ["--memory", f"{int(spec['memory'])}m"]
    if spec.get("memorySwap"):
        swap = int(spec["memorySwap"])
        args += ["--memory-swap", f"{swap}m" if swap > 0 else str(swap)]
    if spec.get("cpus"):
        args += ["--cpus", str(spec["cpus"])]
    for volume in spec.get("volumes") or []:
        source = volume.get("volumeName") or volume.get("hostPath")
        if not source:
            raise ValueError(f"volume without volumeName or hostPath: {volume}")
        if volume.get("volumeName") and source not in janitor.volumes:
            docker("volume", "create", "--label", f"{LABEL}={janitor.token}", source)
            janitor.volumes.append(source)
        mount = f"{source}:{volume['containerPath']}"
        if volume.get("readOnly"):
            mount += ":ro"
        args += ["--volume", mount]
    ports = list(spec.get("ports") or [])
    joined = list(spec.get("networksAdvanced") or [])
    joins = str(network or "").startswith("container:") or network == "host" or bool(joined and not ports)
    if host_network_port is None and not joins and not ports:
        raise ValueError(f"the spec publishes no port: {spec.get('name')}")
    # The port clients use: the registry's 5000, or the proxy's port for an OCI instance.
    served = int(ports[0]["internal"]) if ports else CONTAINER_PORT
    for port in ports:
        internal = int(port["internal"])
        protocol = port.get("protocol") or "tcp"
        if publish_as_declared:
            address = str(port["ip"])
            if not ipaddress.ip_address(address).is_loopback:
                raise ValueError(f"publish_as_declared needs a loopback address, not {address}")
            host_ip = f"[{address}]" if ":" in address else address
            args += ["--publish", f"{host_ip}:{int(port['external'])}:{internal}/{protocol}"]
            continue
        external = str(host_port) if host_port and internal == served else ""
        # Whatever address the program binds, tests publish on the loopback address only.
        args += ["--publish", f"127.0.0.1:{external}:{internal}/{protocol}"]
    with tempfile.TemporaryDirectory() as directory:
        # An env file keeps secrets such as REGISTRY_HTTP_SECRET off the process list.
        env_file = Path(directory, "env")
        envs = [str(entry) for entry in spec.get("envs") or []]
        if any("\n" in entry for entry in envs):
            raise ValueError("an env value spans lines; docker env files cannot carry it")
        env_file.write_text("".join(f"{entry}\n" for entry in envs))
        args += ["--env-file", str(env_file), image]
        container_id = docker(*args).strip()
    janitor.containers.append(container_id)
    if joined:
        _join(container_id, joined)
    uploads = list(spec.get("uploads") or [])
    if uploads:
        upload_files(container_id, uploads)
    started_at = 0.0
    port = host_network_port or 0
    if start:
        docker("start", container_id)
        started_at = time.monotonic()
        if host_network_port is None and not joins and not publish_as_declared:
            port = _published_port(container_id, served)
        elif publish_as_declared:
            port = int(ports[0]["external"])
    return RunningContainer(
        container_id, container_name, dict(spec), port, started_at, host_network=host_network_port is not None
    )


def start_created(container: RunningContainer) -> RunningContainer:
    """Starts a container made with ``start=False``."""
    docker("start", container.id)
    started_at = time.monotonic()
    ports = container.spec.get("ports") or []
    served = int(ports[0]["internal"]) if ports else CONTAINER_PORT
    port = container.host_port if container.host_network else _published_port(container.id, served)
    return RunningContainer(container.id, container.name, container.spec, port, started_at, container.host_network)


def remove_container(container: RunningContainer, janitor: DockerJanitor) -> None:
    """Removes the container (its named volumes stay)."""
    docker("rm", "--force", "--volumes", container.id)
    if container.id in janitor.containers:
        janitor.containers.remove(container.id)


def replace_stop(container: RunningContainer, janitor: DockerJanitor, grace_seconds: int) -> None:
    """Removes the container the way the provider's delete does (resource_docker_container_funcs.go
    resourceDockerContainerDelete): ContainerStop with timeout ``destroy_grace_seconds`` (0 when unset:
    SIGTERM, then SIGKILL at once), then ContainerRemove with force."""
    docker("stop", "--time", str(grace_seconds), container.id, timeout=_DOCKER_TIMEOUT + grace_seconds)
    remove_container(container, janitor)


def read_file_from_volume(volume: str, path: str, image: str, janitor: DockerJanitor) -> bytes | None:
    """The bytes of ``path`` (under /data) in a named volume, read through a created, never started container.

    The stand-in image has no shell, so ``docker cp`` from a stopped container is the way in.
    """
    holder = docker("create", "--label", f"{LABEL}={janitor.token}", "--volume", f"{volume}:/data", image).strip()
    try:
        result = subprocess.run(["docker", "cp", f"{holder}:{path}", "-"], capture_output=True, timeout=60, check=False)
        if result.returncode != 0:
            return None
        with tarfile.open(fileobj=io.BytesIO(result.stdout)) as archive:
            member = archive.next()
            if member is None or not member.isfile():
                return None
            extracted = archive.extractfile(member)
            return extracted.read() if extracted else None
    finally:
        docker("rm", "--force", "--volumes", holder, check=False)


def inspect_container(container: str) -> dict[str, Any]:
    """`docker inspect` of one container, the JSON the provider reads back (tests/support/docker_readback.py)."""
    return json.loads(docker("inspect", "--type", "container", container))[0]


def _copied_out(container: str, path: str) -> tuple[tarfile.TarInfo, bytes]:
    """A file of a container as ``docker cp`` streams it (a one-member tar): its header and its content."""
    raw = subprocess.run(
        ["docker", "cp", f"{container}:{path}", "-"], capture_output=True, timeout=60, check=True
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(raw)) as archive:
        member = archive.next()
        assert member is not None
        content = archive.extractfile(member)
        return member, content.read() if content is not None else b""


def file_mode_in_container(container: str, path: str) -> int:
    """The permission bits of ``path`` inside a container, as ``docker cp`` reports them."""
    return file_header_in_container(container, path).mode & 0o7777


def file_header_in_container(container: str, path: str) -> tarfile.TarInfo:
    """``path``'s tar header as ``docker cp`` streams it: its mode, owner (uid, gid) and size."""
    return _copied_out(container, path)[0]


def file_in_container(container: str, path: str) -> bytes:
    """The content of ``path`` in a container, through ``docker cp`` (the stand-in images have no shell)."""
    return _copied_out(container, path)[1]


@dataclass(frozen=True)
class CgroupLimits:
    """What the kernel enforces on a running container: its cgroup's memory limit and CPU quota."""

    memory_bytes: int | None
    """memory.limit_in_bytes (cgroup v1) or memory.max (v2); None for no limit."""
    cpus: float | None
    """CPU quota / period (cpu.cfs_quota_us / cpu.cfs_period_us, or cpu.max); None for no quota."""


def cgroup_limits(container: str) -> CgroupLimits:
    """The limits of a running container's cgroup, read on the host from /sys/fs/cgroup (v1 or v2) through the
    cgroup its main process is in (/proc/<pid>/cgroup). The tests run beside the engine, as root."""
    pid = docker("inspect", "--format", "{{.State.Pid}}", container).strip()
    lines = [line.split(":", 2) for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines()]
    root = Path("/sys/fs/cgroup")

    def v1(controller: str) -> Path | None:
        for _, controllers, path in lines:
            if controller in controllers.split(","):
                return root / controllers / path.lstrip("/")
        return None

    memory_dir, cpu_dir = v1("memory"), v1("cpu")
    if memory_dir is not None and cpu_dir is not None:
        memory = int((memory_dir / "memory.limit_in_bytes").read_text())
        quota = int((cpu_dir / "cpu.cfs_quota_us").read_text())
        period = int((cpu_dir / "cpu.cfs_period_us").read_text())
        # v1 writes "no limit" as the largest page-aligned value.
        return CgroupLimits(None if memory >= 1 << 62 else memory, None if quota < 0 else quota / period)
    unified = root / next(path for number, controllers, path in lines if number == "0" and not controllers).lstrip("/")
    memory_text = (unified / "memory.max").read_text().strip()
    quota_text, period_text = (unified / "cpu.max").read_text().split()
    return CgroupLimits(
        None if memory_text == "max" else int(memory_text),
        None if quota_text == "max" else int(quota_text) / int(period_text),
    )
