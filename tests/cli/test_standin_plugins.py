"""The stand-in provider plugins, started as the engine starts them and called over gRPC as it calls them."""

from __future__ import annotations

import datetime
import http.client
import io
import ipaddress
import re
import secrets
import string
import subprocess
import tarfile
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.metadata import version
from pathlib import Path
from typing import Any

import bcrypt
import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.verification import PolicyBuilder, Store
from google.protobuf import empty_pb2
from pulumi.runtime import rpc
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

from components.certificates import CA_USES, SERVER_USES
from tests.cli.plugins.docker_provider import DockerHost
from tests.cli.plugins.environment import PLUGINS, ROOT, plugin_command, plugin_env
from tests.cli.plugins.server import StandinProvider
from tests.docker_support import LABEL, DockerJanitor, docker, file_mode_in_container, inspect_container
from tests.grpc_support import plain, provider_host, struct
from tests.harness import (
    CERT_REQUEST,
    CONTAINER,
    IMAGE,
    LOCALLY_SIGNED,
    PASSWORD,
    PRIVATE_KEY,
    SELF_SIGNED,
    VOLUME,
)

DOCKER_HOST = "unix:///var/run/docker.sock"
SDK_PACKAGES = {"docker": "pulumi-docker", "random": "pulumi-random", "tls": "pulumi-tls"}


