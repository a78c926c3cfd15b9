"""The stand-in provider plugins, started as the engine starts them and called over gRPC as it calls them: the
version they report, their refusal of a type the program does not declare, and the random and tls material."""

from __future__ import annotations

import datetime
import ipaddress
import re
import string
from importlib.metadata import version
from pathlib import Path
from typing import Any, NamedTuple

import bcrypt
import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.verification import PolicyBuilder, Store
from google.protobuf import empty_pb2
from pulumi.runtime.proto import provider_pb2

from components.credentials.certificates import CA_USES, SERVER_USES
from tests.cli.plugins.environment import PLUGINS, ROOT
from tests.cli.standin_client import Engine, running
from tests.support.grpc_support import struct
from tests.support.harness import CERT_REQUEST, LOCALLY_SIGNED, PASSWORD, PRIVATE_KEY, SELF_SIGNED

SDK_PACKAGES = {"docker": "pulumi-docker", "random": "pulumi-random", "tls": "pulumi-tls"}


def _replaced(response: provider_pb2.DiffResponse) -> bool:
    return response.changes == provider_pb2.DiffResponse.DIFF_SOME and bool(response.replaces)


@pytest.mark.parametrize("package", PLUGINS)
def test_reports_the_version_the_program_pins(package: str, tmp_path: Path) -> None:
    pinned = re.search(rf"^{SDK_PACKAGES[package]}==(\S+)$", (ROOT / "requirements.txt").read_text(), re.MULTILINE)
    assert pinned is not None
    with running(package, tmp_path) as engine:
        assert engine.stub.GetPluginInfo(empty_pb2.Empty()).version == pinned.group(1)
        assert pinned.group(1) == version(SDK_PACKAGES[package])
        response = engine.configure({"version": pinned.group(1)})
        # The engine strips secrets before calling the plugin and re-marks the outputs (annotateSecrets).
        assert response.acceptSecrets is False
        assert response.supportsPreview is True


@pytest.mark.parametrize("package", PLUGINS)
def test_an_unknown_type_fails_naming_it(package: str, tmp_path: Path) -> None:
    token = f"{package}:index/notDeclared:NotDeclared"
    with running(package, tmp_path) as engine:
        engine.configure()
        with pytest.raises(grpc.RpcError) as raised:
            engine.check(token, "x", {})
        assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert token in str(raised.value.details())
        with pytest.raises(grpc.RpcError, match=re.escape(token)):
            engine.stub.Create(
                provider_pb2.CreateRequest(urn=engine.urn(token, "x"), type=token, properties=struct({}))
            )


def test_random_password_has_the_asked_length_alphabet_and_a_bcrypt_hash(tmp_path: Path) -> None:
    inputs = {
        "length": 40,
        "special": True,
        "overrideSpecial": "-_",
        "minLower": 2,
        "minUpper": 2,
        "minNumeric": 2,
        "keepers": {"rotation": "1"},
    }
    with running("random", tmp_path) as engine:
        engine.configure()
        id_, outputs = engine.create(PASSWORD, "admin", inputs)
    password = outputs["result"]
    assert id_ == "none"
    assert len(password) == 40
    assert set(password) <= set(string.ascii_letters + string.digits + "-_")
    assert sum(c.islower() for c in password) >= 2
    assert sum(c.isupper() for c in password) >= 2
    assert sum(c.isdigit() for c in password) >= 2
    assert bcrypt.checkpw(password.encode(), outputs["bcryptHash"].encode())
    assert {k: outputs[k] for k in inputs} == inputs


def test_random_password_is_replaced_for_a_changed_input_or_keeper(tmp_path: Path) -> None:
    inputs = {"length": 24, "special": False, "keepers": {"rotation": "1"}}
    with running("random", tmp_path) as engine:
        engine.configure()
        id_, state = engine.create(PASSWORD, "secret", inputs)

        def diff(news: dict[str, Any]) -> provider_pb2.DiffResponse:
            return engine.diff(PASSWORD, "secret", id_, state, inputs, news)

        assert diff(dict(inputs)).changes == provider_pb2.DiffResponse.DIFF_NONE
        rotated = diff({**inputs, "keepers": {"rotation": "2"}})
        assert _replaced(rotated)
        assert list(rotated.replaces) == ["keepers"]
        assert list(diff({**inputs, "length": 32}).replaces) == ["length"]
        assert list(diff({**inputs, "keepers": {}}).replaces) == ["keepers"]


class Made(NamedTuple):
    id: str
    inputs: dict[str, Any]
    outputs: dict[str, Any]


