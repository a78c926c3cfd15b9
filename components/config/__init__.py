"""The stack's typed, validated settings.

Every key is declared in ``Pulumi.yaml`` (type, description, default). ``load_settings`` reads them once
and fails before any resource is registered, with one message that names the key and says how to fix it.
Validation is plain Python over plain values, one module per concern, so a table-driven test can cover
every rule:

- ``source``: reading raw values, secrecy of the secret keys, URLs;
- ``network``: host names, IP addresses, port, TLS mode;
- ``tls``: the provided certificate, the generated one's validity and key, the TLS floor;
- ``users``: user names, passwords, the auth realm;
- ``container``: the image, container name, data location, logs and limits;
- ``docker_hosts``: the Docker hosts, one instance each, and their readiness URLs;
- ``storage``: filesystem or one shared S3 bucket, the read-only maintenance mode, the purge of abandoned uploads;
- ``palette``: the registration in Palette.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from components.config.container import DEFAULT_IMAGE, MIN_MEMORY_LIMIT_MB, Container, parse_container, provider_cpus
from components.config.docker_hosts import (
    DockerHostSettings,
    InstanceSettings,
    ReadinessSettings,
    check_shared_data,
    docker_settings,
    instance_settings,
    readiness_settings,
)
from components.config.existing import ExistingRegistry, existing_registry
from components.config.kind import KindSettings, check_kind_fits, parse_kind
from components.config.network import Network, parse_network
from components.config.palette import PaletteSettings, palette_settings
from components.config.source import (
    PROJECT,
    SECRET_KEYS,
    ConfigError,
    Raw,
    check_secrets_are_encrypted,
    unless_empty,
)
from components.config.storage import StorageSettings, storage_settings
from components.config.tls import KEY_ALGORITHMS, Tls, parse_tls
from components.config.users import Users, parse_users
from components.project import PROJECT_FILE, declared_config

if TYPE_CHECKING:
    from components.packs.directory import PackSource

__all__ = [
    "DEFAULT_IMAGE",
    "KEY_ALGORITHMS",
    "MIN_MEMORY_LIMIT_MB",
    "PROJECT",
    "SECRET_KEYS",
    "ConfigError",
    "DockerHostSettings",
    "InstanceSettings",
    "KindSettings",
    "RegistrySettings",
    "load_settings",
    "parse_settings",
    "provider_cpus",
]


@dataclass(frozen=True)
class RegistrySettings:
    """Everything the program needs, validated, in the groups the config is parsed into: each component takes the
    groups it needs. Secrets stay ``pulumi.Output`` values."""

    network: Network
    """Where clients find the registry: names, port, bind address, and the TLS mode (``Network.https``)."""
    tls: Tls
    """The TLS material: a provided chain and key, or how to generate them; the TLS floor."""
    container: Container
    """The container every host runs: image, name, data location, logs and limits."""
    users: Users
    """Who may log in, with which passwords, and the basic-auth realm."""
    docker: DockerHostSettings
    """How Pulumi reaches the Docker engine of ``dockerHost``."""
    readiness: ReadinessSettings
    palette: PaletteSettings
    storage: StorageSettings
    """Filesystem (a volume or host path) or one S3 bucket shared by every instance; its maintenance."""
    instances: tuple[InstanceSettings, ...]
    """One per Docker host, the first one on `dockerHost` (or the first of `dockerHosts`)."""
    kind: KindSettings
    """The registry kind (legacy or oci) and the OCI settings."""
    existing: ExistingRegistry | None
    """The OCI registry ``ociEndpoint`` names (nothing is deployed), or None."""
    packs: tuple[PackSource, ...]
    """The pack directories the stack publishes, checked."""
    pack_warnings: tuple[str, ...]
    """What `pulumi up` warns about the packs (a missing logo.png or README.md)."""
    packs_allow_overwrite: bool
    """A pack's changed files may overwrite its published version, and a pack may overwrite a tag this stack did not
    push (``packsAllowOverwrite``, Spectro's ``--force``); otherwise both are refused."""
    delete_unreachable: bool
    """A delete that cannot reach the registry or Palette releases the pack or registration from the state
    (with a warning) instead of failing (``deleteUnreachable``; ``components.dynamic.unreachable``)."""


def parse_settings(
    get: Callable[[str], str | None],
    *,
    stack: str,
    secret: Callable[[str], Any] | None = None,
    reveal: Callable[[str], str | None] | None = None,
    is_secret: Callable[[str], bool] | None = None,
    env: Mapping[str, str] | None = None,
    declared: Mapping[str, Any] | None = None,
    project_dir: Path | None = PROJECT_FILE.parent,
) -> RegistrySettings:
    """Build and validate the settings.

    ``get`` returns a key's raw config string (or None when unset); ``secret`` wraps a secret key's value
    as a secret Output (None when unset); ``reveal`` returns a secret's plain text for validation only
    (it is never stored or printed); ``is_secret`` tells whether the CLI handed a key over as a secret
    (default: every key, as when all were set with ``--secret``). Relative ``packs`` are read from
    ``project_dir`` (default: the directory of Pulumi.yaml; None: only absolute ones are taken).
    """
    env = os.environ if env is None else env
    secret = secret or (lambda key: get(key) or None)
    reveal = unless_empty(reveal or get)
    is_secret = is_secret or (lambda _key: True)
    raw = Raw(get, declared_config() if declared is None else declared)
    check_secrets_are_encrypted(reveal, is_secret)

    kind = parse_kind(raw)
    existing = existing_registry(raw, reveal, secret, kind.kind)
    if existing is not None and kind.kind.existing is not None:
        # Nothing is deployed: the endpoint is where clients find the registry.
        raw = raw.with_values(existing.endpoint_values(raw, reveal))
        kind = dataclasses.replace(kind, kind=kind.kind.existing)
    network = parse_network(raw)
    tls = parse_tls(raw, reveal, secret, network)
    container = parse_container(raw, reveal, secret, kind.kind)
    users = parse_users(raw, reveal, secret)
    docker = docker_settings(raw, get, secret)
    readiness = readiness_settings(raw, network, kind.kind)
    storage = storage_settings(raw, secret, reveal)
    instances = instance_settings(raw, docker, readiness, network)
    check_shared_data(storage, instances, container.data_volume)
    palette = palette_settings(
        raw,
        reveal,
        env,
        stack,
        container.container_name,
        (existing.palette_user,) if existing else users.read_only_users,
        network.primary_host,
        endpoint_key="ociEndpoint" if existing else "hosts",
    )
    check_kind_fits(
        kind,
        https=network.https,
        palette_enabled=palette.enabled,
        realm=users.auth_realm,
        read_only=storage.maintenance.read_only,
    )
    # Imported here: the pack directory's rules read settings modules (components.config.source, values_yaml),
    # so an import at the top would make ``import components.packs.directory`` (first) fail on the cycle.
    from components.packs.directory import parse_packs

    packs, pack_warnings = parse_packs(raw, project_dir, kind.kind)
    if packs and not network.https:
        raise ConfigError(
            "packs",
            "lists packs but tlsMode is http: they are pushed with the admin password, which would cross the "
            "network in clear text",
            "Use tlsMode self-signed or provided to publish packs.",
        )
    return RegistrySettings(
        network=network,
        tls=tls,
        container=container,
        users=users,
        docker=docker,
        readiness=readiness,
        palette=palette,
        storage=storage,
        instances=instances,
        kind=kind,
        existing=existing,
        packs=packs,
        pack_warnings=tuple(pack_warnings),
        packs_allow_overwrite=raw.boolean("packsAllowOverwrite"),
        delete_unreachable=raw.boolean("deleteUnreachable"),
    )


def load_settings() -> RegistrySettings:
    """Read the current stack's config (inside a Pulumi program)."""
    import pulumi

    config = pulumi.Config()

    def reveal(key: str) -> str | None:
        # Plain text only for validation; the Output returned by `secret` is what resources receive.
        return config.get(key)

    def secret(key: str) -> Any:
        return config.get_secret(key) if config.get(key) else None

    def is_secret(key: str) -> bool:
        # The keys the CLI decrypted for this run (PULUMI_CONFIG_SECRET_KEYS).
        return pulumi.runtime.is_config_secret(f"{PROJECT}:{key}")

    return parse_settings(config.get, stack=pulumi.get_stack(), secret=secret, reveal=reveal, is_secret=is_secret)
