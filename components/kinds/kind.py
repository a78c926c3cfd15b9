"""What a registry kind is: the interface every kind implements, and the facts the servers share."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

import pulumi

if TYPE_CHECKING:
    from components.palette.shapes import RegistryShape

__all__ = [
    "DRAIN_ENV",
    "DRAIN_TIMEOUT_SECONDS",
    "PACK_ARCHIVE",
    "ContainerFile",
    "FrontContainer",
    "Refusal",
    "RegistryKind",
    "ServedTls",
    "ServerInputs",
    "ServerSetup",
]

PACK_ARCHIVE = "spectro-packs/archive"
"""Where Palette reads packs under an OCI registry's base content path."""

DRAIN_TIMEOUT_SECONDS = 10
"""How long the server finishes in-flight requests after SIGTERM (distribution's http.draintimeout)."""

DRAIN_ENV = f"REGISTRY_HTTP_DRAINTIMEOUT={DRAIN_TIMEOUT_SECONDS}s"
"""Distribution (the legacy server too) finishes in-flight requests for this long after SIGTERM."""


class Refusal(NamedTuple):
    """A setting a kind cannot work with: the config key, the problem, the fix (``config.ConfigError``'s parts)."""

    key: str
    problem: str
    fix: str


@dataclass(frozen=True)
class ContainerFile:
    """A file uploaded read-only into a container."""

    path: str
    content: pulumi.Input[str]
    secret: bool = False
    """Kept secret in the state (the content is wrapped in ``Output.secret``)."""


@dataclass(frozen=True)
class FrontContainer:
    """A container in front of the registry that holds the instance's published port and reaches the registry on
    the instance's private network (components/instance/container.py)."""

    role: str
    """Its part of the resource names (``<instance>-<role>-container``) and of the container's (``<name>-<role>``)."""
    image: str
    files: list[ContainerFile]
    port: int
    """The port it listens on in its container: the container port to publish."""
    registry_alias: str
    """The registry container's alias on the private network, the name the front reaches it by."""


@dataclass(frozen=True)
class ServedTls:
    """The certificate chain and key a registry serves (none: plain HTTP)."""

    certificate: pulumi.Input[str]
    """PEM chain, server certificate first."""
    private_key: pulumi.Input[str]
    """PEM key of the server certificate (secret)."""


@dataclass(frozen=True)
class ServerInputs:
    """What the registry server of one instance is set up from (the same on every instance)."""

    log_level: str
    auth_realm: str
    admin_user: str
    """The user who may push (adminUser)."""
    htpasswd: pulumi.Input[str]
    """Content of the bcrypt htpasswd file (secret)."""
    tls: ServedTls | None
    """What is served over TLS; None serves plain HTTP."""
    tls_min_version: str
    """Oldest TLS version served (with ``tls``)."""
    http_secret_env: pulumi.Input[str]
    """``REGISTRY_HTTP_SECRET=...`` (secret)."""
    storage_env: Sequence[pulumi.Input[str]] = ()
    """REGISTRY_STORAGE_* env for storage other than the container's filesystem (added after the kind's env)."""
    proxy_image: str | None = None
    """The image of a kind's front container, where it has one."""
    read_only: bool = False
    """Serve pulls only, for garbage collection (maintenanceReadOnly; only a kind without a ``maintenance_refusal``
    is given True)."""
    upload_purge_hours: int | None = None
    """Delete an upload still unfinished after this many hours (uploadPurgeAgeHours); None leaves the server's
    own setting."""
    egress: bool = False
    """The registry must reach something outside the host (an S3 bucket): with a front container it is then on
    an egress network too, besides the private one."""


@dataclass(frozen=True)
class ServerSetup:
    """How one instance runs the kind's server."""

    env: list[pulumi.Input[str]]
    """The registry container's env, before the storage env."""
    files: list[ContainerFile]
    """Files the registry container needs, before the storage's."""
    port: int
    """The container port the published port maps to (the front container's, where there is one)."""
    front: FrontContainer | None = None
    """A container in front of the registry; the registry then joins only the instance's private network."""


@dataclass(frozen=True)
class RegistryKind:
    """What one kind of registry server needs from the program. The defaults are a registry's that the program
    deploys without a proxy in front; each kind overrides what differs."""

    name: str
    """The ``registryKind`` config value."""
    default_image: str
    """Server image used when ``image`` is not set (a pinned tag)."""
    data_path: str
    """Where the server keeps pack data inside its container (the volume or host path is mounted there)."""
    health_path: str
    """Unauthenticated path the readiness gate polls first."""
    catalog_path: str
    """Path the read-only user must be able to read."""
    palette: RegistryShape
    """How Palette registers it: the API shape of its registration (``palette/shapes.py``)."""
    deploys: bool = True
    """The program runs the server (False: a registry the user already runs, see ``EXISTING``)."""
    require_challenge: bool = False
    """The readiness gate requires the health path to answer 401 with a Basic challenge (a proxy guards it)."""
    existing: RegistryKind | None = field(default=None, repr=False)
    """What this kind becomes when ``ociEndpoint`` names a registry the user runs (None: not allowed)."""

    def write_probe_path(self, base_content_path: str) -> str | None:
        """The path where the readiness gate proves the read-only user cannot start a push (None: no probe)."""
        return None

    def runs_image(self, repository: str) -> bool:
        """Whether ``repository`` (an image without tag or digest) is this kind's server."""
        return False

    def server(self, inputs: ServerInputs) -> ServerSetup:
        """The registry container's env and files, its port, and what stands in front of it."""
        raise NotImplementedError(f"registry kind '{self.name}' deploys no server")

    def misfit(self, *, https: bool, palette_enabled: bool, realm: str) -> Refusal | None:
        """What this kind cannot work with among the other settings, or None."""
        return None

    def packs_refusal(self) -> Refusal | None:
        """Why the stack's ``packs`` cannot be published to this kind, or None."""
        return None

    def maintenance_refusal(self) -> Refusal | None:
        """Why this kind cannot be switched read-only for garbage collection (``maintenanceReadOnly``), or None."""
        return Refusal(
            "maintenanceReadOnly",
            f"is true but registryKind {self.name} has no read-only maintenance mode",
            "Set it to false (`pulumi config set maintenanceReadOnly false`).",
        )

    def garbage_collect_command(self) -> str | None:
        """The command that, run inside the registry container while it is read-only, deletes what no tag keeps
        (None: the kind has none)."""
        return None

    def registration_inputs(self, base_content_path: str) -> dict[str, Any]:
        """The Palette registration's inputs that depend on the kind."""
        return {"registry_kind": self.palette.kind, "base_content_path": base_content_path}

    def client_outputs(
        self, *, host_port: str, https: bool, push_user: str, private_ca: bool, loopback: bool, pack_repository: str
    ) -> dict[str, str]:
        """The client commands the stack exports (export name -> value), in the order the outputs table lists them."""
        return {}
