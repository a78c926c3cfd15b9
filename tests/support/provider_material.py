"""The material pulumi-random and pulumi-tls return, built for real from a resource's inputs: passwords with their
bcrypt hash, keys, certificate requests and certificates (``generate``), and which input changes replace a resource
(``replaces``). The program's mocks (tests/support/harness.py) and the CLI tests' stand-in plugins
(tests/cli/plugins) both use it, so it imports only what the material needs: a stand-in starts with it while the
engine waits.
"""

from __future__ import annotations

import datetime
import ipaddress
import secrets
import string
from typing import Any

import bcrypt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CONTAINER = "docker:index/container:Container"
IMAGE = "docker:index/remoteImage:RemoteImage"
VOLUME = "docker:index/volume:Volume"
NETWORK = "docker:index/network:Network"
PASSWORD = "random:index/randomPassword:RandomPassword"
PRIVATE_KEY = "tls:index/privateKey:PrivateKey"
SELF_SIGNED = "tls:index/selfSignedCert:SelfSignedCert"
CERT_REQUEST = "tls:index/certRequest:CertRequest"
LOCALLY_SIGNED = "tls:index/locallySignedCert:LocallySignedCert"


def _password(inputs: dict[str, Any]) -> str:
    length = int(inputs.get("length", 16))
    classes = []
    if inputs.get("lower", True):
        classes.append((string.ascii_lowercase, int(inputs.get("minLower", 0))))
    if inputs.get("upper", True):
        classes.append((string.ascii_uppercase, int(inputs.get("minUpper", 0))))
    if inputs.get("numeric", True):
        classes.append((string.digits, int(inputs.get("minNumeric", 0))))
    if inputs.get("special", True):
        specials = inputs.get("overrideSpecial") or "!@#$%&*()-_=+[]{}<>:?"
        classes.append((specials, int(inputs.get("minSpecial", 0))))
    chars = [secrets.choice(pool) for pool, minimum in classes for _ in range(minimum)]
    alphabet = "".join(pool for pool, _ in classes)
    chars += [secrets.choice(alphabet) for _ in range(length - len(chars))]
    secrets.SystemRandom().shuffle(chars)
    return "".join(chars)


def _private_key(inputs: dict[str, Any]) -> Any:
    if inputs.get("algorithm") == "RSA":
        return rsa.generate_private_key(public_exponent=65537, key_size=int(inputs.get("rsaBits", 2048)))
    curve = {"P224": ec.SECP224R1, "P256": ec.SECP256R1, "P384": ec.SECP384R1, "P521": ec.SECP521R1}
    return ec.generate_private_key(curve[inputs.get("ecdsaCurve", "P224")]())


def _key_pem(key: Any) -> str:
    # pulumi-tls returns PKCS#1 ("RSA PRIVATE KEY") and SEC1 ("EC PRIVATE KEY") PEM.
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    ).decode()


def _load_key(pem: str) -> Any:
    return serialization.load_pem_private_key(pem.encode(), password=None)


def _name(subject: dict[str, Any] | None) -> x509.Name:
    subject = subject or {}
    attributes = []
    if subject.get("organization"):
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, subject["organization"]))
    if subject.get("commonName"):
        attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, subject["commonName"]))
    return x509.Name(attributes)


def _sans(inputs: dict[str, Any]) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = [x509.DNSName(n) for n in inputs.get("dnsNames") or []]
    names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in inputs.get("ipAddresses") or []]
    return names


_KEY_USAGE = {
    "digital_signature": "digital_signature",
    "content_commitment": "content_commitment",
    "key_encipherment": "key_encipherment",
    "data_encipherment": "data_encipherment",
    "key_agreement": "key_agreement",
    "cert_signing": "key_cert_sign",
    "crl_signing": "crl_sign",
}
_EXTENDED = {"server_auth": ExtendedKeyUsageOID.SERVER_AUTH, "client_auth": ExtendedKeyUsageOID.CLIENT_AUTH}


def _sign(
    inputs: dict[str, Any],
    subject: x509.Name,
    public_key: Any,
    issuer: x509.Name,
    issuer_key: Any,
    sans: list[x509.GeneralName],
    issuer_ski: bytes | None,
) -> str:
    now = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(hours=float(inputs["validityPeriodHours"])))
    )
    uses = list(inputs.get("allowedUses") or [])
    flags = {value: False for value in _KEY_USAGE.values()}
    for use in uses:
        if use in _KEY_USAGE:
            flags[_KEY_USAGE[use]] = True
    if any(flags.values()):
        builder = builder.add_extension(x509.KeyUsage(**flags, encipher_only=False, decipher_only=False), critical=True)
    extended = [_EXTENDED[use] for use in uses if use in _EXTENDED]
    if extended:
        builder = builder.add_extension(x509.ExtendedKeyUsage(extended), critical=False)
    builder = builder.add_extension(
        x509.BasicConstraints(ca=bool(inputs.get("isCaCertificate")), path_length=None), critical=True
    )
    if inputs.get("setSubjectKeyId"):
        builder = builder.add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    if issuer_ski is not None:
        builder = builder.add_extension(x509.AuthorityKeyIdentifier(issuer_ski, None, None), critical=False)
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return builder.sign(issuer_key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM).decode()


