"""Stand-in for pulumi-tls: keys, a CA, a request and a locally signed certificate, built with ``cryptography``
as tests/support/harness.py ``generate`` builds them, plus the outputs the real provider adds.

Every input is RequiresReplace but ``early_renewal_hours``, and a certificate within its early renewal window
is replaced (hashicorp/terraform-provider-tls internal/provider/common_cert.go
``modifyPlanIfCertificateReadyForRenewal``; its Read sets ``ready_for_renewal``).
"""

from __future__ import annotations

import base64
import datetime
import hashlib

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.cli.plugins.server import Props, ResourceType, StandinProvider, plugin_version, serve
from tests.support.provider_material import CERT_REQUEST, LOCALLY_SIGNED, PRIVATE_KEY, SELF_SIGNED, generate


def _generated(token: str, inputs: Props) -> Props:
    outputs = generate(token, inputs)
    assert outputs is not None
    return outputs


def _algorithm(private_key_pem: str) -> str:
    key = serialization.load_pem_private_key(private_key_pem.encode(), password=None)
    return "RSA" if isinstance(key, rsa.RSAPrivateKey) else "ECDSA"


def _openssh(key: object) -> tuple[str, str]:
    """(public, private) in OpenSSH format; empty for a curve OpenSSH has no name for (P-224), as the provider
    leaves them (internal/provider/common_key.go)."""
    try:
        public = key.public_key().public_bytes(  # type: ignore[attr-defined]
            serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
        )
        private = key.private_bytes(  # type: ignore[attr-defined]
            serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
        )
    except ValueError:
        return "", ""
    return public.decode() + "\n", private.decode()


class PrivateKey(ResourceType):
    token = PRIVATE_KEY
    computed = (
        "privateKeyPem",
        "privateKeyPemPkcs8",
        "privateKeyOpenssh",
        "publicKeyPem",
        "publicKeyOpenssh",
        "publicKeyFingerprintMd5",
        "publicKeyFingerprintSha256",
    )

    def create(self, inputs: Props) -> tuple[str, Props]:
        outputs = _generated(PRIVATE_KEY, inputs)
        key = serialization.load_pem_private_key(outputs["privateKeyPem"].encode(), password=None)
        pkcs8 = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        public_openssh, private_openssh = _openssh(key)
        fingerprints = {"publicKeyFingerprintMd5": "", "publicKeyFingerprintSha256": ""}
        if public_openssh:
            blob = base64.b64decode(public_openssh.split()[1])
            md5 = hashlib.md5(blob, usedforsecurity=False).hexdigest()
            fingerprints = {
                "publicKeyFingerprintMd5": ":".join(md5[i : i + 2] for i in range(0, len(md5), 2)),
                "publicKeyFingerprintSha256": "SHA256:"
                + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("="),
            }
        outputs |= {
            "privateKeyPemPkcs8": pkcs8.decode(),
            "privateKeyOpenssh": private_openssh,
            "publicKeyOpenssh": public_openssh,
            **fingerprints,
        }
        # A SHA-1 hex digest of the public key, as the provider's id (internal/provider/common.go hashForState).
        return hashlib.sha1(outputs["publicKeyPem"].encode(), usedforsecurity=False).hexdigest(), outputs


class CertRequest(ResourceType):
    token = CERT_REQUEST
    computed = ("certRequestPem", "keyAlgorithm")

    def create(self, inputs: Props) -> tuple[str, Props]:
        outputs = _generated(CERT_REQUEST, inputs)
        outputs["keyAlgorithm"] = _algorithm(inputs["privateKeyPem"])
        return hashlib.sha1(outputs["certRequestPem"].encode(), usedforsecurity=False).hexdigest(), outputs


class _Certificate(ResourceType):
    """A self-signed or locally signed certificate: id is its serial number, like the provider's."""

    computed = ("certPem", "validityStartTime", "validityEndTime", "readyForRenewal")
    in_place = frozenset({"earlyRenewalHours"})
    signer_key = ""
    """The input holding the signing key (its algorithm is an output)."""
    algorithm_output = ""

    def diff(self, state: Props, old_inputs: Props, news: Props) -> tuple[list[str], list[str]]:
        changed, replaces = super().diff(state, old_inputs, news)
        if _ready_for_renewal({**state, **news}):
            return [*changed, "readyForRenewal"], [*replaces, "readyForRenewal"]
        return changed, replaces

    def create(self, inputs: Props) -> tuple[str, Props]:
        outputs = _generated(self.token, inputs)
        outputs[self.algorithm_output] = _algorithm(inputs[self.signer_key])
        outputs["readyForRenewal"] = False
        serial = x509.load_pem_x509_certificate(outputs["certPem"].encode()).serial_number
        return str(serial), outputs

    def read(self, id_: str, state: Props, inputs: Props) -> tuple[str, Props, Props]:
        return id_, {**state, "readyForRenewal": _ready_for_renewal(state)}, inputs


def _ready_for_renewal(state: Props) -> bool:
    end = state.get("validityEndTime")
    hours = state.get("earlyRenewalHours")
    if not isinstance(end, str) or not end or not isinstance(hours, int | float):
        return False
    return datetime.datetime.fromisoformat(end) - datetime.timedelta(hours=hours) <= datetime.datetime.now(datetime.UTC)


class SelfSignedCert(_Certificate):
    token = SELF_SIGNED
    computed = (*_Certificate.computed, "keyAlgorithm")
    signer_key = "privateKeyPem"
    algorithm_output = "keyAlgorithm"


class LocallySignedCert(_Certificate):
    token = LOCALLY_SIGNED
    computed = (*_Certificate.computed, "caKeyAlgorithm")
    signer_key = "caPrivateKeyPem"
    algorithm_output = "caKeyAlgorithm"


def main() -> None:
    types = [PrivateKey(), SelfSignedCert(), CertRequest(), LocallySignedCert()]
    serve(StandinProvider("tls", plugin_version("pulumi_tls"), types))


if __name__ == "__main__":
    main()
