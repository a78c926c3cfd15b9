"""What a Docker engine keeps of the container the program declares, asked before deploying.

The docker provider reads a container back after creating it and diffs the next `pulumi up` against that
(kreuzwerker/terraform-provider-docker v4.5.0 internal/provider/resource_docker_container_funcs.go,
resourceDockerContainerRead). Some hosts keep less than was asked, or add to it:

- without the memory cgroup (``/info`` ``MemoryLimit: false``) Docker drops a memory limit with only a
  warning and reads back ``Memory 0``; without swap accounting (``SwapLimit: false``) it reads back
  ``MemorySwap -1`` (moby daemon/daemon_unix.go verifyPlatformContainerResources);
- a daemon.json ``log-opts`` default (e.g. ``compress``) is merged into the container's json-file options
  (moby daemon/logs.go mergeAndVerifyLogConfig), and ``log_opts`` is ForceNew.

So the program asks the engine once per run, over the same transports the provider uses (unix socket,
tcp with TLS material, ssh running ``docker system dial-stdio``), and declares what the host keeps.
An engine that does not answer (e.g. during `pulumi preview` off the host's network) is reported with a
warning and the container is declared as configured.
"""

from __future__ import annotations

import json
import os
import socket
import ssl
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

import pulumi

from components.config.source import ConfigError

__all__ = ["EngineFacts", "EngineUnreachable", "ask_engine", "declared_log_opts", "declared_memory", "engine_facts"]

TIMEOUT_SECONDS = 10.0
_TLS_DEFAULT_PORT = 2376


class EngineUnreachable(RuntimeError):
    """The engine did not answer; the message names the host, never key material."""


@dataclass(frozen=True)
class EngineFacts:
    """What one Docker engine keeps, from its ``/info`` and the running container (if any)."""

    memory_limit: bool = True
    """``/info`` MemoryLimit: the engine enforces (and reports back) a memory limit."""
    swap_limit: bool = True
    """``/info`` SwapLimit: the engine enforces a memory+swap limit (else it reports MemorySwap -1)."""
    log_opts: Mapping[str, str] = field(default_factory=dict)
    """json-file options of the existing container (daemon defaults merged in by the engine); {} if none."""


def declared_memory(facts: EngineFacts | None, memory_mb: int, host: str) -> tuple[int | None, int | None]:
    """``memory`` and ``memory_swap`` (MB) as the host will read them back; refuses a limit it cannot keep."""
    if not memory_mb:
        return None, None
    if facts is not None and not facts.memory_limit:
        raise ConfigError(
            "memoryLimitMb",
            f"the Docker engine at {host} cannot keep a memory limit (its /info says MemoryLimit false: no memory "
            "cgroup, e.g. rootless Docker on cgroup v1); Docker would drop it with only a warning",
            "Set memoryLimitMb to 0 for this host, or enable the memory cgroup controller on it.",
        )
    if facts is not None and not facts.swap_limit:
        # Docker keeps -1 (swap not limited) where it has no swap accounting, and reports exactly that back.
        return memory_mb, -1
    # Swap is part of the limit: without memory_swap Docker allows as much again as swap.
    return memory_mb, memory_mb


def declared_log_opts(facts: EngineFacts | None, log_opts: Mapping[str, str]) -> dict[str, str]:
    """The program's json-file options plus those the engine added to the running container from its
    daemon.json defaults; the program's own keys always win, so changing them still replaces the container."""
    kept = dict(facts.log_opts) if facts is not None else {}
    return {**kept, **log_opts}


def engine_facts(docker_host: Any, container_name: str) -> EngineFacts | None:
    """Asks the engine of ``docker_host`` (a components.instance.container.DockerHost) before anything is declared, so a
    refusal is one line naming the key. None, with a warning, when the engine does not answer."""
    key = docker_host.key_material
    if key is not None and not isinstance(key, str):
        key = docker_host.reveal_key() if docker_host.reveal_key is not None else None
    try:
        # A module-level name, looked up at call time: tests stand in for the engine (tests/support/harness.py).
        return ask_engine(
            docker_host.host,
            container_name,
            ssh_opts=tuple(docker_host.ssh_opts),
            ca_material=docker_host.ca_material,
            cert_material=docker_host.cert_material,
            key_material=key,
        )
    except EngineUnreachable as error:
        pulumi.log.warn(
            f"{error}: the container is declared as configured; if that host cannot keep a memory or swap "
            "limit, or adds log options of its own, the next `pulumi up` shows it (docs/operating.md)."
        )
        return None


