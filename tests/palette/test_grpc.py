"""The provider through the SDK's own provider host (``python -m pulumi.dynamic``), over gRPC.

This is how the Pulumi engine runs it: the host prints its port, the engine sends ``Configure`` with the
stack config, then ``Check``/``Create``/``Diff``/``Update``/``Read``/``Delete`` with properties serialized
by ``pulumi.runtime.rpc`` and the pickled provider in ``__provider``. Secrets are sent unwrapped, since
the dynamic provider host answers ``Configure`` with ``acceptSecrets: false``.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import struct_pb2
from pulumi.dynamic.dynamic import serialize_provider
from pulumi.runtime import rpc
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

from components.palette import API_KEY_CONFIG, PackRegistryProvider
from tests.support.grpc_support import plain, provider_host, struct
from tests.support.harness import PROJECT, as_config_string, declared_defaults
from tests.support.harness import stack_config as harness_stack_config
from tests.support.palette_fake import FakePalette
from tests.support.palette_support import FAST_HTTP_ENV, KINDS, declared, new_password
from tests.support.paths import ROOT

NAME = "custom-packs"
URN = "urn:pulumi:dev::palette-pack-registry::pulumi-python:dynamic/palette:PackRegistry::registration"
PROVIDER = serialize_provider(PackRegistryProvider())


@dataclass
class Host:
    """A running provider host and a stub talking to it."""

    process: subprocess.Popen[bytes]
    stub: provider_pb2_grpc.ResourceProviderStub
    stderr: Path

    def configure(self, api_key: str | None) -> None:
        config = {API_KEY_CONFIG: rpc.wrap_rpc_secret(api_key)} if api_key is not None else {}
        self.stub.Configure(
            provider_pb2.ConfigureRequest(
                args=struct(config),
                variables={API_KEY_CONFIG: api_key} if api_key is not None else {},
                acceptSecrets=True,
            )
        )

    def configure_stack(self, config: dict[str, str]) -> None:
        """``Configure`` as the engine sends it to a dynamic provider: the whole stack config, keys
        namespaced, every value a string, secrets decrypted and marked secret (pulumi/pulumi
        ``pkg/resource/deploy/target.go`` ``GetPackageConfig``: "For dynamic providers, we always pass the
        full configuration", ``NewStringProperty``, ``MakeSecret`` for a secure value)."""
        args = {k: rpc.wrap_rpc_secret(v) if k == API_KEY_CONFIG else v for k, v in config.items()}
        self.stub.Configure(provider_pb2.ConfigureRequest(args=struct(args), variables=config, acceptSecrets=True))

    def check(self, props: dict[str, Any], olds: dict[str, Any] | None = None) -> provider_pb2.CheckResponse:
        return self.stub.Check(
            provider_pb2.CheckRequest(urn=URN, olds=struct(olds or {}), news=struct({**props, "__provider": PROVIDER}))
        )

    def checked(self, props: dict[str, Any], olds: dict[str, Any] | None = None) -> struct_pb2.Struct:
        response = self.check(props, olds)
        assert [(f.property, f.reason) for f in response.failures] == []
        return response.inputs

    def logs(self) -> str:
        return self.stderr.read_text()


def start_host(tmp_path: Path, **extra_env: str) -> Iterator[Host]:
    env = {k: v for k, v in os.environ.items() if k not in ("PALETTE_API_KEY", "PULUMI_PROJECT")}
    env.update(FAST_HTTP_ENV)
    env.update(extra_env)
    stderr_path = tmp_path / "host.stderr"
    with provider_host(ROOT, env, stderr_path) as (process, stub):
        yield Host(process, stub, stderr_path)


@pytest.fixture
def host(tmp_path: Path, palette: FakePalette) -> Iterator[Host]:
    yield from start_host(tmp_path)


def test_the_whole_lifecycle(host, palette, kind):
    host.configure(palette.api_key)
    props = kind.declared(palette.url)

    # pulumi up: check, create
    inputs = host.checked(props)
    created = host.stub.Create(provider_pb2.CreateRequest(urn=URN, properties=inputs))
    uid = created.id
    outs = plain(created.properties)
    (stored,) = palette.named(NAME)
    assert stored["metadata"]["uid"] == uid
    assert stored["spec"]["auth"]["password"] == props["password"]
    assert outs["uid"] == uid and outs["password"] == props["password"]
    assert outs["__provider"] == PROVIDER
    create_calls = len(palette.requests)
    assert create_calls == 3
    assert palette.requests[-1].target == f"POST {kind.create}"
    assert palette.kind_of(uid) == kind.name

    # pulumi up again, nothing changed: a diff and no call to Palette
    palette.reset_calls()
    diff = host.stub.Diff(
        provider_pb2.DiffRequest(id=uid, urn=URN, olds=created.properties, news=host.checked(props, olds=plain(inputs)))
    )
    assert diff.changes == provider_pb2.DiffResponse.DIFF_NONE
    assert palette.requests == []

    # the password is rotated: an update in place that sends the real secret
    rotated = {**props, "password": new_password()}
    news = host.checked(rotated, olds=plain(inputs))
    diff = host.stub.Diff(provider_pb2.DiffRequest(id=uid, urn=URN, olds=created.properties, news=news))
    assert diff.changes == provider_pb2.DiffResponse.DIFF_SOME
    assert list(diff.replaces) == []
    updated = host.stub.Update(provider_pb2.UpdateRequest(id=uid, urn=URN, olds=created.properties, news=news))
    assert palette.calls("PUT")[-1].body["spec"]["auth"]["password"] == rotated["password"]
    assert palette.named(NAME)[0]["spec"]["auth"]["password"] == rotated["password"]
    state = updated.properties

    # pulumi refresh after someone edited it in the console: the drift shows, the password stays
    palette.edit(uid, endpoint="https://elsewhere.example.com")
    read = host.stub.Read(provider_pb2.ReadRequest(id=uid, urn=URN, properties=state, inputs=news))
    assert read.id == uid
    refreshed = plain(read.properties)
    assert refreshed["endpoint"] == "https://elsewhere.example.com"
    assert refreshed["password"] == rotated["password"]
    diff = host.stub.Diff(provider_pb2.DiffRequest(id=uid, urn=URN, olds=read.properties, news=news))
    assert diff.changes == provider_pb2.DiffResponse.DIFF_SOME

    # pulumi destroy
    host.stub.Delete(provider_pb2.DeleteRequest(id=uid, urn=URN, properties=read.properties))
    assert palette.named(NAME) == []

    # pulumi refresh once it is gone
    gone = host.stub.Read(provider_pb2.ReadRequest(id=uid, urn=URN, properties=read.properties, inputs=news))
    assert gone.id == ""

    logs = host.logs()
    assert f"pack registry '{NAME}'" in logs
    for secret in (palette.api_key, props["password"], rotated["password"]):
        assert secret not in logs


def test_a_new_kind_is_a_replacement_the_old_kind_deleted_first(host, palette):
    """legacy -> oci over the wire: Diff asks for a delete-first replacement on registry_kind; the engine's
    steps then (step_generator.go, DeleteReplacement before CreateReplacement) delete the legacy
    registration and create the OCI one."""
    legacy, oci = KINDS["legacy"], KINDS["oci"]
    host.configure(palette.api_key)
    props = legacy.declared(palette.url)
    old = host.stub.Create(provider_pb2.CreateRequest(urn=URN, properties=host.checked(props)))
    news = host.checked({**oci.declared(palette.url), "password": props["password"]}, olds=plain(old.properties))

    diff = host.stub.Diff(provider_pb2.DiffRequest(id=old.id, urn=URN, olds=old.properties, news=news))

    assert diff.changes == provider_pb2.DiffResponse.DIFF_SOME
    assert list(diff.replaces) == ["registry_kind"]
    assert diff.deleteBeforeReplace is True
    palette.reset_calls()
    host.stub.Delete(provider_pb2.DeleteRequest(id=old.id, urn=URN, properties=old.properties))
    new = host.stub.Create(provider_pb2.CreateRequest(urn=URN, properties=news))
    targets = [c.target for c in palette.requests]
    assert targets.index(f"DELETE {legacy.item(old.id)}") < targets.index(f"POST {oci.create}"), targets
    assert [r["metadata"]["uid"] for r in palette.named(NAME)] == [new.id]
    assert palette.kind_of(new.id) == "oci"


def test_a_state_from_before_kinds_is_no_change_over_the_wire(host, palette):
    """The state today's provider wrote has no registry_kind, base_content_path or sync_trigger; the same
    program, checked by the new provider, must diff as DIFF_NONE with no call to Palette."""
    host.configure(palette.api_key)
    props = declared(palette.url)
    created = host.stub.Create(provider_pb2.CreateRequest(urn=URN, properties=host.checked(props)))
    new_keys = ("registry_kind", "base_content_path", "sync_trigger", "provider_type")
    state = {k: v for k, v in plain(created.properties).items() if k not in new_keys}
    palette.reset_calls()

    news = host.checked(props, olds=state)
    diff = host.stub.Diff(provider_pb2.DiffRequest(id=created.id, urn=URN, olds=struct(state), news=news))

    assert diff.changes == provider_pb2.DiffResponse.DIFF_NONE
    assert palette.requests == []


def test_a_rename_is_a_replacement(host, palette, kind):
    host.configure(palette.api_key)
    inputs = host.checked(kind.declared(palette.url))
    created = host.stub.Create(provider_pb2.CreateRequest(urn=URN, properties=inputs))
    props = {**kind.declared(palette.url, name="renamed-packs"), "password": plain(inputs)["password"]}

    diff = host.stub.Diff(
        provider_pb2.DiffRequest(id=created.id, urn=URN, olds=created.properties, news=host.checked(props))
    )

    assert diff.changes == provider_pb2.DiffResponse.DIFF_SOME
    assert list(diff.replaces) == ["name"]
    assert diff.deleteBeforeReplace is False


def test_an_existing_registration_is_adopted(host, palette, kind):
    host.configure(palette.api_key)
    existing = kind.add(palette, NAME)

    created = host.stub.Create(provider_pb2.CreateRequest(urn=URN, properties=host.checked(kind.declared(palette.url))))

    assert created.id == existing
    assert len(palette.named(NAME)) == 1


def test_persistent_500_is_a_clear_error_and_leaves_nothing(host, palette, kind):
    host.configure(palette.api_key)
    palette.fail_next(None, 500, method="POST", path=kind.create_re)

    with pytest.raises(grpc.RpcError) as caught:
        host.stub.Create(provider_pb2.CreateRequest(urn=URN, properties=host.checked(kind.declared(palette.url))))

    assert "PaletteUnavailable" in caught.value.details()
    assert "HTTP 500" in caught.value.details()
    assert palette.named(NAME) == []


def test_a_rejected_key_is_reported_without_the_key(host, palette, kind):
    wrong = "revoked-" + palette.api_key
    host.configure(wrong)
    props = kind.declared(palette.url)

    with pytest.raises(grpc.RpcError) as caught:
        host.stub.Create(provider_pb2.CreateRequest(urn=URN, properties=host.checked(props)))

    details = caught.value.details()
    assert "HTTP 401" in details and "PALETTE_API_KEY" in details
    for text in (details, host.logs()):
        assert wrong not in text and palette.api_key not in text and props["password"] not in text
    assert palette.named(NAME) == []


def test_check_failures_reach_the_engine(host, palette, kind):
    host.configure(palette.api_key)

    response = host.check(kind.declared(palette.url, endpoint="http://registry.example.com", ca_certificate=None))

    assert [f.property for f in response.failures] == ["endpoint"]
    assert palette.requests == []


def test_a_preview_with_unknown_values(host, palette, kind):
    host.configure(palette.api_key)
    inputs = host.checked(kind.declared(palette.url))
    created = host.stub.Create(provider_pb2.CreateRequest(urn=URN, properties=inputs))
    palette.reset_calls()
    # The engine sends an unknown as this sentinel string.
    props = {**kind.declared(palette.url), "password": rpc.UNKNOWN, "ca_certificate": rpc.UNKNOWN}

    news = host.checked(props)
    diff = host.stub.Diff(provider_pb2.DiffRequest(id=created.id, urn=URN, olds=created.properties, news=news))

    assert news["password"] == rpc.UNKNOWN
    assert diff.changes == provider_pb2.DiffResponse.DIFF_SOME
    assert list(diff.replaces) == []
    assert palette.requests == []


def test_without_the_key_in_config_the_environment_is_used(tmp_path, palette):
    for host in start_host(tmp_path, PALETTE_API_KEY=palette.api_key):
        host.configure(None)
        created = host.stub.Create(provider_pb2.CreateRequest(urn=URN, properties=host.checked(declared(palette.url))))
        assert palette.named(NAME)[0]["metadata"]["uid"] == created.id


def stack_config(api_key: str) -> dict[str, str]:
    """The dev stack's whole config as the engine hands it over: every declared key (the CLI merges the
    defaults in), the stack file's values, namespaced, strings only (lists as JSON), plus the key."""
    values = {**declared_defaults(), **harness_stack_config("dev")}
    config = {f"{PROJECT}:{key}": as_config_string(value) for key, value in values.items()}
    config[API_KEY_CONFIG] = api_key
    return config


def test_the_stack_config_sent_is_the_whole_dev_config() -> None:
    config = stack_config("k")
    assert len(config) > 40 and all(isinstance(value, str) for value in config.values())
    assert config[f"{PROJECT}:hosts"] == '["localhost"]' and config[f"{PROJECT}:port"] == "5443"


def test_a_config_key_read_from_a_file_with_a_trailing_newline_works(host, palette):
    # One entry of tests/support/api_keys.py: the host passes the key on; the client's tests cover the table.
    host.configure_stack(stack_config(palette.api_key + "\n"))

    created = host.stub.Create(provider_pb2.CreateRequest(urn=URN, properties=host.checked(declared(palette.url))))

    assert [r["metadata"]["uid"] for r in palette.named(NAME)] == [created.id]
    assert {c.headers["apikey"] for c in palette.requests} == {palette.api_key}


def test_an_environment_key_with_a_trailing_newline_works(tmp_path, palette):
    for host in start_host(tmp_path, PALETTE_API_KEY=palette.api_key + "\n"):
        host.configure_stack({k: v for k, v in stack_config("").items() if k != API_KEY_CONFIG})
        created = host.stub.Create(provider_pb2.CreateRequest(urn=URN, properties=host.checked(declared(palette.url))))
        assert [r["metadata"]["uid"] for r in palette.named(NAME)] == [created.id]


def test_a_key_with_a_line_break_inside_is_malformed_and_never_shown(host, palette):
    head, tail = palette.api_key[:20], palette.api_key[20:]
    host.configure_stack(stack_config(head + "\n" + tail + "\n"))
    props = declared(palette.url)

    with pytest.raises(grpc.RpcError) as caught:
        host.stub.Create(provider_pb2.CreateRequest(urn=URN, properties=host.checked(props)))

    details = caught.value.details()
    assert "malformed" in details and "could not reach" not in details
    for text in (details, host.logs()):
        assert head not in text and tail not in text and props["password"] not in text
    assert palette.requests == []


def test_a_404_for_a_rejected_key_keeps_the_registration_through_refresh_and_destroy(host, palette, kind, tmp_path):
    host.configure_stack(stack_config(palette.api_key))
    created = host.stub.Create(provider_pb2.CreateRequest(urn=URN, properties=host.checked(kind.declared(palette.url))))
    palette.rejected_key_status = 404
    # The host configures a provider once per process: a later run with another key is another host.
    later = tmp_path / "later"
    later.mkdir()

    for tmp in start_host(later):
        tmp.configure_stack(stack_config("revoked-" + palette.api_key))
        with pytest.raises(grpc.RpcError) as refreshed:
            tmp.stub.Read(provider_pb2.ReadRequest(id=created.id, urn=URN, properties=created.properties))
        with pytest.raises(grpc.RpcError) as destroyed:
            tmp.stub.Delete(provider_pb2.DeleteRequest(id=created.id, urn=URN, properties=created.properties))
        for caught in (refreshed, destroyed):
            assert "PaletteAuthError" in caught.value.details()
    assert [r["metadata"]["uid"] for r in palette.named(NAME)] == [created.id]


@pytest.mark.parametrize("source", ["stack config", "environment"])
def test_the_key_from_the_whole_stack_config_or_the_environment_never_reaches_state(tmp_path, palette, source):
    """The engine configures a dynamic provider with the whole stack config (target.go GetPackageConfig);
    the key is picked up from it, or from PALETTE_API_KEY when the stack has none, and no response the
    engine would store (create, update, read outputs, the provider it keeps in ``__provider``) holds it."""
    from_env = source == "environment"
    config = stack_config(palette.api_key)
    if from_env:
        config = {k: v for k, v in config.items() if k != API_KEY_CONFIG}
    env = {"PALETTE_API_KEY": palette.api_key} if from_env else {}
    for host in start_host(tmp_path, **env):
        host.configure_stack(config)
        props = declared(palette.url)
        inputs = host.checked(props)
        created = host.stub.Create(provider_pb2.CreateRequest(urn=URN, properties=inputs))
        news = host.checked({**props, "password": new_password()}, olds=plain(inputs))
        updated = host.stub.Update(
            provider_pb2.UpdateRequest(id=created.id, urn=URN, olds=created.properties, news=news)
        )
        read = host.stub.Read(provider_pb2.ReadRequest(id=created.id, urn=URN, properties=updated.properties))
        assert {c.headers["apikey"] for c in palette.requests} == {palette.api_key}
        for message in (inputs, created.properties, news, updated.properties, read.properties):
            assert palette.api_key.encode() not in message.SerializeToString()
        assert palette.api_key not in host.logs()


def test_refresh_and_destroy_after_a_key_rotation_say_how_to_use_the_new_key(host, palette, kind, tmp_path):
    """``pulumi refresh`` and ``pulumi destroy`` do not run the program, so the engine configures the
    default ``pulumi-python`` provider from the provider resource in the state, i.e. with the stack config
    of the last ``pulumi up`` (pulumi/pulumi ``pkg/resource/deploy/providers/registry.go`` ``Same``:
    ``Configure`` with ``res.Inputs``; using the current config instead was tried in #18740 and reverted in
    #18756 "keep to the old behavior of just using what's in state"). After the old key is revoked and the
    new one set with ``pulumi config set --secret paletteApiKey``, both still send the old key, and
    ``PALETTE_API_KEY`` is ignored because a configured key wins. The error's advice ("set paletteApiKey
    or export PALETTE_API_KEY") is what the user already did; what works is ``--run-program`` (or a
    ``pulumi up`` first), and the message has to say so."""
    old_key = palette.api_key
    host.configure_stack(stack_config(old_key))
    created = host.stub.Create(provider_pb2.CreateRequest(urn=URN, properties=host.checked(kind.declared(palette.url))))
    new_key = "rotated-" + old_key
    palette.api_key = new_key  # the old key is revoked in Palette
    later = tmp_path / "destroy"
    later.mkdir()

    # pulumi config set --secret paletteApiKey <new>; export PALETTE_API_KEY=<new>; pulumi refresh / destroy
    for rerun in start_host(later, PALETTE_API_KEY=new_key):
        rerun.configure_stack(stack_config(old_key))  # what the state recorded at the last `pulumi up`
        with pytest.raises(grpc.RpcError) as refreshed:
            rerun.stub.Read(provider_pb2.ReadRequest(id=created.id, urn=URN, properties=created.properties))
        with pytest.raises(grpc.RpcError) as destroyed:
            rerun.stub.Delete(provider_pb2.DeleteRequest(id=created.id, urn=URN, properties=created.properties))

    assert [r["metadata"]["uid"] for r in palette.named(NAME)] == [created.id]
    for caught in (refreshed, destroyed):
        details = caught.value.details()
        assert "HTTP 401" in details
        assert "--run-program" in details, details
        assert old_key not in details and new_key not in details
