"""The OCI kind: CNCF distribution behind an nginx proxy; and an existing OCI registry that the user runs.

Distribution's htpasswd auth lets every user push and delete (distribution ``registry/auth/htpasswd/access.go``),
so each instance is two containers on a private network of their own: the registry joins only that network and
publishes no port, and the proxy (``instance/proxy.py``), the only one reachable through the published port,
terminates TLS, checks the same bcrypt file and lets only the admin user write. Registered in Palette as an OCI
registry holding packs, which live at ``<baseContentPath>/spectro-packs/archive/<name>:<version>`` and are pushed
with ``oras``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from components.instance import proxy
from components.kinds.kind import (
    DRAIN_ENV,
    PACK_ARCHIVE,
    ContainerFile,
    FrontContainer,
    Refusal,
    RegistryKind,
    ServerInputs,
    ServerSetup,
)
from components.palette.shapes import OCI_REGISTRY_API

__all__ = [
    "CONFIG_FILE",
    "DEFAULT_IMAGE",
    "EXISTING",
    "NO_BLOB_CACHE_ENV",
    "OCI",
    "UPLOAD_PURGE_INTERVAL",
    "ExistingKind",
    "OciKind",
    "OciRegistry",
    "maintenance_env",
]

# The 2.8 line is what the Debian stand-in (distribution 2.8.2) tests; 3.x tags are untested.
DEFAULT_IMAGE = "registry:2.8.3"

NO_BLOB_CACHE_ENV = "REGISTRY_STORAGE_CACHE_BLOBDESCRIPTOR=none"
"""Distribution caches nothing for a cache type it does not know (registry/handlers/app.go, with a warning).
Garbage collection counts on it too: a running registry that cached a collected blob's descriptor would go on
answering that the blob exists, and a client would then skip uploading it again."""

CONFIG_FILE = "/etc/docker/registry/config.yml"
"""The official image's configuration file (distribution-library-image: its /entrypoint.sh serves it). The
``garbage-collect`` command reads it the way ``serve`` does, environment overrides included
(distribution registry/root.go ``GCCmd`` -> registry.go ``resolveConfiguration`` -> configuration.Parse), so a
``docker exec`` in the registry container collects the storage the registry serves, an S3 bucket too."""

UPLOAD_PURGE_INTERVAL = "1h"
"""How often the registry looks for abandoned uploads: a walk of the repositories' ``_uploads`` folders only
(distribution registry/storage/purgeuploads.go skips the others), cheap enough hourly, even on S3."""


def maintenance_env(*, read_only: bool, upload_purge_hours: int | None) -> list[str]:
    """distribution's ``storage.maintenance`` settings as env (registry/handlers/app.go ``NewApp``).

    Each subsection is one variable whose value is the whole map in YAML (JSON is YAML): the env parser stores a
    deeper variable such as ``REGISTRY_STORAGE_MAINTENANCE_READONLY_ENABLED`` in a ``map[string]interface{}``,
    which ``NewApp`` refuses with a panic ("readonly config key must contain additional keys"), and
    ``startUploadPurger`` needs every key of ``uploadpurging`` (enabled, age, interval, dryrun) or panics. A
    variable replaces only its own subsection (configuration/parser.go ``overwriteMap``), so both hold next to
    ``REGISTRY_STORAGE=s3``, which the parser applies first (it sorts the variables).
    """
    env = []
    if read_only:
        # Every route that writes then answers 405 with "Allow: GET, HEAD" (the handlers register no write
        # method, registry/handlers/{blob,blobupload,manifests}.go); the proxy words that for clients.
        env.append("REGISTRY_STORAGE_MAINTENANCE_READONLY=" + json.dumps({"enabled": True}))
    if upload_purge_hours is not None:
        purge = {"enabled": True, "age": f"{upload_purge_hours}h", "interval": UPLOAD_PURGE_INTERVAL, "dryrun": False}
        env.append("REGISTRY_STORAGE_MAINTENANCE_UPLOADPURGING=" + json.dumps(purge))
    return env


_DISTRIBUTION_REPOSITORIES = frozenset(
    {"registry", "library/registry", "docker.io/library/registry", "index.docker.io/library/registry"}
)
"""The official CNCF distribution image, however Docker Hub's name is spelled."""


@dataclass(frozen=True)
class OciRegistry(RegistryKind):
    """What every OCI registry shares, the one the program runs and one the user runs: packs are pushed, and the
    registry logged in to, with ``oras``."""

    def client_outputs(
        self, *, host_port: str, https: bool, push_user: str, private_ca: bool, loopback: bool, pack_repository: str
    ) -> dict[str, str]:
        # ORAS reads its TLS flags per command (login stores only the credential), and talks plain HTTP to localhost
        # unless told otherwise (oras cmd/oras/internal/option/remote.go): every command says it.
        if not https:
            flags = "--plain-http "
        else:
            flags = "--ca-file ca.crt " if private_ca else ""
            if loopback:
                flags += "--plain-http=false "
        return {
            "packRepository": pack_repository,
            "pushCommand": f"oras push {flags}{pack_repository}/<name>:<version> <name>-<version>.tar.gz",
            "loginCommand": f"oras login -u {push_user} {flags}{host_port}",
        }