_PROVIDER_ZONE = datetime.timezone(datetime.timedelta(hours=1))
"""pulumi-tls formats validity times in its host's local zone; the mocks pick one that is not UTC."""


def _validity(pem: str) -> dict[str, str]:
    """validityStartTime/validityEndTime as pulumi-tls reports them: Go's time.MarshalText (RFC 3339 with
    fractional seconds, local zone) of NotBefore/NotAfter, which keep the sub-second part the certificate
    drops (hashicorp/terraform-provider-tls internal/provider/common_cert.go createCertificate)."""
    certificate = x509.load_pem_x509_certificate(pem.encode())
    fraction = datetime.timedelta(microseconds=secrets.randbelow(999_999) + 1)

    def marshal(moment: datetime.datetime) -> str:
        return (moment + fraction).astimezone(_PROVIDER_ZONE).isoformat()

    return {
        "validityStartTime": marshal(certificate.not_valid_before_utc),
        "validityEndTime": marshal(certificate.not_valid_after_utc),
    }


def _ski(certificate: x509.Certificate) -> bytes | None:
    try:
        return certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    except x509.ExtensionNotFound:
        return None


def replaces(typ: str, old: dict[str, Any], new: dict[str, Any]) -> bool:
    """Whether a change of inputs replaces the resource (new outputs) rather than updating it in place.

    RandomPassword as pulumi-random does it (terraform-provider-random internal/provider/resource_password.go:
    every argument that shapes the result is ``RequiresReplace``; ``keepers`` is ``RequiresReplaceIfValuesNotNull``,
    internal/planmodifiers/mapplanmodifiers/requires_replace_if_values_not_null.go): a changed keeper value
    replaces it, and so does a removed keeper key; a key added with a null value does not. Every other mock
    treats any change as a replacement, which is at least as strict.
    """
    if typ != PASSWORD:
        return True
    if {k: v for k, v in old.items() if k != "keepers"} != {k: v for k, v in new.items() if k != "keepers"}:
        return True
    before, after = old.get("keepers") or {}, new.get("keepers") or {}
    if set(before) - set(after):
        return True
    return any(value is not None and before.get(key) != value for key, value in after.items())


def generate(typ: str, inputs: dict[str, Any]) -> dict[str, Any] | None:
    """What pulumi-random or pulumi-tls returns when it creates a resource of ``typ``: the inputs and the
    generated password, key or certificate; None for a type neither provides. The mocks here and the stand-in
    provider plugins the CLI tests run (tests/cli/plugins) both generate their material with it."""
    if typ == PASSWORD:
        result = _password(inputs)
        digest = bcrypt.hashpw(result.encode()[:72], bcrypt.gensalt(rounds=10)).decode()
        return {**inputs, "result": result, "bcryptHash": digest}
    if typ == PRIVATE_KEY:
        key = _private_key(inputs)
        public = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return {**inputs, "privateKeyPem": _key_pem(key), "publicKeyPem": public.decode()}
    if typ == SELF_SIGNED:
        key = _load_key(inputs["privateKeyPem"])
        subject = _name(inputs.get("subject"))
        ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key()).digest
        pem = _sign(
            inputs,
            subject,
            key.public_key(),
            subject,
            key,
            _sans(inputs),
            ski if inputs.get("setAuthorityKeyId") else None,
        )
        return {**inputs, "certPem": pem, **_validity(pem)}
    if typ == CERT_REQUEST:
        key = _load_key(inputs["privateKeyPem"])
        builder = x509.CertificateSigningRequestBuilder().subject_name(_name(inputs.get("subject")))
        sans = _sans(inputs)
        if sans:
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        csr = builder.sign(key, hashes.SHA256())
        return {**inputs, "certRequestPem": csr.public_bytes(serialization.Encoding.PEM).decode()}
    if typ == LOCALLY_SIGNED:
        csr = x509.load_pem_x509_csr(inputs["certRequestPem"].encode())
        ca = x509.load_pem_x509_certificate(inputs["caCertPem"].encode())
        try:
            sans = list(csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value)
        except x509.ExtensionNotFound:
            sans = []
        pem = _sign(
            inputs, csr.subject, csr.public_key(), ca.subject, _load_key(inputs["caPrivateKeyPem"]), sans, _ski(ca)
        )
        return {**inputs, "certPem": pem, **_validity(pem)}
    return None