def _chain(engine: Engine) -> dict[str, Made]:
    """A CA (ECDSA P256) and a server certificate (RSA) for three names, as
    components/credentials/certificates.py asks."""
    made: dict[str, Made] = {}

    def make(token: str, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
        id_, outputs = engine.create(token, name, inputs)
        made[name] = Made(id_, inputs, outputs)
        return outputs

    ca_key = make(PRIVATE_KEY, "ca-key", {"algorithm": "ECDSA", "ecdsaCurve": "P256"})["privateKeyPem"]
    ca = {
        "privateKeyPem": ca_key,
        "isCaCertificate": True,
        "setSubjectKeyId": True,
        "subject": {"commonName": "Stand-in test CA"},
        "validityPeriodHours": 48,
        "earlyRenewalHours": 1,
        "allowedUses": CA_USES,
    }
    ca_pem = make(SELF_SIGNED, "ca", ca)["certPem"]
    server_key = make(PRIVATE_KEY, "server-key", {"algorithm": "RSA", "rsaBits": 2048})["privateKeyPem"]
    request = {
        "privateKeyPem": server_key,
        "subject": {"commonName": "registry.example.test"},
        "dnsNames": ["registry.example.test", "localhost"],
        "ipAddresses": ["127.0.0.1"],
    }
    request_pem = make(CERT_REQUEST, "request", request)["certRequestPem"]
    server = {
        "certRequestPem": request_pem,
        "caPrivateKeyPem": ca_key,
        "caCertPem": ca_pem,
        "setSubjectKeyId": True,
        "validityPeriodHours": 24,
        "earlyRenewalHours": 1,
        "allowedUses": SERVER_USES,
    }
    make(LOCALLY_SIGNED, "server", server)
    return made


def test_tls_ca_and_locally_signed_server_certificate_verify_with_the_asked_names(tmp_path: Path) -> None:
    with running("tls", tmp_path) as engine:
        engine.configure()
        made = _chain(engine)
    ca = x509.load_pem_x509_certificate(made["ca"].outputs["certPem"].encode())
    server = x509.load_pem_x509_certificate(made["server"].outputs["certPem"].encode())
    builder = PolicyBuilder().store(Store([ca]))
    # RFC 5280 path validation, as strict clients do it (it needs AKI, SAN, EKU and key usages right).
    for name in [
        x509.DNSName("registry.example.test"),
        x509.DNSName("localhost"),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
    ]:
        builder.build_server_verifier(name).verify(server, [])
    with pytest.raises(x509.verification.VerificationError):
        builder.build_server_verifier(x509.DNSName("other.example.test")).verify(server, [])
    sans = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == ["registry.example.test", "localhost"]
    assert server.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True

    outputs = made["server"].outputs
    start = datetime.datetime.fromisoformat(outputs["validityStartTime"])
    end = datetime.datetime.fromisoformat(outputs["validityEndTime"])
    assert end - start == datetime.timedelta(hours=24)
    assert outputs["readyForRenewal"] is False
    assert outputs["caKeyAlgorithm"] == "ECDSA"
    assert made["server"].id == str(server.serial_number)

    key = made["server-key"].outputs
    pkcs8 = serialization.load_pem_private_key(key["privateKeyPemPkcs8"].encode(), password=None)
    public = pkcs8.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert key["privateKeyPemPkcs8"].startswith("-----BEGIN PRIVATE KEY-----")
    assert public.decode() == key["publicKeyPem"]
    assert key["publicKeyOpenssh"].startswith("ssh-rsa ")
    assert re.fullmatch(r"SHA256:[A-Za-z0-9+/]{43}", key["publicKeyFingerprintSha256"])


def test_tls_a_changed_input_replaces_and_early_renewal_hours_update_in_place(tmp_path: Path) -> None:
    with running("tls", tmp_path) as engine:
        engine.configure()
        made = _chain(engine)
        server = made["server"]

        def diff(news: dict[str, Any], state: dict[str, Any] = server.outputs) -> provider_pb2.DiffResponse:
            return engine.diff(LOCALLY_SIGNED, "server", server.id, state, server.inputs, news)

        assert diff(dict(server.inputs)).changes == provider_pb2.DiffResponse.DIFF_NONE
        assert list(diff({**server.inputs, "validityPeriodHours": 48}).replaces) == ["validityPeriodHours"]
        assert list(diff({**server.inputs, "caCertPem": server.outputs["certPem"]}).replaces) == ["caCertPem"]
        later = diff({**server.inputs, "earlyRenewalHours": 2})
        assert later.changes == provider_pb2.DiffResponse.DIFF_SOME
        assert not later.replaces
        # Within its early renewal window (24 hours of validity, 25 early) it is replaced, as pulumi-tls plans it.
        due = {**server.inputs, "earlyRenewalHours": 25}
        assert "readyForRenewal" in diff(due, {**server.outputs, "earlyRenewalHours": 25}).replaces

        key = made["ca-key"]
        curve = engine.diff(
            PRIVATE_KEY, "ca-key", key.id, key.outputs, key.inputs, {**key.inputs, "ecdsaCurve": "P384"}
        )
        assert list(curve.replaces) == ["ecdsaCurve"]


@pytest.mark.parametrize("package", ["pulumi_docker", "pulumi_random", "pulumi_tls"])
def test_the_version_a_stand_in_reports_is_the_one_the_package_asks_for(package: str) -> None:
    """What the package asks the engine for is ``<package>._utilities.get_version()``: its metadata's PEP 440
    version made semver (``_get_semver_version``: ``4.0.0a1`` asks for ``4.0.0-alpha.1``), not the metadata's."""
    import importlib

    from tests.cli.plugins.server import plugin_version

    assert plugin_version(package) == importlib.import_module(f"{package}._utilities").get_version()
