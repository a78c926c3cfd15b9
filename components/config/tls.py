"""TLS material: the provided certificate's checks, the generated one's validity and key, the TLS floor."""

from __future__ import annotations

import datetime
import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtensionOID

from components.config.network import Network
from components.config.source import ConfigError, Raw

KEY_ALGORITHMS = {
    # config value: (pulumi-tls algorithm, ecdsa curve, rsa bits)
    "ECDSA-P256": ("ECDSA", "P256", None),
    "ECDSA-P384": ("ECDSA", "P384", None),
    "RSA-2048": ("RSA", None, 2048),
    "RSA-3072": ("RSA", None, 3072),
    "RSA-4096": ("RSA", None, 4096),
}

TLS_MIN_VERSIONS = ("1.2", "1.3")
"""The tlsMinVersion values, which every server can require (kinds/legacy.py ``MINIMUM_TLS``, instance/proxy.py
``TLS_PROTOCOLS``)."""


def refuse_private_key(key: str, pem: str) -> None:
    """A certificate value holding a private key block would put that key in the stack file (and in the
    plain outputs built from it): refuse it, without echoing it."""
    if "PRIVATE KEY-----" in pem:
        raise ConfigError(
            key,
            "holds a private key block (it would be stored and exported in plain text)",
            "Set the certificates only; a key goes into its own secret key "
            "(`pulumi config set --secret tlsPrivateKey < tls.key`).",
        )


def check_provided_certificate(
    certificate_pem: str,
    private_key_pem: str,
    hosts: tuple[str, ...],
    ips: tuple[str, ...],
    now: datetime.datetime | None = None,
) -> None:
    """Fail unless the chain parses, its first certificate is valid now, matches the key and its SANs cover
    every name."""
    refuse_private_key("tlsCertificate", certificate_pem)
    try:
        chain = x509.load_pem_x509_certificates(certificate_pem.encode())
    except ValueError:
        raise ConfigError(
            "tlsCertificate",
            "is not a PEM certificate chain",
            "Set it from a file: `pulumi config set "
            "tlsCertificate < tls.crt` (server certificate first, then intermediates).",
        ) from None
    try:
        key = serialization.load_pem_private_key(private_key_pem.encode(), password=None)
    except (ValueError, TypeError):
        raise ConfigError(
            "tlsPrivateKey",
            "is not an unencrypted PEM private key",
            "Set it from a file: `pulumi config set --secret tlsPrivateKey < tls.key`.",
        ) from None
    leaf = chain[0]
    public = serialization.PublicFormat.SubjectPublicKeyInfo

    def spki(certificate: x509.Certificate) -> bytes:
        return certificate.public_key().public_bytes(serialization.Encoding.DER, public)

    key_spki = key.public_key().public_bytes(serialization.Encoding.DER, public)
    if key_spki != spki(leaf):
        position = next((i for i, cert in enumerate(chain) if spki(cert) == key_spki), None)
        if position is not None:
            raise ConfigError(
                "tlsCertificate",
                f"lists the server certificate (the one tlsPrivateKey belongs to) at position {position + 1}",
                "Put the server certificate first, then its intermediates.",
            )
        raise ConfigError(
            "tlsPrivateKey",
            "does not match the first certificate in tlsCertificate",
            "Provide the key that belongs to the server certificate.",
        )
    now = now or datetime.datetime.now(datetime.UTC)
    if leaf.not_valid_after_utc <= now:
        raise ConfigError(
            "tlsCertificate",
            f"expired at {leaf.not_valid_after_utc.isoformat()}",
            "Renew it and set the new chain and key (`pulumi config set tlsCertificate < tls.crt`, "
            "`pulumi config set --secret tlsPrivateKey < tls.key`).",
        )
    if leaf.not_valid_before_utc > now:
        raise ConfigError(
            "tlsCertificate",
            f"is not valid before {leaf.not_valid_before_utc.isoformat()}",
            "Use a certificate that is valid now (check the issuer's and this machine's clocks).",
        )
    try:
        san = leaf.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_ALTERNATIVE_NAME).value
    except x509.ExtensionNotFound:
        raise ConfigError(
            "tlsCertificate",
            "has no Subject Alternative Names (Go clients ignore the Common Name)",
            "Issue a certificate whose SANs list every host name and IP address clients use.",
        ) from None
    except ValueError:
        raise ConfigError(
            "tlsCertificate",
            "has extensions that cannot be parsed",
            "Reissue the certificate with a standard tool (openssl, cfssl, your CA).",
        ) from None
    dns_names = [name.lower() for name in san.get_values_for_type(x509.DNSName)]
    ip_names = {str(ip) for ip in san.get_values_for_type(x509.IPAddress)}
    for host in hosts:
        if not any(_dns_matches(pattern, host.lower()) for pattern in dns_names):
            raise ConfigError(
                "tlsCertificate",
                f"its SANs do not cover host '{host}' (they list {sorted(dns_names)})",
                "Reissue the certificate with that DNS name, or remove it from `hosts`.",
            )
    for ip in ips:
        if str(ipaddress.ip_address(ip)) not in ip_names:
            raise ConfigError(
                "tlsCertificate",
                f"its SANs do not cover IP address {ip}",
                "Reissue the certificate with that IP SAN, or remove it from `ipAddresses`.",
            )


