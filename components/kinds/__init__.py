"""The registry kinds: the few facts in which the legacy pack registry and an OCI registry differ.

The lifecycle (credentials, certificates, instances on each Docker host, the rolling chain, readiness
gates, the Palette registration, retries and redaction) is written once, in the other modules; everything
that depends on the kind is read from one ``RegistryKind`` here, the way distribution's storage drivers
sit behind one interface.

legacy
    Spectro's spectro-registry server (what Spectro's docs now call the legacy pack registry): it
    terminates TLS itself, keeps packs under ``/data``, answers ``/health`` and ``/v1/_catalog``, and is
    registered in Palette through the pack-registry API.
oci
    CNCF distribution, the official ``registry`` image (data under ``/var/lib/registry``), behind an nginx
    proxy in the same network namespace. Distribution's htpasswd auth lets every user push and delete
    (distribution ``registry/auth/htpasswd/access.go``), so nginx terminates TLS, checks the same bcrypt
    file and lets only the admin user write. Registered in Palette as an OCI registry with
    ``providerType: pack``; packs live at ``<baseContentPath>/spectro-packs/archive/<name>:<version>``.
an existing OCI registry (``ociEndpoint``)
    Harbor, Zot, distribution or any registry with basic auth that the user runs: nothing is deployed, the
    program registers it in Palette like the OCI kind and publishes packs to it.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["EXISTING", "KINDS", "LEGACY", "OCI", "PACK_ARCHIVE", "RegistryKind"]

PACK_ARCHIVE = "spectro-packs/archive"
"""Where Palette reads packs under an OCI registry's base content path."""


@dataclass(frozen=True)
class RegistryKind:
    """What one kind of registry server needs from the program."""

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
    proxied: bool
    """An nginx proxy in front terminates TLS and lets only the admin user write."""
    palette_kind: str
    """How Palette registers it: the registration's ``registry_kind``."""
    deploys: bool = True
    """The program runs the server (False: a registry the user already runs, see ``EXISTING``)."""

    def write_probe_path(self, base_content_path: str) -> str | None:
        """The path where the readiness gate proves the read-only user cannot start a push (None: no probe)."""
        if not self.proxied:
            return None
        return f"/v2/{base_content_path}/{PACK_ARCHIVE}/readiness-probe/blobs/uploads/"


LEGACY = RegistryKind(
    name="legacy",
    default_image="gcr.io/spectro-images-public/release/spectro-registry:2.6.0",
    data_path="/data",
    health_path="/health",
    catalog_path="/v1/_catalog",
    proxied=False,
    palette_kind="legacy",
)

OCI = RegistryKind(
    name="oci",
    # The 2.8 line is what the Debian stand-in (distribution 2.8.2) tests; 3.x tags are untested.
    default_image="registry:2.8.3",
    data_path="/var/lib/registry",
    health_path="/v2/",
    catalog_path="/v2/_catalog",
    proxied=True,
    palette_kind="oci",
)

EXISTING = RegistryKind(
    name="oci",
    default_image="",
    data_path="",
    health_path="/v2/",
    catalog_path="/v2/_catalog",
    proxied=False,
    palette_kind="oci",
    deploys=False,
)
"""An OCI registry the user already runs (``ociEndpoint``): nothing deployed, the registry's own auth decides
who may push; registered in Palette like ``OCI``."""

KINDS = {kind.name: kind for kind in (LEGACY, OCI)}
