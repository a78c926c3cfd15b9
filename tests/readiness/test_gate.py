"""The readiness gate's dynamic provider against a real local HTTPS server with real certificates.

Exercised three ways: by calling the provider's methods directly, after a pickle round trip (what the
state keeps), and through the SDK's own dynamic provider host over gRPC (wire shapes: ints as floats,
``__provider`` present, unknowns during preview).
"""

from __future__ import annotations

import base64
import os
import re
import time
from collections.abc import Iterator
from typing import Any

import dill
import pulumi
import pytest
import requests
from pulumi.dynamic.dynamic import serialize_provider
from pulumi.output import Unknown
from pulumi.runtime import proto, rpc
from pulumi.runtime.mocks import MockMonitor
from pulumi.runtime.proto import provider_pb2_grpc

from components.readiness.gate import (
    DEFAULT_CATALOG_PATH,
    DEFAULT_HEALTH_PATH,
    INPUT_KEYS,
    ReadinessGate,
    ReadinessGateProvider,
    RegistryNotReady,
)
from tests.support.grpc_support import plain as _plain
from tests.support.grpc_support import provider_host as started_provider_host
from tests.support.grpc_support import struct as _struct
from tests.support.paths import ROOT
from tests.support.tls_support import Authority, LeafCertificate, free_port, raw_listener, serve_registry

HOST = "registry.test"
USER = "spectro"
PASSWORD = "s3cret-Readonly-Pw-42"
USERS = {"admin": "Adm1n-Pw-Not-Shown", USER: PASSWORD}


@pytest.fixture(scope="module")
def authority() -> Authority:
    return Authority.create()


@pytest.fixture(scope="module")
def leaf(authority: Authority) -> LeafCertificate:
    return authority.issue([HOST], ["127.0.0.1"])


def gate_props(url: str, ca: str | None, **overrides: Any) -> dict[str, Any]:
    props: dict[str, Any] = {
        "url": url,
        "server_name": HOST,
        "ca_certificate": ca,
        "health_path": DEFAULT_HEALTH_PATH,
        "catalog_path": DEFAULT_CATALOG_PATH,
        "username": USER,
        "password": PASSWORD,
        "timeout_seconds": 5.0,
        "interval_seconds": 0.05,
        "triggers": {"container": "abc123"},
    }
    props.update(overrides)
    return {key: value for key, value in props.items() if value is not None}


def fails_with(props: dict[str, Any]) -> str:
    with pytest.raises(RegistryNotReady) as raised:
        ReadinessGateProvider().create(props)
    message = str(raised.value)
    assert PASSWORD not in message
    assert USERS["admin"] not in message
    return message


# --- create: the gate against a real server -----------------------------------------------------------


def test_create_passes_with_the_ca_and_the_dns_name(authority: Authority, leaf: LeafCertificate) -> None:
    with serve_registry(users=USERS, leaf=leaf) as registry:
        result = ReadinessGateProvider().create(gate_props(registry.url, authority.certificate_pem))
    assert result.id.startswith("readiness-")
    outs = result.outs
    assert outs is not None
    for key in INPUT_KEYS:
        assert key in outs
    assert outs["password"] == PASSWORD
    assert outs["triggers"] == {"container": "abc123"}
    assert outs["health_status"] == 200
    assert outs["attempts"] == 1
    assert isinstance(outs["ready_seconds"], float) and outs["ready_seconds"] >= 0


def test_create_passes_for_the_ip_san_without_a_server_name(authority: Authority, leaf: LeafCertificate) -> None:
    with serve_registry(users=USERS, leaf=leaf) as registry:
        props = gate_props(registry.url, authority.certificate_pem, server_name=None)
        assert "server_name" not in props
        result = ReadinessGateProvider().create(props)
    assert result.outs is not None
    assert result.outs["health_status"] == 200


def test_wrong_ca_is_reported_as_unknown_authority_with_the_fix(leaf: LeafCertificate) -> None:
    other = Authority.create("Some Other CA")
    with serve_registry(users=USERS, leaf=leaf) as registry:
        message = fails_with(gate_props(registry.url, other.certificate_pem, timeout_seconds=0.6))
    assert "unknown authority" in message
    assert registry.url in message
    assert "must trust the CA" in message
    assert "certs.d" in message


