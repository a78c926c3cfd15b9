"""The Docker hosts: how Pulumi reaches each engine, one instance per host, and how `pulumi up` reaches each
instance to prove it ready."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from components.config.network import Network
from components.config.source import ABSOLUTE_PATH, ConfigError, Raw, base_url
from components.config.storage import StorageSettings
from components.config.tls import refuse_private_key
from components.kinds import LEGACY, RegistryKind


@dataclass(frozen=True)
class DockerHostSettings:
    """Where the container runs and how Pulumi reaches that Docker engine."""

    host: str
    """Docker host URL: unix://, tcp:// (with TLS material) or ssh://."""
    ssh_opts: tuple[str, ...]
    """Extra ssh options for ssh:// hosts."""
    ca_material: str | None
    """PEM CA that signs the tcp:// daemon's certificate."""
    cert_material: str | None
    """PEM client certificate for a tcp:// daemon."""
    key_material: Any
    """PEM client key for a tcp:// daemon (a secret Output, or None)."""
    reveal_key: Callable[[], str | None] | None = field(default=None, repr=False, compare=False)
    """The client key in plain text, read from config on demand: only for asking the engine what it keeps
    before deploying (components/instance/docker_engine.py); resources receive ``key_material``."""


@dataclass(frozen=True)
class InstanceSettings:
    """One registry instance: the Docker host it runs on and the URL its readiness gate polls."""

    key: str
    """"" for the only instance of a single-host stack, else a slug of its host (name and port, without the
    scheme or the user): the resource names follow the host, not its place in dockerHosts."""
    docker: DockerHostSettings
    readiness_url: str
    """Base URL the machine running Pulumi reaches this instance at."""
    on_docker_host: bool = True
    """Whether this instance runs where ``dockerHost`` points: it takes over the single-host resources
    (through aliases), so adding hosts to a single-host stack replaces nothing."""
    host_slug: str = ""
    """The slug of its host, even where ``key`` is "": what a ``dockerHosts`` list named the instance, so
    emptying that list again takes the instance back without replacing it."""


@dataclass(frozen=True)
class ReadinessSettings:
    """How `pulumi up` proves the registry answers before anything depends on it."""

    enabled: bool
    url: str
    """Base URL the machine running Pulumi uses to reach the registry."""
    health_path: str
    catalog_path: str
    timeout_seconds: int


def _docker_scheme(key: str, host: str) -> str:
    scheme = host.split("://", 1)[0] if "://" in host else ""
    if scheme not in ("unix", "tcp", "ssh") or host.endswith("://"):
        raise ConfigError(
            key,
            f"'{host}' is not a Docker host URL",
            "Use unix:///var/run/docker.sock, tcp://host:2376 (with dockerCaCert/dockerCert/dockerKey) or ssh://user@host.",
        )
    if scheme == "unix":
        return scheme
    parts = urlsplit(host)
    if parts.password is not None:
        raise ConfigError(
            key,
            f"holds a password in the {scheme}:// URL of host '{parts.hostname}' (it would be stored in plain text)",
            "Log in with an ssh key (an ssh agent or ~/.ssh/config) and write ssh://user@host.",
        )
    if parts.path.strip("/") or parts.query or parts.fragment or "?" in host or "#" in host:
        raise ConfigError(
            key,
            f"'{host}' has something after the host (a path, query or fragment) that Docker refuses",
            f"Write {scheme}://{'user@' if scheme == 'ssh' else ''}host[:port] only.",
        )
    try:
        parts.port  # noqa: B018 - parsing it is the check
    except ValueError:
        raise ConfigError(key, f"'{host}' has an invalid port", "Use a port from 1 to 65535.") from None
    if not parts.hostname:
        raise ConfigError(key, f"'{host}' names no host", f"Write {scheme}://host[:port].")
    return scheme


def host_identity(url: str) -> str:
    """The engine a Docker host URL reaches, whoever logs in: the socket path, or the host and its port
    (ssh's default 22 left out, as docker/cli's ssh helper passes -p only for an explicit port)."""
    scheme, _, rest = url.partition("://")
    if scheme == "unix":
        return "/" + rest.strip("/")
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    port = parts.port
    if port is None or (scheme == "ssh" and port == 22):
        return host
    return f"{host}:{port}"


