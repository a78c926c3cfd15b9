"""Which registry server runs: the legacy pack registry or an OCI registry behind a proxy, and the OCI facts."""

from __future__ import annotations

from dataclasses import dataclass

from components.config.container import image_reference
from components.config.source import ConfigError, Raw
from components.kinds import KINDS, PACK_ARCHIVE, RegistryKind
from components.oci_reference import is_repository_path


@dataclass(frozen=True)
class KindSettings:
    """The registry kind and what only the OCI kind uses."""

    kind: RegistryKind
    base_content_path: str
    """Repository prefix under which Palette reads ``spectro-packs/archive/<name>:<version>`` (OCI only)."""
    proxy_image: str
    """nginx image of the proxy in front of each OCI instance (OCI only)."""

    @property
    def pack_repository_path(self) -> str:
        """``<baseContentPath>/spectro-packs/archive``: where packs are pushed."""
        return f"{self.base_content_path}/{PACK_ARCHIVE}"


def parse_kind(raw: Raw) -> KindSettings:
    name = raw.text("registryKind").strip()
    if name not in KINDS:
        raise ConfigError(
            "registryKind",
            f"'{name}' is not a registry kind",
            "Use legacy (Spectro's pack registry server) or oci (an OCI registry, as Spectro recommends).",
        )
    base = raw.text("baseContentPath").strip()
    if not is_repository_path(base) or len(base) > 200:
        raise ConfigError(
            "baseContentPath",
            f"'{base}' is not an OCI repository path (lower-case letters and digits, separated by '.', '_', '-' "
            "or '/', no leading or trailing '/', no '..')",
            "Use e.g. packs or spectro/packs.",
        )
    # Pulumi.yaml pins the official nginx image on a Debian tag on purpose: nginx checks htpasswd entries with the
    # C library's crypt(), and only glibc's libcrypt (libxcrypt) knows bcrypt; the alpine tags use musl, whose
    # crypt() has no bcrypt, so every login would fail.
    default = str(raw.default("proxyImage"))
    proxy_image = image_reference(raw.text("proxyImage").strip() or default, key="proxyImage", example=default)
    kind = KINDS[name]
    return KindSettings(kind=kind, base_content_path=base, proxy_image=proxy_image)


def check_kind_fits(kind: KindSettings, *, https: bool, palette_enabled: bool, realm: str, read_only: bool) -> None:
    """What the kind needs from the other settings, and whether it can go read-only for maintenance."""
    refusal = kind.kind.misfit(https=https, palette_enabled=palette_enabled, realm=realm)
    if refusal is None and read_only:
        refusal = kind.kind.maintenance_refusal()
    if refusal is not None:
        raise ConfigError(*refusal)


__all__ = ["KindSettings", "check_kind_fits", "parse_kind"]
