"""TLS material for the registry: a private CA and a server certificate, or the user's own pair."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_tls as tls

from components.config import KEY_ALGORITHMS

__all__ = ["CA_USES", "SERVER_USES", "Certificates", "CertificatesArgs"]

CA_USES = ["cert_signing", "crl_signing", "digital_signature"]
SERVER_USES = ["digital_signature", "key_encipherment", "server_auth"]


@dataclass(frozen=True)
class CertificatesArgs:
    """What the certificates component needs."""

    tls_mode: str
    """self-signed or provided (http mode builds no certificates)."""
    hosts: tuple[str, ...]
    """DNS SANs; the first is also the Common Name."""
    ip_addresses: tuple[str, ...]
    """IP SANs."""
    ca_common_name: str
    """Subject CN of the generated CA."""
    key_algorithm: str = "ECDSA-P256"
    """One of components.config.KEY_ALGORITHMS."""
    ca_validity_hours: int = 87600
    cert_validity_hours: int = 8760
    cert_early_renewal_hours: int = 720
    provided_certificate: str | None = None
    """PEM chain, server certificate first (provided mode)."""
    provided_private_key: pulumi.Input[str] | None = None
    """PEM key of the server certificate (provided mode)."""


class Certificates(pulumi.ComponentResource):
    """Server certificate, key and the CA chain clients (and Palette) must trust."""

    certificate: pulumi.Output[str]
    """PEM server certificate chain, served as ``/certs/tls.crt``."""
    private_key: pulumi.Output[str]
    """PEM server key, served as ``/certs/tls.key`` (secret)."""
    ca_certificate: pulumi.Output[str]
    """PEM trust chain for clients: the generated CA, or the provided chain."""

    def __init__(self, name: str, args: CertificatesArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("palette-pack-registry:registry:Certificates", name, None, opts)
        if args.tls_mode == "provided":
            if args.provided_certificate is None or args.provided_private_key is None:
                raise ValueError("provided TLS mode needs a certificate and a private key")
            self.certificate = pulumi.Output.from_input(args.provided_certificate)
            self.private_key = pulumi.Output.secret(args.provided_private_key)
            self.ca_certificate = pulumi.Output.from_input(args.provided_certificate)
        elif args.tls_mode == "self-signed":
            self._self_signed(name, args)
        else:
            raise ValueError(f"no certificates in TLS mode {args.tls_mode!r}")
        self.register_outputs({"certificate": self.certificate, "caCertificate": self.ca_certificate})

    def _self_signed(self, name: str, args: CertificatesArgs) -> None:
        child = pulumi.ResourceOptions(parent=self)
        algorithm, curve, bits = KEY_ALGORITHMS[args.key_algorithm]

        def key(role: str) -> tls.PrivateKey:
            return tls.PrivateKey(
                f"{name}-{role}-key", algorithm=algorithm, ecdsa_curve=curve, rsa_bits=bits, opts=child
            )

        ca_key = key("ca")
        ca = tls.SelfSignedCert(
            f"{name}-ca",
            private_key_pem=ca_key.private_key_pem,
            is_ca_certificate=True,
            set_subject_key_id=True,
            subject=tls.SelfSignedCertSubjectArgs(common_name=args.ca_common_name),
            validity_period_hours=args.ca_validity_hours,
            early_renewal_hours=args.cert_early_renewal_hours,
            allowed_uses=CA_USES,
            opts=child,
        )
        server_key = key("server")
        common_name = args.hosts[0] if args.hosts else args.ip_addresses[0]
        request = tls.CertRequest(
            f"{name}-server-request",
            private_key_pem=server_key.private_key_pem,
            subject=tls.CertRequestSubjectArgs(common_name=common_name),
            # Go clients (Palette, the Spectro CLI) ignore the Common Name: every name goes into the SANs.
            dns_names=list(args.hosts),
            ip_addresses=list(args.ip_addresses),
            opts=child,
        )
        server = tls.LocallySignedCert(
            f"{name}-server",
            cert_request_pem=request.cert_request_pem,
            ca_private_key_pem=ca_key.private_key_pem,
            ca_cert_pem=ca.cert_pem,
            # The CA has a subject key id, so the provider sets the Authority Key Identifier that
            # Python 3.13+ clients require (hashicorp/terraform-provider-tls#212).
            set_subject_key_id=True,
            validity_period_hours=args.cert_validity_hours,
            early_renewal_hours=args.cert_early_renewal_hours,
            allowed_uses=SERVER_USES,
            opts=child,
        )
        self.certificate = server.cert_pem
        self.private_key = pulumi.Output.secret(server_key.private_key_pem)
        self.ca_certificate = ca.cert_pem
