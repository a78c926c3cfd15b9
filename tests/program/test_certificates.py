"""TLS material: SANs for every name, signed by the private CA, with the extensions clients demand."""

from __future__ import annotations

import datetime
import ipaddress

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID
from cryptography.x509.verification import PolicyBuilder, Store

from components.credentials.certificates import CA_USES, SERVER_USES
from tests.support.certs import make_ca, make_leaf
from tests.support.harness import (
    CERT_REQUEST,
    CONTAINER,
    LOCALLY_SIGNED,
    PRIVATE_KEY,
    SELF_SIGNED,
    ProgramRun,
    run_program,
)


def uploaded(run: ProgramRun, path: str) -> str:
    return next(u["content"] for u in run.one(CONTAINER).inputs["uploads"] if u["file"] == path)


def server_and_ca(run: ProgramRun) -> tuple[x509.Certificate, x509.Certificate]:
    server = x509.load_pem_x509_certificates(uploaded(run, "/certs/tls.crt").encode())[0]
    ca = x509.load_pem_x509_certificate(run.exports["caCertificate"].encode())
    return server, ca


def test_declares_a_ca_and_a_server_certificate_under_the_component(dev_run: ProgramRun) -> None:
    ca = dev_run.one(SELF_SIGNED)
    assert ca.inputs["isCaCertificate"] is True
    # pulumi-tls copies the CA's subject key id into every certificate it signs as the Authority Key
    # Identifier (hashicorp/terraform-provider-tls internal/provider/common_cert.go createCertificate), which
    # Python 3.13+ clients require of a leaf: the CA must have one.
    assert ca.inputs["setSubjectKeyId"] is True
    assert ca.inputs["validityPeriodHours"] == 87600
    assert sorted(ca.inputs["allowedUses"]) == sorted(CA_USES)
    request = dev_run.one(CERT_REQUEST)
    assert request.inputs["dnsNames"] == ["localhost"]
    assert request.inputs["ipAddresses"] == ["127.0.0.1"]
    server = dev_run.one(LOCALLY_SIGNED)
    assert sorted(server.inputs["allowedUses"]) == sorted(SERVER_USES)
    assert server.inputs["validityPeriodHours"] == 8760
    assert server.inputs["earlyRenewalHours"] == 720
    assert "caPrivateKeyPem" in server.secret_inputs
    keys = dev_run.all(PRIVATE_KEY)
    assert sorted(k.name for k in keys) == ["tls-ca-key", "tls-server-key"]
    for record in [ca, request, server, *keys]:
        assert record.parent and record.parent.endswith("::tls")
        assert record.inputs.get("algorithm", "ECDSA") == "ECDSA"


def test_server_certificate_verifies_for_every_name_against_the_ca(dev_run: ProgramRun) -> None:
    server, ca = server_and_ca(dev_run)
    store = Store([ca])
    builder = PolicyBuilder().store(store)
    # RFC 5280 path validation, as strict clients do it (it needs AKI, SAN, EKU and key usages right).
    builder.build_server_verifier(x509.DNSName("localhost")).verify(server, [])
    builder.build_server_verifier(x509.IPAddress(ipaddress.ip_address("127.0.0.1"))).verify(server, [])
    with pytest.raises(x509.verification.VerificationError):
        builder.build_server_verifier(x509.DNSName("registry.example.com")).verify(server, [])