def docker_settings(raw: Raw, get: Callable[[str], str | None], secret: Callable[[str], Any]) -> DockerHostSettings:
    host = raw.text("dockerHost").strip()
    scheme = _docker_scheme("dockerHost", host)
    ca = raw.text("dockerCaCert").strip() or None
    cert = raw.text("dockerCert").strip() or None
    for name, value in (("dockerCaCert", ca), ("dockerCert", cert)):
        refuse_private_key(name, value or "")
    key = secret("dockerKey") if get("dockerKey") else None
    tls_parts = [ca is not None, cert is not None, key is not None]
    if any(tls_parts) and not all(tls_parts):
        raise ConfigError(
            "dockerCaCert",
            "dockerCaCert, dockerCert and dockerKey go together",
            "Set all three (dockerKey with --secret) for a TLS-protected tcp:// daemon, or none.",
        )
    if any(tls_parts) and scheme != "tcp" and not raw.strings("dockerHosts"):
        raise ConfigError("dockerHost", "TLS material is only used with tcp:// hosts", "Use a tcp:// dockerHost.")
    if scheme == "tcp" and not any(tls_parts):
        raise ConfigError(
            "dockerHost",
            f"'{host}' is a Docker API without TLS: anyone who reaches that port is root on that host",
            "Use ssh://user@host, or set dockerCaCert, dockerCert and dockerKey for a daemon started with --tlsverify.",
        )
    return DockerHostSettings(
        host=host,
        ssh_opts=raw.strings("dockerSshOpts"),
        ca_material=ca,
        cert_material=cert,
        key_material=key,
        reveal_key=(lambda: get("dockerKey")) if key is not None else None,
    )


def readiness_settings(raw: Raw, network: Network, kind: RegistryKind = LEGACY) -> ReadinessSettings:
    timeout = raw.integer("readinessTimeoutSeconds")
    if not 1 <= timeout <= 3600:
        raise ConfigError("readinessTimeoutSeconds", f"{timeout} is out of range", "Use 1-3600 seconds.")
    paths = {}
    # Unset paths follow the registry kind.
    for key, kind_path in (("readinessHealthPath", kind.health_path), ("readinessCatalogPath", kind.catalog_path)):
        path = raw.text(key).strip() or kind_path
        if not ABSOLUTE_PATH.match(path):
            raise ConfigError(key, f"'{path}' is not an absolute URL path", "Start it with '/', e.g. /health.")
        paths[key] = path
    url = raw.text("readinessUrl").strip().rstrip("/")
    if not url:
        url = network.url_at(network.primary_host)
    else:
        _check_scheme("readinessUrl", url, network)
    return ReadinessSettings(
        enabled=raw.boolean("readinessCheck"),
        url=url,
        health_path=paths["readinessHealthPath"],
        catalog_path=paths["readinessCatalogPath"],
        timeout_seconds=timeout,
    )


def _host_slug(url: str) -> str:
    """A readable, stable resource-name part for a Docker host (ssh://ops@node-b:2222 -> node-b-2222)."""
    return re.sub(r"[^a-z0-9]+", "-", host_identity(url).lower()).strip("-")


def _address_of(url: str, bind_address: str) -> str:
    """The address an instance is reached at, derived from its Docker host URL."""
    scheme, _, rest = url.partition("://")
    if scheme == "unix":
        # The engine is on this machine: the published address, or loopback when it listens everywhere.
        return "127.0.0.1" if ipaddress.ip_address(bind_address).is_unspecified else bind_address
    authority = rest.split("/", 1)[0].rpartition("@")[2]
    if authority.startswith("["):
        return authority[1:].split("]", 1)[0]
    return authority.rsplit(":", 1)[0] if authority.count(":") == 1 else authority


def _check_scheme(key: str, url: str, network: Network) -> None:
    scheme = network.scheme
    if base_url(key, url, allow_path=False).scheme != scheme:
        raise ConfigError(
            key,
            f"'{url}' does not use {scheme}://, which the registry serves in tlsMode {network.tls_mode}",
            f"Use {scheme}://address:port.",
        )


