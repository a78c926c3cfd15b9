"""The readiness gate, over gRPC through the SDK's provider host, when the registry is gone (day two).

``pulumi up --refresh`` with the registry container gone refreshes the gate too: its read must neither fail
nor drop the gate (readiness is a moment, not a state), so that the refresh goes on, the docker provider
re-creates the container, and the gate, whose triggers carry the new container id, proves it with an update.
A destroy deletes the gate without asking the registry anything.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pulumi.dynamic.dynamic import serialize_provider
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

from components.readiness import ReadinessGateProvider
from tests.support.grpc_support import plain, provider_host, struct
from tests.support.oci_scripted import scripted_registry
from tests.support.paths import ROOT
from tests.support.tls_support import Authority, LeafCertificate, serve_registry

URN = "urn:pulumi:dev::palette-pack-registry::pulumi-python:dynamic/registry:ReadinessGate::readiness"
PROVIDER = serialize_provider(ReadinessGateProvider())
HOST = "registry.test"
USER = "spectro"
PASSWORD = "Gate-Readonly-Pw-9"


@pytest.fixture(scope="module")
def authority() -> Authority:
    return Authority.create("Gate Unreachable CA")


@pytest.fixture(scope="module")
def leaf(authority: Authority) -> LeafCertificate:
    return authority.issue([HOST], ["127.0.0.1"])


@pytest.fixture
def stub(tmp_path: Path) -> Iterator[provider_pb2_grpc.ResourceProviderStub]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PULUMI_")}
    with provider_host(ROOT, env, tmp_path / "host.stderr") as (_process, stub):
        yield stub


def gate_inputs(url: str, ca: str) -> dict[str, Any]:
    return {
        "url": url,
        "server_name": HOST,
        "ca_certificate": ca,
        "username": USER,
        "password": PASSWORD,
        "timeout_seconds": 3,
        "interval_seconds": 0.05,
        "triggers": {"container": "c0ffee"},
        "__provider": PROVIDER,
    }


def passed_gate(
    stub: provider_pb2_grpc.ResourceProviderStub, authority: Authority, leaf: LeafCertificate
) -> tuple[provider_pb2.CreateResponse, Any]:
    """A gate as the last `pulumi up` left it (it saw the registry answer), and its checked inputs; the
    registry is gone once this returns (its port closed)."""
    with serve_registry(users={USER: PASSWORD}, leaf=leaf) as registry:
        checked = stub.Check(
            provider_pb2.CheckRequest(
                urn=URN, olds=struct({}), news=struct(gate_inputs(registry.url, authority.certificate_pem))
            )
        )
        created = stub.Create(provider_pb2.CreateRequest(urn=URN, properties=checked.inputs))
    return created, checked.inputs


@pytest.mark.parametrize("how", ["connection-refused", "proxy-502"])
def test_a_refresh_with_the_registry_gone_keeps_the_gate(
    stub: provider_pb2_grpc.ResourceProviderStub, authority: Authority, leaf: LeafCertificate, how: str
) -> None:
    created, inputs = passed_gate(stub, authority, leaf)
    state = created.properties
    with scripted_registry(authority, HOST) as proxy:
        if how == "proxy-502":
            proxy.down = 502
            state = struct({**plain(state), "url": proxy.url})

        read = stub.Read(provider_pb2.ReadRequest(id=created.id, urn=URN, properties=state, inputs=inputs))

        assert proxy.requests == []
    assert read.id == created.id
    assert plain(read.properties) == plain(state)


def test_with_the_registry_gone_an_unchanged_gate_is_no_change_and_deletes_quietly(
    stub: provider_pb2_grpc.ResourceProviderStub, authority: Authority, leaf: LeafCertificate
) -> None:
    created, inputs = passed_gate(stub, authority, leaf)

    diff = stub.Diff(provider_pb2.DiffRequest(id=created.id, urn=URN, olds=created.properties, news=inputs))
    stub.Delete(provider_pb2.DeleteRequest(id=created.id, urn=URN, properties=created.properties))

    assert diff.changes == provider_pb2.DiffResponse.DIFF_NONE


def test_a_new_container_reruns_the_gate(
    stub: provider_pb2_grpc.ResourceProviderStub, authority: Authority, leaf: LeafCertificate
) -> None:
    """What follows the refresh: the container re-created (a new id in ``triggers``) is an update of the gate,
    which waits for the new container to answer."""
    created, inputs = passed_gate(stub, authority, leaf)
    with serve_registry(users={USER: PASSWORD}, leaf=leaf) as registry:
        news = struct({**plain(inputs), "url": registry.url, "triggers": {"container": "5eed"}})

        diff = stub.Diff(provider_pb2.DiffRequest(id=created.id, urn=URN, olds=created.properties, news=news))
        updated = stub.Update(provider_pb2.UpdateRequest(id=created.id, urn=URN, olds=created.properties, news=news))

    assert diff.changes == provider_pb2.DiffResponse.DIFF_SOME
    assert list(diff.replaces) == []
    assert plain(updated.properties)["triggers"] == {"container": "5eed"}
    assert plain(updated.properties)["health_status"] == 200
