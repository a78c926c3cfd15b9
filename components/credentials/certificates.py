"""TLS material for the registry: a private CA and a server certificate, or the user's own pair."""

from __future__ import annotations

import datetime

import pulumi
import pulumi_tls as tls
from cryptography import x509

from components.config import KEY_ALGORITHMS
from components.config.network import Network
from components.config.tls import Tls

__all__ = ["CA_USES", "SERVER_USES", "Certificates", "rfc3339"]

CA_USES = ["cert_signing", "crl_signing", "digital_signature"]
SERVER_USES = ["digital_signature", "key_encipherment", "server_auth"]


class Certificates(pulumi.ComponentResource):
    """Server certificate, key and the CA chain clients (and Palette) must trust."""

    certificate: pulumi.Output[str]
    """PEM server certificate chain, served as ``/certs/tls.crt``."""
    private_key: pulumi.Output[str]
    """PEM server key, served as ``/certs/tls.key`` (secret)."""
    ca_certificate: pulumi.Output[str]
    """PEM trust chain for clients: the generated CA, or the provided chain."""
    expires_at: pulumi.Output[str]
    """When the served server certificate expires, RFC 3339 in UTC (e.g. 2027-11-28T15:34:16Z)."""
    ca_expires_at: pulumi.Output[str]
    """When the generated CA expires; for a provided chain, the first of its other certificates to expire
    (the leaf itself when the chain holds only the leaf). RFC 3339 in UTC."""

    def __init__(
        self,
        name: str,
        network: Network,
        tls: Tls,
        *,
        ca_common_name: str,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """``network``: the TLS mode and the names the certificate covers; ``tls``: the provided chain and key, or
        how to generate them; ``ca_common_name``: the subject CN of a generated CA."""
        super().__init__("palette-pack-registry:registry:Certificates", name, None, opts)
        if network.tls_mode == "provided":
            if tls.provided_certificate is None or tls.provided_private_key is None:
                raise ValueError("provided TLS mode needs a certificate and a private key")
            self.certificate = pulumi.Output.from_input(tls.provided_certificate)
            self.private_key = pulumi.Output.secret(tls.provided_private_key)
            self.ca_certificate = pulumi.Output.from_input(tls.provided_certificate)
            self._provided_expiry(tls.provided_certificate, tls.cert_early_renewal_hours)
        elif network.tls_mode == "self-signed":
            self._self_signed(name, network, tls, ca_common_name)
        else:
            raise ValueError(f"no certificates in TLS mode {network.tls_mode!r}")
        self.register_outputs(
            {
                "certificate": self.certificate,
                "caCertificate": self.ca_certificate,
                "expiresAt": self.expires_at,
                "caExpiresAt": self.ca_expires_at,
            }
        )

    def _provided_expiry(self, chain_pem: str, early_renewal_hours: int) -> None:
        chain = x509.load_pem_x509_certificates(chain_pem.encode())
        leaf, authorities = chain[0], chain[1:] or chain[:1]
        self.expires_at = pulumi.Output.from_input(rfc3339(leaf.not_valid_after_utc))
        # The chain is only as good as its first authority to expire: that is when clients stop trusting it.
        first_authority = min(authorities, key=lambda certificate: certificate.not_valid_after_utc)
        self.ca_expires_at = pulumi.Output.from_input(rfc3339(first_authority.not_valid_after_utc))
        soonest = min(chain, key=lambda certificate: certificate.not_valid_after_utc)
        expires = soonest.not_valid_after_utc
        hours_left = (expires - datetime.datetime.now(datetime.UTC)).total_seconds() / 3600
        if hours_left <= early_renewal_hours:
            which = "The served certificate" if soonest is leaf else f"The chain's certificate '{_subject(soonest)}'"
            # Generated certificates renew themselves (early_renewal_hours); a provided one cannot.
            pulumi.log.warn(
                f"{which} (tlsCertificate) expires at {rfc3339(expires)}, in {hours_left:.0f} hours: within "
                f"certEarlyRenewalHours ({early_renewal_hours}); clients refuse the whole chain from then on. "
                "This program cannot renew a certificate you provide. Get a new chain for the same names, then "
                "run `pulumi config set tlsCertificate < tls.crt`, `pulumi config set --secret tlsPrivateKey "
                "< tls.key` and `pulumi up` (the container restarts with it and Palette's copy of the chain is "
                "updated)."
            )

    def _self_signed(self, name: str, network: Network, tls_settings: Tls, ca_common_name: str) -> None:
        child = pulumi.ResourceOptions(parent=self)
        algorithm, curve, bits = KEY_ALGORITHMS[tls_settings.key_algorithm]

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
            subject=tls.SelfSignedCertSubjectArgs(common_name=ca_common_name),
            validity_period_hours=tls_settings.ca_validity_hours,
            early_renewal_hours=tls_settings.cert_early_renewal_hours,
            allowed_uses=CA_USES,
            opts=child,
        )
        server_key = key("server")
        common_name = network.primary_host
        request = tls.CertRequest(
            f"{name}-server-request",
            private_key_pem=server_key.private_key_pem,
            subject=tls.CertRequestSubjectArgs(common_name=common_name),
            # Go clients (Palette, the Spectro CLI) ignore the Common Name: every name goes into the SANs.
            dns_names=list(network.hosts),
            ip_addresses=list(network.ip_addresses),
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
            validity_period_hours=tls_settings.cert_validity_hours,
            early_renewal_hours=tls_settings.cert_early_renewal_hours,
            allowed_uses=SERVER_USES,
            opts=child,
        )
        self.certificate = server.cert_pem
        self.private_key = pulumi.Output.secret(server_key.private_key_pem)
        self.ca_certificate = ca.cert_pem
        # validity_end_time is Go's time.MarshalText of the certificate's NotAfter (RFC 3339 with
        # nanoseconds, in the provider's local zone: hashicorp/terraform-provider-tls
        # internal/provider/common_cert.go createCertificate); the certificate itself holds whole seconds.
        self.expires_at = server.validity_end_time.apply(_utc_seconds)
        self.ca_expires_at = ca.validity_end_time.apply(_utc_seconds)


def _subject(certificate: x509.Certificate) -> str:
    names = certificate.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    return str(names[0].value) if names else certificate.subject.rfc4514_string()


def rfc3339(moment: datetime.datetime) -> str:
    """A moment as RFC 3339 in UTC with whole seconds, the way a certificate's validity is encoded."""
    return moment.astimezone(datetime.UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def _utc_seconds(value: str) -> str:
    return rfc3339(datetime.datetime.fromisoformat(value))