class Engine:
    """What the engine does with a plugin: configure it, then Check before Create and Diff, by URN."""

    def __init__(self, package: str, stub: provider_pb2_grpc.ResourceProviderStub) -> None:
        self.package = package
        self.stub = stub

    def configure(self, config: dict[str, Any] | None = None) -> provider_pb2.ConfigureResponse:
        return self.stub.Configure(
            provider_pb2.ConfigureRequest(
                args=struct(config or {}),
                acceptSecrets=True,
                acceptResources=True,
                sends_old_inputs=True,
                sends_old_inputs_to_delete=True,
                type=f"pulumi:providers:{self.package}",
                name="default",
            )
        )

    @staticmethod
    def urn(token: str, name: str) -> str:
        return f"urn:pulumi:test::palette-pack-registry::{token}::{name}"

    def check(self, token: str, name: str, news: dict[str, Any]) -> dict[str, Any]:
        request = provider_pb2.CheckRequest(urn=self.urn(token, name), type=token, name=name, news=struct(news))
        return plain(self.stub.Check(request).inputs)

    def create(self, token: str, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        checked = self.check(token, name, inputs)
        response = self.stub.Create(
            provider_pb2.CreateRequest(urn=self.urn(token, name), type=token, name=name, properties=struct(checked))
        )
        return response.id, plain(response.properties)

    def diff(
        self, token: str, name: str, id_: str, state: dict[str, Any], old_inputs: dict[str, Any], news: dict[str, Any]
    ) -> provider_pb2.DiffResponse:
        return self.stub.Diff(
            provider_pb2.DiffRequest(
                id=id_,
                urn=self.urn(token, name),
                type=token,
                name=name,
                olds=struct(state),
                old_inputs=struct(old_inputs),
                news=struct(news),
            )
        )

    def update(self, token: str, name: str, id_: str, state: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]:
        request = provider_pb2.UpdateRequest(
            id=id_, urn=self.urn(token, name), type=token, name=name, olds=struct(state), news=struct(news)
        )
        return plain(self.stub.Update(request).properties)

    def read(self, token: str, name: str, id_: str, state: dict[str, Any], inputs: dict[str, Any]) -> str:
        request = provider_pb2.ReadRequest(
            id=id_, urn=self.urn(token, name), type=token, name=name, properties=struct(state), inputs=struct(inputs)
        )
        return self.stub.Read(request).id

    def delete(self, token: str, name: str, id_: str, state: dict[str, Any]) -> None:
        request = provider_pb2.DeleteRequest(
            id=id_, urn=self.urn(token, name), type=token, name=name, properties=struct(state)
        )
        self.stub.Delete(request)


@contextmanager
def running(package: str, tmp_path: Path) -> Iterator[Engine]:
    """The plugin started from its executable in tests/cli/plugins/bin, the way the CLI starts it; what it
    wrote to stdout after its port is checked to be nothing once it has stopped."""
    command = plugin_command(package)
    with provider_host(ROOT, plugin_env(), tmp_path / f"{package}.stderr", command) as (process, stub):
        yield Engine(package, stub)
    assert process.stdout is not None
    assert process.stdout.read() == b"", "the plugin wrote to stdout after its port"


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


def _chain(engine: Engine, validity_hours: int = 24) -> dict[str, tuple[str, dict[str, Any]]]:
    """A CA (ECDSA P256) and a server certificate (RSA) for two names, as components/certificates.py asks."""
    made: dict[str, tuple[str, dict[str, Any]]] = {}
    made["ca-key"] = engine.create(PRIVATE_KEY, "ca-key", {"algorithm": "ECDSA", "ecdsaCurve": "P256"})
    ca_key = made["ca-key"][1]["privateKeyPem"]
    made["ca"] = engine.create(
        SELF_SIGNED,
        "ca",
        {
            "privateKeyPem": ca_key,
            "isCaCertificate": True,
            "setSubjectKeyId": True,
            "subject": {"commonName": "Stand-in test CA"},
            "validityPeriodHours": 48,
            "earlyRenewalHours": 1,
            "allowedUses": CA_USES,
        },
    )
    made["server-key"] = engine.create(PRIVATE_KEY, "server-key", {"algorithm": "RSA", "rsaBits": 2048})
    made["request"] = engine.create(
        CERT_REQUEST,
        "request",
        {
            "privateKeyPem": made["server-key"][1]["privateKeyPem"],
            "subject": {"commonName": "registry.example.test"},
            "dnsNames": ["registry.example.test", "localhost"],
            "ipAddresses": ["127.0.0.1"],
        },
    )
    made["server"] = engine.create(
        LOCALLY_SIGNED,
        "server",
        {
            "certRequestPem": made["request"][1]["certRequestPem"],
            "caPrivateKeyPem": ca_key,
            "caCertPem": made["ca"][1]["certPem"],
            "setSubjectKeyId": True,
            "validityPeriodHours": validity_hours,
            "earlyRenewalHours": 1,
            "allowedUses": SERVER_USES,
        },
    )
    return made


def test_tls_ca_and_locally_signed_server_certificate_verify_with_the_asked_names(tmp_path: Path) -> None:
    with running("tls", tmp_path) as engine:
        engine.configure()
        made = _chain(engine)
    ca = x509.load_pem_x509_certificate(made["ca"][1]["certPem"].encode())
    server = x509.load_pem_x509_certificate(made["server"][1]["certPem"].encode())
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

    outputs = made["server"][1]
    start = datetime.datetime.fromisoformat(outputs["validityStartTime"])
    end = datetime.datetime.fromisoformat(outputs["validityEndTime"])
    assert end - start == datetime.timedelta(hours=24)
    assert outputs["readyForRenewal"] is False
    assert outputs["caKeyAlgorithm"] == "ECDSA"
    assert made["server"][0] == str(server.serial_number)

    key = made["server-key"][1]
    assert key["privateKeyPemPkcs8"].startswith("-----BEGIN PRIVATE KEY-----")
    pkcs8 = serialization.load_pem_private_key(key["privateKeyPemPkcs8"].encode(), password=None)
    assert (
        pkcs8.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
        == key["publicKeyPem"]
    )
    assert key["publicKeyOpenssh"].startswith("ssh-rsa ")
    assert re.fullmatch(r"SHA256:[A-Za-z0-9+/]{43}", key["publicKeyFingerprintSha256"])


def test_tls_a_changed_input_replaces_and_early_renewal_hours_update_in_place(tmp_path: Path) -> None:
    with running("tls", tmp_path) as engine:
        engine.configure()
        made = _chain(engine)
        id_, state = made["server"]
        inputs = {k: v for k, v in state.items() if k not in {"certPem", "validityStartTime", "validityEndTime"}}
        inputs = {k: v for k, v in inputs.items() if k not in {"readyForRenewal", "caKeyAlgorithm"}}

        def diff(news: dict[str, Any], old: dict[str, Any] = state) -> provider_pb2.DiffResponse:
            return engine.diff(LOCALLY_SIGNED, "server", id_, old, inputs, news)

        assert diff(dict(inputs)).changes == provider_pb2.DiffResponse.DIFF_NONE
        assert list(diff({**inputs, "validityPeriodHours": 48}).replaces) == ["validityPeriodHours"]
        new_ca = engine.create(SELF_SIGNED, "ca", {**made["ca"][1], "validityPeriodHours": 72})[1]["certPem"]
        assert list(diff({**inputs, "caCertPem": new_ca}).replaces) == ["caCertPem"]
        later = diff({**inputs, "earlyRenewalHours": 2})
        assert later.changes == provider_pb2.DiffResponse.DIFF_SOME
        assert not later.replaces
        # Within its early renewal window the certificate is replaced, as pulumi-tls plans it.
        due = {**inputs, "earlyRenewalHours": 25}
        assert "readyForRenewal" in diff(due, {**state, "earlyRenewalHours": 25}).replaces

        key_id, key = made["ca-key"]
        key_inputs = {"algorithm": "ECDSA", "ecdsaCurve": "P256"}
        assert list(
            engine.diff(PRIVATE_KEY, "ca-key", key_id, key, key_inputs, {**key_inputs, "ecdsaCurve": "P384"}).replaces
        ) == ["ecdsaCurve"]


# ---------------------------------------------------------------------------------------------------------
# docker: a real engine.

PROVIDER_CONFIG = {
    "host": DOCKER_HOST,
    "context": "",
    "certPath": "",
    "sshOpts": "[]",
    "caMaterial": "",
    "certMaterial": "",
    # Configure's args keep their secrets (provider_plugin.go Configure: KeepSecrets true), as the program's is.
    "keyMaterial": rpc.wrap_rpc_secret(""),
}


def test_docker_host_material_goes_to_private_files_for_one_command_only() -> None:
    host = DockerHost()
    config = {
        "host": "tcp://127.0.0.1:2376",
        "sshOpts": "[]",
        "caMaterial": "CA PEM",
        "certMaterial": "CERT PEM",
        "keyMaterial": rpc.wrap_rpc_secret("KEY PEM"),
    }
    # In process, through the service's Configure: the key arrives secret and is unwrapped.
    StandinProvider("docker", "0", [], configure=host.configure).Configure(
        provider_pb2.ConfigureRequest(args=struct(config)), None
    )
    assert "KEY PEM" not in repr(host)
    with host.flags() as flags:
        assert flags[:3] == ["--host", "tcp://127.0.0.1:2376", "--tlsverify"]
        files = {flag: Path(flags[flags.index(flag) + 1]) for flag in ("--tlscacert", "--tlscert", "--tlskey")}
        assert {flag: path.read_text() for flag, path in files.items()} == {
            "--tlscacert": "CA PEM",
            "--tlscert": "CERT PEM",
            "--tlskey": "KEY PEM",
        }
        assert all(path.stat().st_mode & 0o077 == 0 for path in files.values())
    assert not any(path.exists() for path in files.values())
    with pytest.raises(ValueError, match="sshOpts"):
        DockerHost().configure({"host": "ssh://user@host", "sshOpts": '["-p", "2222"]'})


def _container_inputs(janitor: DockerJanitor, image_id: str, volume: str, name: str) -> dict[str, Any]:
    return {
        "name": janitor.name(name),
        "image": image_id,
        "restart": "no",
        "mustRun": True,
        "networkMode": "bridge",
        # No external port: the engine picks a free one.
        "ports": [{"internal": 5000, "ip": "127.0.0.1", "protocol": "tcp"}],
        "envs": ["REGISTRY_LOG_LEVEL=debug", f"STANDIN_TOKEN={janitor.token}"],
        "uploads": [{"file": "/auth/htpasswd-basic", "content": "admin:not-a-hash\n", "permissions": "0440"}],
        "volumes": [{"containerPath": "/data", "volumeName": volume}],
        "labels": [{"label": LABEL, "value": janitor.token}],
        "logDriver": "json-file",
        "logOpts": {"max-size": "1m", "max-file": "2"},
        "destroyGraceSeconds": 5,
    }


def _file_in_container(container: str, path: str) -> bytes:
    """The content of ``path`` in a container, through ``docker cp`` (the stand-in image has no shell)."""
    raw = subprocess.run(
        ["docker", "cp", f"{container}:{path}", "-"], capture_output=True, timeout=60, check=True
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(raw)) as archive:
        member = archive.next()
        assert member is not None
        content = archive.extractfile(member)
        assert content is not None
        return content.read()


def _container_exists(container_id: str) -> bool:
    return bool(docker("ps", "--all", "--quiet", "--no-trunc", "--filter", f"id={container_id}").strip())


def _volume_exists(name: str) -> bool:
    return name in docker("volume", "ls", "--quiet").split()


@pytest.mark.integration
def test_docker_volume_and_container_live_on_the_configured_host(
    tmp_path: Path, janitor: DockerJanitor, standin_image: str
) -> None:
    with running("docker", tmp_path) as engine:
        engine.configure(PROVIDER_CONFIG)
        image_id, image = engine.create(IMAGE, "image", {"name": standin_image, "keepLocally": True})
        local_id = docker("image", "inspect", "--format", "{{.Id}}", standin_image).strip()
        assert image["imageId"] == local_id
        assert image_id == local_id + standin_image

        volume_name = janitor.name("standin-data")
        janitor.volumes.append(volume_name)
        volume_id, volume = engine.create(VOLUME, "data", {"name": volume_name})
        assert volume_id == volume_name
        assert volume["mountpoint"]

        inputs = _container_inputs(janitor, image["imageId"], volume_name, "standin-registry")
        container_id, state = engine.create(CONTAINER, "registry", inputs)
        janitor.containers.append(container_id)
        assert state == inputs

        info = inspect_container(container_id)
        assert info["State"]["Running"]
        assert info["Name"] == "/" + inputs["name"]
        assert info["Image"] == local_id
        assert f"STANDIN_TOKEN={janitor.token}" in info["Config"]["Env"]
        assert info["Config"]["Labels"][LABEL] == janitor.token
        assert info["HostConfig"]["LogConfig"] == {"Type": "json-file", "Config": {"max-size": "1m", "max-file": "2"}}
        assert [(m["Type"], m["Name"], m["Destination"]) for m in info["Mounts"]] == [("volume", volume_name, "/data")]
        [binding] = info["NetworkSettings"]["Ports"]["5000/tcp"]
        assert binding["HostIp"] == "127.0.0.1"
        connection = http.client.HTTPConnection("127.0.0.1", int(binding["HostPort"]), timeout=10)
        connection.request("GET", "/v2/")
        assert connection.getresponse().status == 200
        assert _file_in_container(container_id, "/auth/htpasswd-basic") == b"admin:not-a-hash\n"
        assert file_mode_in_container(container_id, "/auth/htpasswd-basic") == 0o440

        # restart changes in place (not ForceNew); an env is ForceNew.
        restart = engine.diff(CONTAINER, "registry", container_id, state, inputs, {**inputs, "restart": "always"})
        assert restart.changes == provider_pb2.DiffResponse.DIFF_SOME
        assert not restart.replaces
        state = engine.update(CONTAINER, "registry", container_id, state, {**inputs, "restart": "always"})
        assert inspect_container(container_id)["HostConfig"]["RestartPolicy"]["Name"] == "always"
        envs = engine.diff(CONTAINER, "registry", container_id, state, inputs, {**inputs, "envs": ["A=1"]})
        assert list(envs.replaces) == ["envs"]

        assert engine.read(CONTAINER, "registry", container_id, state, inputs) == container_id
        engine.delete(CONTAINER, "registry", container_id, state)
        assert not _container_exists(container_id)

        # A container removed behind the engine's back reads as gone.
        other_inputs = {**inputs, "name": janitor.name("standin-gone"), "uploads": []}
        other_id, other = engine.create(CONTAINER, "gone", other_inputs)
        janitor.containers.append(other_id)
        docker("rm", "--force", other_id)
        assert engine.read(CONTAINER, "gone", other_id, other, other_inputs) == ""

        engine.delete(VOLUME, "data", volume_id, volume)
        assert not _volume_exists(volume_name)
        assert engine.read(VOLUME, "data", volume_id, volume, {"name": volume_name}) == ""


@pytest.mark.integration
def test_docker_refuses_a_missing_image_and_a_container_that_does_not_stay_up(
    tmp_path: Path, janitor: DockerJanitor, standin_image: str
) -> None:
    missing = f"palette-pack-registry-missing:{secrets.token_hex(4)}"
    with running("docker", tmp_path) as engine:
        engine.configure(PROVIDER_CONFIG)
        with pytest.raises(grpc.RpcError, match="never pulls"):
            engine.create(IMAGE, "missing", {"name": missing, "keepLocally": True})
        inputs = {
            **_container_inputs(janitor, standin_image, janitor.name("standin-crash-data"), "standin-crash"),
            # The registry exits at start-up on a storage driver it does not know.
            "envs": ["REGISTRY_STORAGE=nonexistent"],
            "volumes": [],
        }
        with pytest.raises(grpc.RpcError, match="not running"):
            engine.create(CONTAINER, "crash", inputs)
    # Nothing is left for the engine not to know about.
    assert not docker("ps", "--all", "--quiet", "--filter", f"name={inputs['name']}").strip()
