"""The legacy kind: Spectro's spectro-registry server, which terminates TLS and checks the htpasswd file itself.

Its env follows distribution's rule ``REGISTRY_<SECTION>_<KEY>`` (the server is built on distribution); it keeps
packs under ``/data``, answers ``/health`` without auth and ``/v1/_catalog`` with it, and is registered in Palette
through the pack-registry API. Its pack API belongs to the closed Spectro CLI, so the program publishes no packs
to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi

from components.kinds.kind import DRAIN_ENV, ContainerFile, Refusal, RegistryKind, ServerInputs, ServerSetup
from components.palette.shapes import PACK_REGISTRY_API

__all__ = [
    "AUTH_FILE",
    "CERT_FILE",
    "CONTAINER_PORT",
    "KEY_FILE",
    "LEGACY",
    "MINIMUM_TLS",
    "WRITE_PROBE_PATH",
    "LegacyKind",
]

CONTAINER_PORT = 5000
"""The port the server listens on inside its container."""
AUTH_FILE = "/auth/htpasswd-basic"
CERT_FILE = "/certs/tls.crt"
KEY_FILE = "/certs/tls.key"

MINIMUM_TLS = {"1.2": "tls1.2", "1.3": "tls1.3"}
"""tlsMinVersion -> REGISTRY_HTTP_TLS_MINIMUMTLS (distribution's registry/registry.go tlsVersions)."""


WRITE_PROBE_PATH = "/v2/palette-pack-registry/readiness-probe/blobs/uploads/"
"""Where the readiness gate tries a push as the read-only user: distribution's blob-upload route. spectro-registry is
built on distribution, but Spectro documents neither whether it serves ``/v2/`` nor whether it has roles; a server
without the route answers 404 and nothing is tried."""


@dataclass(frozen=True)
class LegacyKind(RegistryKind):
    """The server answers clients itself: TLS, basic auth against the htpasswd file, every route."""

    def write_probe_path(self, base_content_path: str) -> str | None:
        return WRITE_PROBE_PATH

    def runs_image(self, repository: str) -> bool:
        return repository.rsplit("/", 1)[-1] == "spectro-registry"

    def server(self, inputs: ServerInputs) -> ServerSetup:
        env: list[Any] = [
            f"REGISTRY_LOG_LEVEL={inputs.log_level}",
            # REGISTRY_AUTH=htpasswd resets the whole auth section: REALM and PATH must always come with it.
            "REGISTRY_AUTH=htpasswd",
            f"REGISTRY_AUTH_HTPASSWD_REALM={inputs.auth_realm}",
            f"REGISTRY_AUTH_HTPASSWD_PATH={AUTH_FILE}",
            DRAIN_ENV,
            # Spectro documents no configuration file of spectro-registry's (its path, what else it must hold): the
            # secret stays in the env, where the install guide's settings are.
            pulumi.Output.secret(inputs.http_secret).apply(lambda value: f"REGISTRY_HTTP_SECRET={value}"),
        ]
        files = [ContainerFile(AUTH_FILE, inputs.htpasswd)]
        if inputs.tls is not None:
            env += [
                f"REGISTRY_HTTP_TLS_CERTIFICATE={CERT_FILE}",
                f"REGISTRY_HTTP_TLS_KEY={KEY_FILE}",
                f"REGISTRY_HTTP_TLS_MINIMUMTLS={MINIMUM_TLS[inputs.tls_min_version]}",
            ]
            files += [
                ContainerFile(CERT_FILE, inputs.tls.certificate),
                ContainerFile(KEY_FILE, inputs.tls.private_key, secret=True),
            ]
        return ServerSetup(env=env, files=files, port=CONTAINER_PORT)

    def packs_refusal(self) -> Refusal | None:
        return Refusal(
            "packs",
            "lists packs but registryKind is legacy: the legacy server's pack API belongs to the closed Spectro CLI",
            "Set registryKind to oci (`pulumi config set registryKind oci`), or push the packs by hand with "
            "`spectro pack push`.",
        )

    def maintenance_refusal(self) -> Refusal | None:
        return Refusal(
            "maintenanceReadOnly",
            "is true but registryKind is legacy: Spectro documents no read-only mode or garbage collection for "
            "spectro-registry",
            "Set it to false (`pulumi config set maintenanceReadOnly false`); docs/operating.md says what holds for "
            "the legacy kind's disk space.",
        )

    def registration_inputs(self, base_content_path: str) -> dict[str, Any]:
        # Only an OCI registration carries the kind: a legacy one keeps exactly the inputs it had.
        return {}

    def client_outputs(
        self, *, host_port: str, https: bool, push_user: str, private_ca: bool, loopback: bool, pack_repository: str
    ) -> dict[str, str]:
        return {"loginCommand": f"spectro registry login {host_port}" + ("" if https else " --insecure")}


LEGACY = LegacyKind(
    name="legacy",
    default_image="gcr.io/spectro-images-public/release/spectro-registry:2.6.0",
    data_path="/data",
    health_path="/health",
    catalog_path="/v1/_catalog",
    palette=PACK_REGISTRY_API,
    # Whether spectro-registry keeps its read-only user from pushing is not documented: the gate tries, and a push
    # it is not refused is a warning naming the user Palette holds, not a failure of a server run as Spectro says.
    write_probe_must_refuse=False,
)