def instance_settings(
    raw: Raw, docker: DockerHostSettings, readiness: ReadinessSettings, network: Network
) -> tuple[InstanceSettings, ...]:
    listed = tuple(host.rstrip("/") if not host.startswith("unix://") else host for host in raw.strings("dockerHosts"))
    urls = raw.strings("readinessUrls")
    single_url = raw.text("readinessUrl").strip()
    if urls and single_url:
        raise ConfigError(
            "readinessUrls", "is set together with readinessUrl", "Use readinessUrls (one per instance) only."
        )
    for url in urls:
        _check_scheme("readinessUrls", url, network)
    if not listed:
        if len(urls) > 1:
            raise ConfigError(
                "readinessUrls",
                f"has {len(urls)} entries for 1 instance",
                "Give one URL per Docker host (dockerHosts), in the same order.",
            )
        url = urls[0] if urls else readiness.url
        return (InstanceSettings("", docker, url, host_slug=_host_slug(docker.host)),)

    seen: dict[str, str] = {}
    for host in listed:
        _docker_scheme("dockerHosts", host)
        identity = host_identity(host)
        if identity in seen:
            raise ConfigError(
                "dockerHosts",
                f"lists the Docker host '{identity}' twice ('{seen[identity]}' and '{host}')",
                "List each host once: two instances on one engine would fight over the container name and port.",
            )
        seen[identity] = host
    explicit = raw.text("dockerHost").strip()
    if explicit != (raw.default("dockerHost") or "") and host_identity(explicit) not in seen:
        raise ConfigError(
            "dockerHost",
            f"'{explicit}' is set but is not one of dockerHosts",
            "List it in dockerHosts (its instance keeps the single-host resources), or unset dockerHost.",
        )
    bind_address = network.bind_address
    if len(listed) > 1:
        address = ipaddress.ip_address(bind_address)
        if not (address.is_unspecified or address.is_loopback):
            raise ConfigError(
                "bindAddress",
                f"'{bind_address}' is an address of one machine, but the port is published on {len(listed)} hosts",
                "Use 0.0.0.0 (or ::) with several dockerHosts, or 127.0.0.1 behind a proxy on each host.",
            )
    if docker.ca_material is not None and not any(h.startswith("tcp://") for h in listed):
        raise ConfigError("dockerHosts", "TLS material is only used with tcp:// hosts", "List tcp:// hosts.")
    plain_tcp = [h for h in listed if h.startswith("tcp://")] if docker.ca_material is None else []
    if plain_tcp:
        raise ConfigError(
            "dockerHosts",
            f"'{plain_tcp[0]}' is a Docker API without TLS: anyone who reaches that port is root on that host",
            "Use ssh://user@host, or set dockerCaCert, dockerCert and dockerKey for daemons started with --tlsverify.",
        )
    if urls and len(urls) != len(listed):
        raise ConfigError(
            "readinessUrls",
            f"has {len(urls)} entries for {len(listed)} Docker hosts",
            "Give one URL per entry of dockerHosts, in the same order, or none to derive them from the hosts.",
        )
    if single_url and len(listed) > 1:
        raise ConfigError(
            "readinessUrl",
            f"is one URL for {len(listed)} instances",
            "Set readinessUrls instead, one per entry of dockerHosts.",
        )
    keys: dict[str, str] = {}
    instances = []
    for index, host in enumerate(listed):
        key = _host_slug(host)
        if key in keys:
            raise ConfigError(
                "dockerHosts",
                f"'{host}' and '{keys[key]}' give the same resource name '{key}'",
                "Write the two URLs so they differ in more than punctuation and case.",
            )
        keys[key] = host
        if urls:
            url = urls[index]
        elif len(listed) == 1:
            url = single_url or readiness.url
        else:
            url = network.url_at(_address_of(host, bind_address))
        instance_docker = DockerHostSettings(
            host=host,
            ssh_opts=docker.ssh_opts,
            # TLS material belongs to tcp:// daemons; the other schemes do not take it.
            ca_material=docker.ca_material if host.startswith("tcp://") else None,
            cert_material=docker.cert_material if host.startswith("tcp://") else None,
            key_material=docker.key_material if host.startswith("tcp://") else None,
            reveal_key=docker.reveal_key if host.startswith("tcp://") else None,
        )
        on_docker_host = host_identity(host) == host_identity(docker.host)
        instances.append(InstanceSettings(key, instance_docker, url, on_docker_host=on_docker_host, host_slug=key))
    return tuple(instances)


def check_shared_data(storage: StorageSettings, instances: tuple[InstanceSettings, ...], data_volume: str) -> None:
    if len(instances) > 1 and not storage.shared and not data_volume.startswith("/"):
        raise ConfigError(
            "dataVolume",
            f"is the named Docker volume '{data_volume}' but dockerHosts lists {len(instances)} hosts: each host "
            "would get a volume of its own and their packs would silently diverge",
            "Set storage to s3 (one bucket shared by every instance), or dataVolume to a host path that is the "
            "same shared mount (e.g. NFS) on every host.",
        )