def test_wrong_host_name_is_reported_as_name_mismatch_with_the_fix(authority: Authority, leaf: LeafCertificate) -> None:
    with serve_registry(users=USERS, leaf=leaf) as registry:
        message = fails_with(
            gate_props(registry.url, authority.certificate_pem, server_name="other.test", timeout_seconds=0.6)
        )
    assert "name mismatch" in message
    assert "'other.test'" in message
    assert "SANs must cover" in message


def test_ip_address_outside_the_sans_is_a_name_mismatch(authority: Authority) -> None:
    dns_only = authority.issue([HOST], [])
    with serve_registry(users=USERS, leaf=dns_only) as registry:
        message = fails_with(gate_props(registry.url, authority.certificate_pem, server_name=None, timeout_seconds=0.6))
    assert "name mismatch" in message
    assert "'127.0.0.1'" in message


def test_wrong_password_names_the_user_and_never_the_password(authority: Authority, leaf: LeafCertificate) -> None:
    with serve_registry(users=USERS, leaf=leaf) as registry:
        message = fails_with(
            gate_props(registry.url, authority.certificate_pem, password="wrong-Password-99", timeout_seconds=0.6)
        )
    assert "user 'spectro'" in message
    assert "401" in message
    assert "/v1/_catalog" in message
    assert "wrong-Password-99" not in message


def test_unknown_user_is_refused_by_name(authority: Authority, leaf: LeafCertificate) -> None:
    with serve_registry(users=USERS, leaf=leaf) as registry:
        message = fails_with(
            gate_props(registry.url, authority.certificate_pem, username="nobody", timeout_seconds=0.6)
        )
    assert "user 'nobody'" in message
    assert "401" in message


@pytest.mark.parametrize(
    "password",
    ["Pässwörter-sind-lang-1", "Passwort-mit-€-Zeichen-1"],
    ids=["latin-1 letters", "beyond latin-1"],
)
def test_a_supplied_non_ascii_password_passes_the_gate(
    authority: Authority, leaf: LeafCertificate, password: str
) -> None:
    """config.py accepts a supplied password of 16-72 UTF-8 bytes, and bcrypt_hash.py hashes its UTF-8
    bytes; the registry compares the Basic credentials' raw bytes with that hash
    (distribution/distribution registry/auth/htpasswd/htpasswd.go: ``bcrypt.CompareHashAndPassword(credentials,
    []byte(password))``), as Palette and the Spectro CLI (Go) send them: UTF-8. requests encodes a str
    password as latin-1, so "ä" goes out as one byte the hash never saw (401 until the timeout) and "€"
    raises UnicodeEncodeError out of the gate."""
    with serve_registry(users={USER: password}, leaf=leaf) as registry:
        result = ReadinessGateProvider().create(
            gate_props(registry.url, authority.certificate_pem, password=password, timeout_seconds=1)
        )
    assert result.outs is not None
    assert result.outs["attempts"] == 1


def test_nothing_listening_is_reported_as_connection_refused(authority: Authority) -> None:
    url = f"https://127.0.0.1:{free_port()}"
    started = time.monotonic()
    message = fails_with(gate_props(url, authority.certificate_pem, timeout_seconds=0.8, interval_seconds=0.05))
    elapsed = time.monotonic() - started
    assert "nothing is listening" in message
    assert "connection refused" in message
    assert url in message
    # It kept polling until the configured timeout, then stopped: a refused connection is immediate, so
    # the attempts are paced by the interval, at most timeout / interval + 1 of them (more than one).
    assert elapsed >= 0.8
    assert "was not ready after 0.8s" in message
    attempts = int(re.search(r"\((\d+) attempts\)", message).group(1))
    assert 2 <= attempts <= 0.8 / 0.05 + 1


def test_a_port_that_accepts_and_closes_is_reported_as_such(authority: Authority) -> None:
    # docker-proxy accepts on the host port while nothing listens inside the container yet.
    with raw_listener(hold=False) as url:
        message = fails_with(gate_props(url, authority.certificate_pem, timeout_seconds=0.5))
    assert "closed it without answering" in message
    assert url in message


