"""An OCI registry the user already runs (Harbor, Zot, distribution, ...): the program deploys nothing, it
registers that registry in Palette and publishes the packs to it."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cryptography import x509

from components.config.network import dns_name_problem, ip_problem, is_ip
from components.config.source import ConfigError, Raw, base_url
from components.config.tls import refuse_private_key
from components.kinds import RegistryKind

_DEPLOY_KEYS = (
    "hosts",
    "ipAddresses",
    "port",
    "bindAddress",
    "tlsMode",
    "tlsCertificate",
    "image",
    "imagePullUsername",
    "proxyImage",
    "dataVolume",
    "memoryLimitMb",
    "cpus",
    "dockerHost",
    "dockerHosts",
    "dockerSshOpts",
    "dockerCaCert",
    "dockerCert",
    "storage",
    "s3Bucket",
    "s3Endpoint",
    "readinessUrls",
)
"""What only a registry the program deploys uses: with ociEndpoint the endpoint says where the registry is,
and a value here would be taken and then ignored."""

_DEPLOY_SECRET_KEYS = (
    "tlsPrivateKey",
    "adminPassword",
    "readOnlyPasswords",
    "imagePullPassword",
    "dockerKey",
    "s3AccessKey",
    "s3SecretKey",
)


@dataclass(frozen=True)
class ExistingRegistry:
    """Where the registry is and who may do what there."""

    endpoint: str
    """``https://host[:port]``, as Palette and the clusters reach it (the default port left out)."""
    host: str
    """The endpoint's host name or IP address (what TLS is verified for)."""
    port: int
    ca_certificate: str | None
    """PEM chain to trust, or None for a certificate a public CA issued."""
    push_user: str
    push_password: Any = None
    """Secret Output."""
    palette_user: str = ""
    palette_password: Any = None
    """Secret Output (the push password when Palette uses the push user)."""
    warnings: tuple[str, ...] = ()

    @property
    def host_port(self) -> str:
        return self.endpoint.split("://", 1)[1]

    def endpoint_values(self, raw: Raw, reveal: Callable[[str], str | None]) -> dict[str, str]:
        """The config the rest of the settings read the endpoint from, refusing every key that only a deployed
        registry uses (a secret one is refused without being shown)."""
        for key in (*_DEPLOY_KEYS, *_DEPLOY_SECRET_KEYS):
            if raw.is_set(key) if key in _DEPLOY_KEYS else bool(reveal(key)):
                raise ConfigError(
                    key,
                    "describes a registry the program deploys, but ociEndpoint names one that already runs",
                    f"Unset {key} (the endpoint's host and port are used), or unset ociEndpoint.",
                )
        ip = is_ip(self.host)
        return {
            "hosts": json.dumps([] if ip else [self.host]),
            "ipAddresses": json.dumps([self.host] if ip else []),
            "port": str(self.port),
            "tlsMode": "self-signed",
        }


_FIX_ENDPOINT = "Set ociEndpoint to the registry's https:// base URL, e.g. https://harbor.example.com."


def existing_registry(
    raw: Raw, reveal: Callable[[str], str | None], secret: Callable[[str], Any], kind: RegistryKind
) -> ExistingRegistry | None:
    """The existing registry ``ociEndpoint`` names, or None when the program deploys its own."""
    url = raw.text("ociEndpoint").strip().rstrip("/")
    deploy_only = [key for key in ("ociCaCertificate", "ociPushUser") if raw.text(key).strip()]
    deploy_only += [key for key in ("ociPushPassword", "palettePassword") if reveal(key)]
    if not url:
        if deploy_only:
            raise ConfigError(
                deploy_only[0],
                "is set but ociEndpoint is not (it is used only for an existing registry)",
                "Set ociEndpoint to the registry it belongs to, or unset it.",
            )
        return None
    if kind.existing is None:
        raise ConfigError(
            "ociEndpoint",
            f"names an OCI registry but registryKind is {kind.name}",
            "Set registryKind to oci (Palette registers an existing registry as an OCI pack registry).",
        )
    parts = base_url("ociEndpoint", url, allow_path=False, example="https://harbor.example.com")
    if parts.scheme != "https":
        raise ConfigError("ociEndpoint", f"'{url}' is not https://", _FIX_ENDPOINT + " Palette needs TLS.")
    host = parts.hostname or ""
    problem = ip_problem(host) if is_ip(host) else dns_name_problem(host)
    if problem:
        raise ConfigError("ociEndpoint", f"host '{host}' {problem}", _FIX_ENDPOINT)
    port = parts.port or 443
    shown = f"[{host}]" if ":" in host else host
    endpoint = f"https://{shown}" + ("" if port == 443 else f":{port}")

    ca = raw.text("ociCaCertificate").strip() or None
    if ca is not None:
        refuse_private_key("ociCaCertificate", ca)
        try:
            x509.load_pem_x509_certificates(ca.encode())
        except ValueError:
            raise ConfigError(
                "ociCaCertificate",
                "is not a PEM certificate",
                "Set it from the CA file: `pulumi config set ociCaCertificate < ca.crt`.",
            ) from None
        ca += "\n"

    push_user = raw.text("ociPushUser").strip()
    if not push_user or not reveal("ociPushPassword"):
        raise ConfigError(
            "ociPushUser",
            "and ociPushPassword are needed with ociEndpoint (packs are pushed as that user)",
            "Set both: `pulumi config set ociPushUser <user>` and `pulumi config set --secret ociPushPassword <pw>`.",
        )
    palette_user = raw.text("paletteUser").strip()
    warnings: list[str] = []
    if not palette_user:
        raise ConfigError(
            "paletteUser",
            "is not set: with ociEndpoint, Palette needs a pull user of that registry",
            "Set paletteUser and `pulumi config set --secret palettePassword <pw>` (a read-only user).",
        )
    if palette_user == push_user:
        warnings.append(
            f"paletteUser is the push user '{push_user}': Palette will hold credentials that can push and delete "
            "packs; a pull-only user of the registry is enough for Palette."
        )
        palette_password = secret("palettePassword") if reveal("palettePassword") else secret("ociPushPassword")
    elif not reveal("palettePassword"):
        raise ConfigError(
            "palettePassword",
            f"is not set: Palette logs in to {endpoint} as '{palette_user}'",
            "Set it: `pulumi config set --secret palettePassword <password>`.",
        )
    else:
        palette_password = secret("palettePassword")
    return ExistingRegistry(
        endpoint=endpoint,
        host=host,
        port=port,
        ca_certificate=ca,
        push_user=push_user,
        push_password=secret("ociPushPassword"),
        palette_user=palette_user,
        palette_password=palette_password,
        warnings=tuple(warnings),
    )