def test_the_declared_uses_and_names_give_the_extensions_clients_demand(dev_run: ProgramRun) -> None:
    """The certificate the pulumi-tls mock builds from the declared inputs (names, allowed uses, CA flag).
    Its lifetime and Authority Key Identifier are the mock's own doing: the inputs behind them are checked
    in test_declares_a_ca_and_a_server_certificate_under_the_component."""
    server, ca = server_and_ca(dev_run)
    sans = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == ["localhost"]
    assert [str(ip) for ip in sans.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    eku = server.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.SERVER_AUTH in eku
    usage = server.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature
    assert not server.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert ca.extensions.get_extension_for_class(x509.KeyUsage).value.key_cert_sign


def test_key_algorithm_is_configurable() -> None:
    run = run_program({"keyAlgorithm": "RSA-2048"})
    for key in run.all(PRIVATE_KEY):
        assert key.inputs["algorithm"] == "RSA"
        assert key.inputs["rsaBits"] == 2048


def test_provided_certificate_is_served_and_exported_as_the_trust_chain() -> None:
    _, ca_key, ca_cert = make_ca()
    pair = make_leaf(ca_key, ca_cert, ["localhost"], ["127.0.0.1"])
    run = run_program(
        {"tlsMode": "provided", "tlsCertificate": pair.certificate_pem, "tlsPrivateKey": pair.key_pem},
        secrets_={"tlsPrivateKey"},
    )
    assert not run.all(SELF_SIGNED) and not run.all(PRIVATE_KEY)
    assert uploaded(run, "/certs/tls.crt").strip() == pair.certificate_pem.strip()
    assert uploaded(run, "/certs/tls.key") == pair.key_pem
    assert "uploads" in run.one(CONTAINER).secret_inputs
    assert run.exports["caCertificate"].strip() == pair.certificate_pem.strip()


def test_http_mode_has_no_tls_material_and_warns(http_run: ProgramRun) -> None:
    assert not http_run.all(SELF_SIGNED) and not http_run.all(LOCALLY_SIGNED)
    assert http_run.exports["caCertificate"] is None
    files = [u["file"] for u in http_run.one(CONTAINER).inputs["uploads"]]
    assert files == ["/auth/htpasswd-basic"]
    assert any("insecure" in w and w.startswith("warning") for w in http_run.warnings)


# --- expiry in sight ----------------------------------------------------------------------------------------


def _expiry(certificate: x509.Certificate) -> str:
    return certificate.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_expiry_exports_are_read_from_the_generated_certificates(dev_run: ProgramRun) -> None:
    """The exports come from pulumi-tls's validity_end_time (Go's time.MarshalText: RFC 3339 with fractional
    seconds in the provider's local zone, hashicorp/terraform-provider-tls internal/provider/common_cert.go),
    normalised to the whole-second UTC instant the served certificate holds."""
    server, ca = server_and_ca(dev_run)
    assert dev_run.one(LOCALLY_SIGNED).outputs["validityEndTime"] != dev_run.exports["certificateExpiresAt"]
    assert dev_run.exports["certificateExpiresAt"] == _expiry(server)
    assert dev_run.exports["caExpiresAt"] == _expiry(ca)
    parsed = datetime.datetime.fromisoformat(dev_run.exports["certificateExpiresAt"])
    assert parsed.utcoffset() == datetime.timedelta(0)
    assert not any("expires" in w for w in dev_run.warnings)


def _provided_run(chain: str, key: str, **config: object) -> ProgramRun:
    return run_program(
        {"tlsMode": "provided", "tlsCertificate": chain, "tlsPrivateKey": key, **config},
        secrets_={"tlsPrivateKey"},
    )


def test_provided_chain_exports_the_leaf_and_its_first_authority_to_expire() -> None:
    ca_pair, ca_key, ca_cert = make_ca()
    leaf = make_leaf(ca_key, ca_cert, ["localhost"], ["127.0.0.1"], days=400)
    run = _provided_run(leaf.certificate_pem + ca_pair.certificate_pem, leaf.key_pem)
    served = x509.load_pem_x509_certificates(uploaded(run, "/certs/tls.crt").encode())
    assert run.exports["certificateExpiresAt"] == _expiry(served[0])
    assert run.exports["caExpiresAt"] == _expiry(served[-1]) == _expiry(ca_cert)
    assert run.exports["certificateExpiresAt"] != run.exports["caExpiresAt"]
    # The leaf is 400 days out, but the CA expires in 30 days, within certEarlyRenewalHours (720): said once,
    # naming the CA, since the whole chain stops being trusted then.
    said = [w for w in run.warnings if "expires" in w]
    assert len(said) == 1 and "'Test CA'" in said[0] and _expiry(ca_cert) in said[0]


def test_a_provided_leaf_alone_is_its_own_last_certificate() -> None:
    _, ca_key, ca_cert = make_ca()
    leaf = make_leaf(ca_key, ca_cert, ["localhost"], ["127.0.0.1"], days=400)
    run = _provided_run(leaf.certificate_pem, leaf.key_pem)
    assert run.exports["caExpiresAt"] == run.exports["certificateExpiresAt"]


def test_a_provided_certificate_near_expiry_warns_once_and_says_what_to_do() -> None:
    _, ca_key, ca_cert = make_ca()
    leaf = make_leaf(ca_key, ca_cert, ["localhost"], ["127.0.0.1"], days=10)
    run = _provided_run(leaf.certificate_pem, leaf.key_pem)
    said = [w for w in run.warnings if "expires" in w]
    assert len(said) == 1
    warning = said[0]
    assert warning.startswith("warning: ")
    assert run.exports["certificateExpiresAt"] in warning
    assert "in 240 hours" in warning and "certEarlyRenewalHours (720)" in warning
    assert "cannot renew" in warning
    assert "pulumi config set tlsCertificate < tls.crt" in warning
    assert "pulumi config set --secret tlsPrivateKey < tls.key" in warning
    assert "PRIVATE KEY" not in warning
    # The same certificate with a shorter renewal window is not yet worth a warning.
    quiet = _provided_run(leaf.certificate_pem, leaf.key_pem, certEarlyRenewalHours=100)
    assert not [w for w in quiet.warnings if "expires" in w]


def test_http_mode_exports_no_expiry(http_run: ProgramRun) -> None:
    assert http_run.exports["certificateExpiresAt"] is None
    assert http_run.exports["caExpiresAt"] is None