def ask_engine(
    host: str,
    container_name: str,
    *,
    ssh_opts: Sequence[str] = (),
    ca_material: str | None = None,
    cert_material: str | None = None,
    key_material: str | None = None,
    log_driver: str = "json-file",
) -> EngineFacts:
    """Asks the engine at ``host``; raises EngineUnreachable when it does not answer."""
    info = _get(host, "/info", ssh_opts, ca_material, cert_material, key_material)
    if not isinstance(info, dict):
        raise EngineUnreachable(f"the Docker engine at {host} answered /info with something else than an object")
    container = _get(
        host, f"/containers/{quote(container_name, safe='')}/json", ssh_opts, ca_material, cert_material, key_material
    )
    log_opts: dict[str, str] = {}
    if isinstance(container, dict):
        config = (container.get("HostConfig") or {}).get("LogConfig") or {}
        if config.get("Type") == log_driver:
            log_opts = {str(k): str(v) for k, v in (config.get("Config") or {}).items()}
    return EngineFacts(
        memory_limit=bool(info.get("MemoryLimit", True)),
        swap_limit=bool(info.get("SwapLimit", True)),
        log_opts=log_opts,
    )


def _get(
    host: str,
    path: str,
    ssh_opts: Sequence[str],
    ca_material: str | None,
    cert_material: str | None,
    key_material: str | None,
) -> Any:
    """The JSON body of ``GET path`` (None for 404)."""
    request = f"GET {path} HTTP/1.0\r\nHost: docker\r\nUser-Agent: palette-pack-registry\r\n\r\n".encode()
    try:
        raw = _exchange(host, request, ssh_opts, ca_material, cert_material, key_material)
    except (OSError, ssl.SSLError, subprocess.SubprocessError) as error:
        raise EngineUnreachable(f"the Docker engine at {host} did not answer {path}: {type(error).__name__}") from None
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line = head.split(b"\r\n", 1)[0].split()
    if len(status_line) < 2 or not status_line[1].isdigit():
        raise EngineUnreachable(f"the Docker engine at {host} gave no HTTP answer to {path}")
    status = int(status_line[1])
    if status == 404:
        return None
    if status != 200:
        raise EngineUnreachable(f"the Docker engine at {host} answered {path} with {status}")
    try:
        return json.loads(body)
    except ValueError:
        raise EngineUnreachable(f"the Docker engine at {host} answered {path} with no JSON") from None


def _exchange(
    host: str,
    request: bytes,
    ssh_opts: Sequence[str],
    ca_material: str | None,
    cert_material: str | None,
    key_material: str | None,
) -> bytes:
    scheme, _, rest = host.partition("://")
    if scheme == "unix":
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(TIMEOUT_SECONDS)
            conn.connect("/" + rest.lstrip("/"))
            return _send(conn, request)
    parts = urlsplit(host)
    if scheme == "tcp":
        context = ssl.create_default_context(cadata=ca_material) if ca_material else ssl.create_default_context()
        if cert_material and key_material:
            with _material_files(cert_material, key_material) as (cert_file, key_file):
                context.load_cert_chain(cert_file, key_file, password=lambda: b"")  # never a passphrase prompt
        address = (parts.hostname or "", parts.port or _TLS_DEFAULT_PORT)
        with (
            socket.create_connection(address, timeout=TIMEOUT_SECONDS) as raw,
            context.wrap_socket(raw, server_hostname=parts.hostname) as conn,
        ):
            return _send(conn, request)
    if scheme == "ssh":
        result = subprocess.run(
            ssh_command(host, ssh_opts), input=request, capture_output=True, timeout=TIMEOUT_SECONDS * 3, check=False
        )
        if result.returncode != 0 and not result.stdout:
            raise OSError(f"ssh exited with {result.returncode}")
        return result.stdout
    raise OSError(f"unsupported Docker host scheme {scheme!r}")


def ssh_command(host: str, ssh_opts: Sequence[str]) -> list[str]:
    """The command docker/cli's ssh connection helper runs (cli/connhelper/ssh), which the provider uses
    for ssh:// hosts (internal/provider/config.go GetConnectionHelperWithSSHOpts), with the stack's options."""
    parts = urlsplit(host)
    command = ["ssh", "-o", f"ConnectTimeout={int(TIMEOUT_SECONDS)}", "-T"]
    if parts.username:
        command += ["-l", parts.username]
    if parts.port:
        command += ["-p", str(parts.port)]
    command += [*ssh_opts, "--", parts.hostname or "", "docker", "system", "dial-stdio"]
    return command


def _send(conn: socket.socket, request: bytes) -> bytes:
    conn.sendall(request)
    chunks = []
    while chunk := conn.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


@contextmanager
def _material_files(cert: str, key: str) -> Any:
    """Paths ssl can load the client certificate and key from: memory-only files where Linux has them
    (memfd), else a private temporary directory removed right after loading."""
    if hasattr(os, "memfd_create"):
        fds = [os.memfd_create(name) for name in ("docker-cert", "docker-key")]
        try:
            for fd, content in zip(fds, (cert, key), strict=True):
                os.write(fd, content.encode())
            yield tuple(f"/proc/self/fd/{fd}" for fd in fds)
        finally:
            for fd in fds:
                os.close(fd)
        return
    with tempfile.TemporaryDirectory() as directory:
        paths = (os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem"))
        for path, content in zip(paths, (cert, key), strict=True):
            with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as handle:
                handle.write(content)
        yield paths