def _dns_matches(pattern: str, host: str) -> bool:
    if pattern.startswith("*."):
        head, _, rest = host.partition(".")
        return bool(head) and rest == pattern[2:]
    return pattern == host


def tls_min_version(raw: Raw) -> str:
    version = raw.text("tlsMinVersion").strip()
    if version not in TLS_MIN_VERSIONS:
        raise ConfigError(
            "tlsMinVersion", f"'{version}' is not a TLS version the server can require", "Use 1.2 or 1.3."
        )
    return version


@dataclass(frozen=True)
class Tls:
    """What the certificates component needs beyond the names."""

    provided_certificate: str | None
    """The PEM chain (tlsMode provided)."""
    provided_private_key: Any
    """Its key, a secret Output (tlsMode provided)."""
    ca_validity_hours: int
    cert_validity_hours: int
    cert_early_renewal_hours: int
    key_algorithm: str
    min_version: str
    """1.2 or 1.3 (the server's REGISTRY_HTTP_TLS_MINIMUMTLS is tls<version>)."""


def parse_tls(raw: Raw, reveal: Callable[[str], str | None], secret: Callable[[str], Any], network: Network) -> Tls:
    provided_certificate: str | None = None
    provided_key: Any = None
    if network.tls_mode == "provided":
        certificate = (reveal("tlsCertificate") or "").strip()
        key_text = (reveal("tlsPrivateKey") or "").strip()
        if not certificate:
            raise ConfigError(
                "tlsCertificate",
                "is required when tlsMode is 'provided'",
                "Set it: `pulumi config set tlsCertificate < tls.crt`.",
            )
        if not key_text:
            raise ConfigError(
                "tlsPrivateKey",
                "is required when tlsMode is 'provided'",
                "Set it: `pulumi config set --secret tlsPrivateKey < tls.key`.",
            )
        check_provided_certificate(certificate, key_text, network.hosts, network.ip_addresses)
        provided_certificate = certificate + "\n"
        provided_key = secret("tlsPrivateKey")

    ca_validity = raw.integer("caValidityHours")
    cert_validity = raw.integer("certValidityHours")
    early_renewal = raw.integer("certEarlyRenewalHours")
    if cert_validity < 24:
        raise ConfigError("certValidityHours", f"{cert_validity} is too short", "Use at least 24 hours.")
    if ca_validity < cert_validity:
        raise ConfigError(
            "caValidityHours",
            f"{ca_validity} is shorter than certValidityHours ({cert_validity})",
            "The CA must outlive the certificates it signs.",
        )
    if not 0 <= early_renewal < cert_validity:
        raise ConfigError(
            "certEarlyRenewalHours",
            f"{early_renewal} is not between 0 and certValidityHours ({cert_validity})",
            "Renew some time before expiry, e.g. 720 hours for a one-year certificate.",
        )
    key_algorithm = raw.text("keyAlgorithm").strip()
    if key_algorithm not in KEY_ALGORITHMS:
        raise ConfigError(
            "keyAlgorithm", f"'{key_algorithm}' is not supported", f"Use one of {', '.join(KEY_ALGORITHMS)}."
        )
    return Tls(
        provided_certificate=provided_certificate,
        provided_private_key=provided_key,
        ca_validity_hours=ca_validity,
        cert_validity_hours=cert_validity,
        cert_early_renewal_hours=early_renewal,
        key_algorithm=key_algorithm,
        min_version=tls_min_version(raw),
    )