def test_a_server_that_never_answers_is_reported_as_a_timeout(
    authority: Authority, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The per-request timeout follows the gate's budget (with a 0.5 s floor), not the 10 s read timeout:
    # checked on the timeouts the gate hands to requests, not on a stopwatch.
    asked: list[tuple[float, float]] = []
    original = requests.Session.get

    def recording_get(self: requests.Session, url: str, **kwargs: Any) -> requests.Response:
        asked.append(kwargs["timeout"])
        return original(self, url, **kwargs)

    monkeypatch.setattr(requests.Session, "get", recording_get)
    with raw_listener(hold=True) as url:
        message = fails_with(gate_props(url, authority.certificate_pem, timeout_seconds=0.6))
    assert "did not answer in time" in message
    assert asked, "no request was made"
    assert all(0.5 <= connect <= 0.6 and 0.5 <= read <= 0.6 for connect, read in asked), asked


def test_waits_for_a_server_that_starts_listening_late(authority: Authority, leaf: LeafCertificate) -> None:
    delay = 1.0
    with serve_registry(users=USERS, leaf=leaf, start_after=delay) as registry:
        result = ReadinessGateProvider().create(gate_props(registry.url, authority.certificate_pem))
    assert result.outs is not None
    assert result.outs["ready_seconds"] >= delay - 0.05
    assert result.outs["attempts"] > 1
    # How soon after listening the gate notices is a figure, not a rule: tests/benchmarks/test_readiness_gate.py
    # measures it.


def test_a_401_from_the_health_path_counts_as_listening(authority: Authority, leaf: LeafCertificate) -> None:
    # Like the distribution stand-in: /v2/ needs auth too.
    with serve_registry(
        users=USERS, leaf=leaf, health_path="/v2/", catalog_path="/v2/_catalog", health_needs_auth=True
    ) as registry:
        props = gate_props(registry.url, authority.certificate_pem, health_path="/v2/", catalog_path="/v2/_catalog")
        result = ReadinessGateProvider().create(props)
    assert result.outs is not None
    assert result.outs["health_status"] == 401


def test_a_missing_health_path_is_an_unexpected_status_with_a_hint(authority: Authority, leaf: LeafCertificate) -> None:
    with serve_registry(users=USERS, leaf=leaf) as registry:
        message = fails_with(
            gate_props(registry.url, authority.certificate_pem, health_path="/nope", timeout_seconds=0.5)
        )
    assert "unexpected status" in message
    assert "404" in message
    assert "/nope" in message


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_a_redirect_from_the_health_path_is_not_an_answer(
    authority: Authority, leaf: LeafCertificate, status: int
) -> None:
    # requests' Response.ok is true for 3xx; the gate wants 2xx (or 401).
    with serve_registry(users=USERS, leaf=leaf, health_status=status) as registry:
        message = fails_with(gate_props(registry.url, authority.certificate_pem, timeout_seconds=0.4))
    assert "unexpected status from the health path" in message
    assert str(status) in message


def test_any_2xx_from_the_health_path_is_an_answer(authority: Authority, leaf: LeafCertificate) -> None:
    with serve_registry(users=USERS, leaf=leaf, health_status=204) as registry:
        result = ReadinessGateProvider().create(gate_props(registry.url, authority.certificate_pem))
    assert result.outs is not None
    assert result.outs["health_status"] == 204


def test_a_ca_that_does_not_load_is_reported() -> None:
    broken = "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n"
    message = fails_with(gate_props(f"https://127.0.0.1:{free_port()}", broken, timeout_seconds=0.3))
    assert "cannot be loaded" in message


def test_plain_http_mode(authority: Authority) -> None:
    with serve_registry(users=USERS) as registry:
        assert registry.url.startswith("http://")
        result = ReadinessGateProvider().create(gate_props(registry.url, None, server_name=None))
        message = fails_with(
            gate_props(
                registry.url.replace("http://", "https://"),
                authority.certificate_pem,
                server_name=None,
                timeout_seconds=0.5,
            )
        )
    assert result.outs is not None
    assert result.outs["health_status"] == 200
    assert "does not speak TLS" in message


def test_update_runs_the_gate_again(authority: Authority, leaf: LeafCertificate) -> None:
    provider = ReadinessGateProvider()
    with serve_registry(users=USERS, leaf=leaf) as registry:
        olds = provider.create(gate_props(registry.url, authority.certificate_pem)).outs
        assert olds is not None
        news = gate_props(registry.url, authority.certificate_pem, triggers={"container": "def456"})
        updated = provider.update("readiness-x", olds, news).outs
    assert updated is not None
    assert updated["triggers"] == {"container": "def456"}
    # The server is gone now: the same update fails.
    with pytest.raises(RegistryNotReady, match="nothing is listening"):
        provider.update("readiness-x", olds, {**news, "timeout_seconds": 0.3})


# --- tlsMode provided: the gate trusts the chain the server sends -------------------------------------


@pytest.fixture(scope="module")
def provided() -> tuple[Authority, Authority, LeafCertificate]:
    """A root, an intermediate it signed, and a server certificate the intermediate issued."""
    root = Authority.create("Provided Root CA")
    intermediate = root.intermediate("Provided Intermediate CA")
    return root, intermediate, intermediate.issue([HOST], ["127.0.0.1"])


def provided_chain(provided: tuple[Authority, Authority, LeafCertificate], shape: str) -> str:
    root, intermediate, leaf = provided
    parts = {
        "leaf only": [leaf.certificate_pem],
        "leaf and intermediate, no root": [leaf.certificate_pem, intermediate.certificate_pem],
        "full chain": [leaf.certificate_pem, intermediate.certificate_pem, root.certificate_pem],
    }[shape]
    return "".join(parts)


@pytest.mark.parametrize("shape", ["leaf only", "leaf and intermediate, no root", "full chain"])
def test_a_provided_chain_passes_the_gate(provided: tuple[Authority, Authority, LeafCertificate], shape: str) -> None:
    """In provided mode the server serves the provided chain (server certificate first) and the gate
    trusts that same chain. Before Python 3.13 a trusted certificate that is not self-signed is no anchor
    unless the context has ``VERIFY_X509_PARTIAL_CHAIN``; Go clients (Palette) accept such chains."""
    chain = provided_chain(provided, shape)
    served = LeafCertificate(certificate_pem=chain, private_key_pem=provided[2].private_key_pem)
    with serve_registry(users=USERS, leaf=served) as registry:
        result = ReadinessGateProvider().create(gate_props(registry.url, chain, timeout_seconds=2))
    assert result.outs is not None
    assert result.outs["health_status"] == 200
    assert result.outs["attempts"] == 1


def test_a_trusted_leaf_still_needs_the_right_name(provided: tuple[Authority, Authority, LeafCertificate]) -> None:
    chain = provided_chain(provided, "leaf only")
    served = LeafCertificate(certificate_pem=chain, private_key_pem=provided[2].private_key_pem)
    with serve_registry(users=USERS, leaf=served) as registry:
        message = fails_with(gate_props(registry.url, chain, server_name="other.test", timeout_seconds=0.4))
    assert "name mismatch" in message


def test_trusting_another_leaf_is_still_an_unknown_authority(
    provided: tuple[Authority, Authority, LeafCertificate],
) -> None:
    _, intermediate, leaf = provided
    other = intermediate.issue([HOST], ["127.0.0.1"])
    with serve_registry(users=USERS, leaf=leaf) as registry:
        message = fails_with(gate_props(registry.url, other.certificate_pem, timeout_seconds=0.4))
    assert "unknown authority" in message


def test_a_server_without_the_upload_route_is_recorded_as_not_tried(
    authority: Authority, leaf: LeafCertificate
) -> None:
    """The legacy kind's probe (``write_probe_must_refuse`` false) on a server that has no blob-upload route (the
    fake answers POST with 501, as http.server does for a method it lacks; 404 and 405 count the same): the gate
    passes and records "not-tried". The same answer fails an OCI gate, whose proxy must refuse with 401 or 403."""
    probe = {"write_probe_path": "/v2/x/blobs/uploads/"}
    with serve_registry(users=USERS, leaf=leaf) as registry:
        outs = (
            ReadinessGateProvider()
            .create(gate_props(registry.url, authority.certificate_pem, write_probe_must_refuse=False, **probe))
            .outs
        )
        assert outs is not None and outs["write_probe_result"] == "not-tried"
        message = fails_with(gate_props(registry.url, authority.certificate_pem, timeout_seconds=0.3, **probe))
    assert "unexpected status from the write probe path" in message and "501" in message


@pytest.mark.parametrize("status", [400, 500, 503, 302, 0])
def test_a_legacy_write_probe_never_fails_the_gate(authority: Authority, leaf: LeafCertificate, status: int) -> None:
    """The legacy kind's probe only informs (a warning when the read-only user could push): whatever else the POST
    answers, the gate passes and records "not-tried". A full data volume makes distribution answer an upload 500
    (blobupload.go StartBlobUpload: the storage driver's error is ErrorCodeUnknown), while pulls serve; Spectro
    documents nothing of what spectro-registry answers there; 0 is a connection closed without an answer. An OCI gate
    still fails on the same answer."""
    probe = {"write_probe_path": "/v2/x/blobs/uploads/"}
    with serve_registry(users=USERS, leaf=leaf, write_status=status) as registry:
        outs = (
            ReadinessGateProvider()
            .create(
                gate_props(
                    registry.url, authority.certificate_pem, write_probe_must_refuse=False, timeout_seconds=1, **probe
                )
            )
            .outs
        )
        assert outs is not None and outs["write_probe_result"] == "not-tried"
        message = fails_with(gate_props(registry.url, authority.certificate_pem, timeout_seconds=0.3, **probe))
    if status:
        assert "unexpected status from the write probe path" in message and str(status) in message
    else:
        assert "without answering" in message


# --- check, diff, read -----------------------------------------------------------------------------------


def test_check_fills_defaults_and_accepts_a_valid_input() -> None:
    news = {"url": "https://10.0.0.5:443", "username": USER, "password": PASSWORD, "__provider": "x"}
    result = ReadinessGateProvider().check({}, news)
    assert result.failures == []
    assert result.inputs["health_path"] == "/health"
    assert result.inputs["catalog_path"] == "/v1/_catalog"
    assert result.inputs["timeout_seconds"] == 60
    assert 0 < result.inputs["interval_seconds"] <= 0.25
    assert result.inputs["triggers"] == {}
    assert result.inputs["__provider"] == "x"


@pytest.mark.parametrize(
    ("change", "failing_key"),
    [
        ({"url": "10.0.0.5:443"}, "url"),
        ({"url": "ftp://10.0.0.5"}, "url"),
        ({"url": "https://10.0.0.5:443/v1"}, "url"),
        ({"username": ""}, "username"),
        ({"password": ""}, "password"),
        ({"health_path": "health"}, "health_path"),
        ({"catalog_path": "v1/_catalog"}, "catalog_path"),
        ({"timeout_seconds": 0.0}, "timeout_seconds"),
        ({"interval_seconds": -1.0}, "interval_seconds"),
        ({"ca_certificate": "not a pem"}, "ca_certificate"),
        ({"url": "http://10.0.0.5:80", "ca_certificate": "-----BEGIN CERTIFICATE-----\n"}, "ca_certificate"),
        ({"triggers": "abc"}, "triggers"),
    ],
)
def test_check_rejects_bad_input(change: dict[str, Any], failing_key: str) -> None:
    news = {"url": "https://10.0.0.5:443", "username": USER, "password": PASSWORD, **change}
    failures = ReadinessGateProvider().check({}, news).failures
    assert [failure.property for failure in failures] == [failing_key]
    assert PASSWORD not in " ".join(failure.reason for failure in failures)


def test_check_accepts_unknowns_during_preview() -> None:
    news = {
        "url": Unknown(),
        "username": USER,
        "password": Unknown(),
        "ca_certificate": Unknown(),
        "server_name": HOST,
        "triggers": {"container": Unknown()},
    }
    assert ReadinessGateProvider().check({}, news).failures == []


def outputs_of(props: dict[str, Any]) -> dict[str, Any]:
    return {**props, "ready_seconds": 0.12, "attempts": 2.0, "health_status": 200.0, "__provider": "p"}


def test_diff_without_input_changes_is_no_change() -> None:
    props = gate_props("https://127.0.0.1:5443", "-----BEGIN CERTIFICATE-----\n", timeout_seconds=60)
    # Wire shapes: the new inputs carry 60.0 where the program said 60, and no output keys.
    news = {**props, "timeout_seconds": 60.0, "__provider": "p"}
    result = ReadinessGateProvider().diff("readiness-x", outputs_of(props), news)
    assert result.changes is False
    assert result.replaces == []


@pytest.mark.parametrize(
    "change",
    [
        {"triggers": {"container": "new-container-id"}},
        {"triggers": {"container": "abc123", "htpasswd": "new-hash"}},
        {"password": "rotated-Password-1"},
        {"ca_certificate": "-----BEGIN CERTIFICATE-----\nother\n"},
        {"server_name": "other.test"},
        {"url": "https://127.0.0.1:6443"},
        {"timeout_seconds": 30.0},
        {"triggers": {"container": Unknown()}},
        {"password": Unknown()},
    ],
)
def test_diff_any_input_change_is_an_update_never_a_replace(change: dict[str, Any]) -> None:
    props = gate_props("https://127.0.0.1:5443", "-----BEGIN CERTIFICATE-----\n")
    result = ReadinessGateProvider().diff("readiness-x", outputs_of(props), {**props, **change})
    assert result.changes is True
    assert result.replaces == []
    assert result.delete_before_replace is False


def test_read_returns_the_props_unchanged() -> None:
    props = outputs_of(gate_props("https://127.0.0.1:5443", None))
    result = ReadinessGateProvider().read("readiness-x", dict(props))
    assert result.id == "readiness-x"
    assert result.outs == props


# --- the pickle the state keeps ---------------------------------------------------------------------------


def test_pickle_round_trip_holds_no_secret_and_still_works(authority: Authority, leaf: LeafCertificate) -> None:
    provider = ReadinessGateProvider()
    with serve_registry(users=USERS, leaf=leaf) as registry:
        provider.create(gate_props(registry.url, authority.certificate_pem))
        # Serialized after use: nothing the create saw may have been kept on the instance.
        serialized = serialize_provider(provider)
        raw = base64.b64decode(serialized)
        assert PASSWORD.encode() not in raw
        assert authority.certificate_pem.encode()[40:80] not in raw
        assert b"components.readiness" in raw  # pickled by reference to the importable module
        restored = dill.loads(raw)
        assert type(restored).__name__ == "ReadinessGateProvider"
        assert vars(restored) == {}
        result = restored.create(gate_props(registry.url, authority.certificate_pem))
    assert result.outs is not None
    assert result.outs["health_status"] == 200


# --- the resource, under Pulumi mocks ----------------------------------------------------------------------


class _RecordingMocks(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.resources: list[pulumi.runtime.MockResourceArgs] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        self.resources.append(args)
        return f"{args.name}-id", {**args.inputs, "ready_seconds": 0.1}

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        return {}, None


class _RecordingMonitor(MockMonitor):
    """Keeps the raw registration requests: the mocks' view drops the resource options."""

    def __init__(self, mocks: pulumi.runtime.Mocks) -> None:
        super().__init__(mocks)
        self.requests: list[Any] = []

    def RegisterResource(self, request: Any) -> Any:
        self.requests.append(request)
        return super().RegisterResource(request)


@pulumi.runtime.test
def test_resource_registers_the_inputs_with_a_secret_password() -> Any:
    mocks = _RecordingMocks()
    monitor = _RecordingMonitor(mocks)
    pulumi.runtime.set_mocks(mocks, project="readiness", stack="test", preview=False, monitor=monitor)

    gate = ReadinessGate(
        "gate",
        url="https://127.0.0.1:5443",
        server_name=HOST,
        ca_certificate="-----BEGIN CERTIFICATE-----\n",
        username=USER,
        password=PASSWORD,
        triggers={"container": "abc123"},
    )

    def check(values: list[Any]) -> None:
        url, secret = values
        assert url == "https://127.0.0.1:5443"
        assert secret is True
        (recorded,) = mocks.resources
        assert recorded.typ == "pulumi-python:dynamic/registry:ReadinessGate"
        inputs = recorded.inputs
        assert rpc.is_rpc_secret(inputs["password"])
        assert rpc.unwrap_rpc_secret(inputs["password"]) == PASSWORD
        assert inputs["health_path"] == "/health"
        assert inputs["catalog_path"] == "/v1/_catalog"
        assert inputs["timeout_seconds"] == 60
        assert inputs["triggers"] == {"container": "abc123"}
        assert PASSWORD not in inputs["__provider"]
        (request,) = [r for r in monitor.requests if r.type.endswith(":ReadinessGate")]
        assert list(request.additionalSecretOutputs) == ["password"]

    return pulumi.Output.all(gate.url, pulumi.Output.is_secret(gate.password)).apply(check)


# --- the SDK's own dynamic provider host, over gRPC --------------------------------------------------------


@pytest.fixture(scope="module")
def provider_host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[provider_pb2_grpc.ResourceProviderStub]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    stderr = tmp_path_factory.mktemp("gate-host") / "host.stderr"
    with started_provider_host(ROOT, env, stderr) as (_process, stub):
        stub.Configure(proto.ConfigureRequest(args=_struct({}), acceptSecrets=False))
        yield stub


URN = "urn:pulumi:test::readiness::pulumi-python:dynamic/registry:ReadinessGate::gate"


def test_grpc_check_diff_create_through_the_sdk_provider_host(
    provider_host: provider_pb2_grpc.ResourceProviderStub, authority: Authority, leaf: LeafCertificate
) -> None:
    serialized = serialize_provider(ReadinessGateProvider())
    with serve_registry(users=USERS, leaf=leaf) as registry:
        # What the engine sends: ints as floats, None keys dropped, __provider present.
        news = {
            "url": registry.url,
            "server_name": HOST,
            "ca_certificate": authority.certificate_pem,
            "username": USER,
            "password": PASSWORD,
            "timeout_seconds": 5,
            "interval_seconds": 0.05,
            "triggers": {"container": "abc123"},
            "__provider": serialized,
        }
        checked = provider_host.Check(proto.CheckRequest(urn=URN, olds=_struct({}), news=_struct(news)))
        assert list(checked.failures) == []
        inputs = _plain(checked.inputs)
        assert inputs["health_path"] == "/health"
        assert inputs["__provider"] == serialized

        created = provider_host.Create(proto.CreateRequest(urn=URN, properties=checked.inputs))
        outs = _plain(created.properties)
        assert created.id.startswith("readiness-")
        assert outs["health_status"] == 200.0
        assert outs["ready_seconds"] >= 0
        assert outs["timeout_seconds"] == 5.0
        assert outs["__provider"] == serialized

        same = provider_host.Diff(
            proto.DiffRequest(id=created.id, urn=URN, olds=created.properties, news=checked.inputs)
        )
        assert same.changes == proto.DiffResponse.DIFF_NONE

        rotated = {**inputs, "triggers": {"container": "def456"}}
        changed = provider_host.Diff(
            proto.DiffRequest(id=created.id, urn=URN, olds=created.properties, news=_struct(rotated))
        )
        assert changed.changes == proto.DiffResponse.DIFF_SOME
        assert list(changed.replaces) == []

        updated = provider_host.Update(
            proto.UpdateRequest(id=created.id, urn=URN, olds=created.properties, news=_struct(rotated))
        )
        assert _plain(updated.properties)["triggers"] == {"container": "def456"}


def test_grpc_check_and_diff_accept_unknowns_during_preview(
    provider_host: provider_pb2_grpc.ResourceProviderStub,
) -> None:
    serialized = serialize_provider(ReadinessGateProvider())
    olds = {
        **gate_props("https://127.0.0.1:5443", "-----BEGIN CERTIFICATE-----\n"),
        "ready_seconds": 0.2,
        "__provider": serialized,
    }
    news = {**olds, "password": rpc.UNKNOWN, "triggers": {"container": rpc.UNKNOWN}}
    news.pop("ready_seconds")
    checked = provider_host.Check(proto.CheckRequest(urn=URN, olds=_struct(olds), news=_struct(news)))
    assert list(checked.failures) == []
    diffed = provider_host.Diff(proto.DiffRequest(id="readiness-x", urn=URN, olds=_struct(olds), news=_struct(news)))
    assert diffed.changes == proto.DiffResponse.DIFF_SOME
    assert list(diffed.replaces) == []