@dataclass(frozen=True)
class ExistingKind(OciRegistry):
    """An OCI registry the user already runs (``ociEndpoint``): nothing deployed, the registry's own auth decides
    who may push; registered in Palette like ``OCI``."""

    def maintenance_refusal(self) -> Refusal | None:
        return Refusal(
            "maintenanceReadOnly",
            "is true but ociEndpoint names a registry the program does not run",
            "Set it to false and use that registry's own maintenance (distribution's storage.maintenance.readonly "
            "and `registry garbage-collect`; Harbor and Zot have a garbage collection of their own).",
        )


EXISTING = ExistingKind(
    name="oci",
    # Nothing runs it: the default is only what the image checks of the config read.
    default_image=DEFAULT_IMAGE,
    data_path="",
    health_path="/v2/",
    catalog_path="/v2/_catalog",
    palette=OCI_REGISTRY_API,
    deploys=False,
)


@dataclass(frozen=True)
class OciKind(OciRegistry):
    """Distribution behind the proxy: the proxy guards every route, so the gate expects its Basic challenge and
    proves the read-only user cannot start a push."""

    def write_probe_path(self, base_content_path: str) -> str | None:
        return f"/v2/{base_content_path}/{PACK_ARCHIVE}/readiness-probe/blobs/uploads/"

    def runs_image(self, repository: str) -> bool:
        return repository in _DISTRIBUTION_REPOSITORIES

    def server(self, inputs: ServerInputs) -> ServerSetup:
        if not inputs.proxy_image:
            raise ValueError(f"registry kind '{self.name}' needs a proxy_image")
        # Behind the proxy: plain HTTP on the instance's private network, which only the proxy reaches; the proxy
        # terminates TLS and checks the passwords.
        storage = set(inputs.storage_env)
        env: list[Any] = [
            f"REGISTRY_LOG_LEVEL={inputs.log_level}",
            DRAIN_ENV,
            inputs.http_secret_env,
            *(entry for entry in proxy.registry_env(egress=inputs.egress) if entry not in storage),
        ]
        if not inputs.storage_env:
            # The official image's config caches blob descriptors in memory: with one data location shared by
            # several hosts, an instance would go on serving a blob another instance deleted.
            env.append(NO_BLOB_CACHE_ENV)
        env += maintenance_env(read_only=inputs.read_only, upload_purge_hours=inputs.upload_purge_hours)
        https = inputs.tls is not None
        config = proxy.proxy_config(
            proxy.ProxyConfigArgs(
                admin_user=inputs.admin_user,
                realm=inputs.auth_realm,
                https=https,
                tls_min_version=inputs.tls_min_version,
            )
        )
        files = [
            ContainerFile(proxy.CONFIG_FILE, config),
            ContainerFile(proxy.HTPASSWD_FILE, inputs.htpasswd, secret=True),
        ]
        if inputs.tls is not None:
            files += [
                ContainerFile(proxy.CERT_FILE, inputs.tls.certificate),
                ContainerFile(proxy.KEY_FILE, inputs.tls.private_key, secret=True),
            ]
        front = FrontContainer(
            role="proxy",
            image=inputs.proxy_image,
            files=files,
            port=proxy.PROXY_PORT,
            registry_alias=proxy.REGISTRY_HOST,
        )
        # The proxy publishes its port; the registry listens on the private network only.
        return ServerSetup(env=env, files=[], port=proxy.PROXY_PORT, front=front)

    def maintenance_refusal(self) -> Refusal | None:
        return None

    def garbage_collect_command(self) -> str | None:
        # --delete-untagged: a manifest no tag points at any more (a version pushed again with other files, by hand
        # or by another tool) is collected with its layer too; Palette reads packs by tag only.
        return f"registry garbage-collect --delete-untagged {CONFIG_FILE}"

    def misfit(self, *, https: bool, palette_enabled: bool, realm: str) -> Refusal | None:
        if realm == "off":
            # nginx's auth_basic takes the realm "off" as "no authentication" (ngx_http_auth_basic_module).
            return Refusal(
                "authRealm",
                "'off' would turn the proxy's basic auth off",
                "Use another realm, e.g. Spectro Pack Registry.",
            )
        if not https and palette_enabled:
            return Refusal(
                "tlsMode",
                "is http, but Palette registers OCI registries at an https:// endpoint only",
                "Use tlsMode self-signed or provided with registryKind oci, or set paletteRegistration to false.",
            )
        return None


OCI = OciKind(
    name="oci",
    default_image=DEFAULT_IMAGE,
    data_path="/var/lib/registry",
    health_path="/v2/",
    catalog_path="/v2/_catalog",
    palette=OCI_REGISTRY_API,
    require_challenge=True,
    existing=EXISTING,
)
