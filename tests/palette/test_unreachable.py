"""The registration's provider, over gRPC through the SDK's provider host, when Palette cannot be reached.

Day two: a refresh keeps the registration as last known and says once that Palette could not be reached; a
destroy fails in one line naming Palette, what happened and the opt-in, after the client's retries, or, opted in
(``delete_unreachable``, or ``PALETTE_PACK_REGISTRY_DELETE_UNREACHABLE=true``), lets go with a warning that the
registration may remain in Palette. "Connection refused" is the fake Palette stopped; a 502 is the fake
answering 502 to everything, as a proxy in front of a self-hosted Palette does when Palette is down.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
from pulumi.dynamic.dynamic import serialize_provider
from pulumi.runtime import rpc
from pulumi.runtime.proto import provider_pb2

from components.dynamic.unreachable import DELETE_UNREACHABLE_ENV, DELETE_UNREACHABLE_KEY
from components.palette import API_KEY_CONFIG, PackRegistryProvider
from tests.support.grpc_support import DynamicHost, plain, provider_host, struct
from tests.support.palette_fake import FakePalette
from tests.support.palette_support import FAST_HTTP_ENV, Kind
from tests.support.paths import ROOT

NAME = "custom-packs"
URN = "urn:pulumi:dev::palette-pack-registry::pulumi-python:dynamic/palette:PackRegistry::palette"
PROVIDER = serialize_provider(PackRegistryProvider())
RETRIES = int(FAST_HTTP_ENV["PALETTE_HTTP_RETRIES"])


@dataclass
class Host(DynamicHost):
    """The registration's host, configured with the API key as the engine does."""

    def configure(self, api_key: str) -> None:
        config = {API_KEY_CONFIG: rpc.wrap_rpc_secret(api_key)}
        self.stub.Configure(
            provider_pb2.ConfigureRequest(args=struct(config), variables={API_KEY_CONFIG: api_key}, acceptSecrets=True)
        )


def start_host(tmp_path: Path, **extra_env: str) -> Iterator[Host]:
    drop = ("PALETTE_API_KEY", DELETE_UNREACHABLE_ENV)
    env = {k: v for k, v in os.environ.items() if k not in drop and not k.startswith("PULUMI_")}
    env.update(FAST_HTTP_ENV)
    env.update(extra_env)
    with provider_host(ROOT, env, tmp_path / "host.stderr") as (_process, stub):
        yield Host(stub, tmp_path / "host.stderr", URN, PROVIDER)


@pytest.fixture
def host(tmp_path: Path) -> Iterator[Host]:
    yield from start_host(tmp_path)


def registered(host: Host, palette: FakePalette, kind: Kind, **overrides: Any) -> provider_pb2.CreateResponse:
    """A registration as the last `pulumi up` left it."""
    host.configure(palette.api_key)
    created = host.create(kind.declared(palette.url, **overrides))
    assert [r["metadata"]["uid"] for r in palette.named(NAME)] == [created.id]
    return created


def take_down(palette: FakePalette, how: str | int) -> str:
    """Palette down as ``how`` says; its URL."""
    url = palette.url
    if how == "refused":
        palette.close()
    else:
        palette.fail_next(None, int(how))
    return url


def the_error(caught: pytest.ExceptionInfo[grpc.RpcError]) -> str:
    """The exception line of the provider host's traceback: what `pulumi destroy` prints last."""
    return caught.value.details().strip().splitlines()[-1]


DOWN = [
    pytest.param("refused", "connection refused", id="connection-refused"),
    pytest.param(502, "502 Bad Gateway", id="proxy-502"),
]


# --- refresh -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("how", "said"), DOWN)
def test_a_refresh_that_cannot_reach_palette_keeps_the_registration_as_last_known(
    host: Host, palette: FakePalette, kind: Kind, how: str | int, said: str
) -> None:
    created = registered(host, palette, kind)
    url = take_down(palette, how)

    first = host.read(created.id, created.properties)
    again = host.read(created.id, created.properties)

    for read in (first, again):
        assert read.id == created.id
        assert plain(read.properties) == plain(created.properties)
    warnings = [line for line in host.logs().splitlines() if "could not be reached during refresh" in line]
    assert len(warnings) == 1, warnings
    assert warnings[0].endswith(
        f"warning: Palette at {url} could not be reached during refresh ({said}): "
        "the registration keeps its last-known state"
    )


def test_a_refresh_that_finds_the_registration_gone_drops_it(host: Host, palette: FakePalette, kind: Kind) -> None:
    created = registered(host, palette, kind)
    palette.remove(created.id)

    read = host.read(created.id, created.properties)

    assert read.id == ""
    assert "could not be reached" not in host.logs()


def test_a_refresh_that_gets_a_500_from_palette_still_fails(host: Host, palette: FakePalette, kind: Kind) -> None:
    """Palette's own error is an answer, not an unreachable Palette: the refresh fails as before."""
    created = registered(host, palette, kind)
    palette.fail_next(None, 500)

    with pytest.raises(grpc.RpcError) as caught:
        host.read(created.id, created.properties)

    assert "HTTP 500" in the_error(caught)


# --- delete --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("how", "said"), DOWN)
def test_a_delete_that_cannot_reach_palette_fails_in_one_line_after_the_retries(
    host: Host, palette: FakePalette, kind: Kind, how: str | int, said: str
) -> None:
    created = registered(host, palette, kind)
    password = plain(created.properties)["password"]
    palette.reset_calls()
    url = take_down(palette, how)

    with pytest.raises(grpc.RpcError) as caught:
        host.delete(created.id, created.properties)

    assert the_error(caught) == (
        f"components.palette.errors.PaletteUnavailable: pack registry '{NAME}' (uid {created.id}) cannot be "
        f"deleted: Palette at {url} could not be reached ({said}). To release it from the state and leave the "
        f"registration in Palette at {url}, run again with {DELETE_UNREACHABLE_ENV}=true (or, for what the stack "
        f"still declares, set the config key {DELETE_UNREACHABLE_KEY} to true: `pulumi config set "
        f"{DELETE_UNREACHABLE_KEY} true`, recorded by the next `pulumi up`; a pack or registration the stack no "
        "longer declares keeps the inputs it was deleted with, so only the variable reaches it)."
    )
    if how != "refused":
        # The client's retries are kept: the read before the delete was tried 1 + RETRIES times.
        assert [c.target for c in palette.requests] == [f"GET {kind.item(created.id)}"] * (1 + RETRIES)
    assert [r["metadata"]["uid"] for r in palette.named(NAME)] == [created.id]
    for text in (caught.value.details(), host.logs()):
        assert palette.api_key not in text and password not in text


@pytest.mark.parametrize(("how", "said"), DOWN)
def test_with_delete_unreachable_the_delete_lets_go_and_says_what_may_remain(
    host: Host, palette: FakePalette, kind: Kind, how: str | int, said: str
) -> None:
    created = registered(host, palette, kind, delete_unreachable=True)
    assert plain(created.properties)["delete_unreachable"] is True
    url = take_down(palette, how)

    host.delete(created.id, created.properties)

    warnings = [line for line in host.logs().splitlines() if "released from the state" in line]
    assert len(warnings) == 1, warnings
    assert warnings[0].endswith(
        f"warning: pack registry '{NAME}' (uid {created.id}) is released from the state without being deleted: "
        f"Palette at {url} could not be reached ({said}); the registration may remain in Palette at {url}"
    )


def test_the_environment_variable_opts_in_for_one_run(tmp_path: Path, palette: FakePalette, kind: Kind) -> None:
    for host in start_host(tmp_path, **{DELETE_UNREACHABLE_ENV: "true"}):
        created = registered(host, palette, kind)
        take_down(palette, 503)

        host.delete(created.id, created.properties)

        assert "503 Service Unavailable); the registration may remain in Palette at" in host.logs()
        assert [r["metadata"]["uid"] for r in palette.named(NAME)] == [created.id]


def test_the_opt_in_does_not_keep_a_reachable_registration(host: Host, palette: FakePalette, kind: Kind) -> None:
    created = registered(host, palette, kind, delete_unreachable=True)

    host.delete(created.id, created.properties)

    assert palette.named(NAME) == []
    assert "released from the state" not in host.logs()


# --- the opt-in as an input ----------------------------------------------------------------------------------


def test_the_opt_in_is_recorded_without_calling_palette_and_its_absence_is_no_change(
    host: Host, palette: FakePalette, kind: Kind
) -> None:
    """A state from before the opt-in has no ``delete_unreachable``: the same program is no change. Turning it
    on is an update that records it and calls nothing, so it works while Palette is down."""
    created = registered(host, palette, kind)
    before = {k: v for k, v in plain(created.properties).items() if k != "delete_unreachable"}
    old = struct(before)
    unchanged = host.checked(kind.declared(palette.url, password=before["password"]))
    same = host.stub.Diff(provider_pb2.DiffRequest(id=created.id, urn=URN, olds=old, news=unchanged))
    assert same.changes == provider_pb2.DiffResponse.DIFF_NONE
    opted = host.checked(kind.declared(palette.url, password=before["password"], delete_unreachable=True))
    palette.reset_calls()
    take_down(palette, "refused")

    diff = host.stub.Diff(provider_pb2.DiffRequest(id=created.id, urn=URN, olds=old, news=opted))
    updated = host.stub.Update(provider_pb2.UpdateRequest(id=created.id, urn=URN, olds=old, news=opted))

    assert diff.changes == provider_pb2.DiffResponse.DIFF_SOME
    assert list(diff.replaces) == []
    outputs = plain(updated.properties)
    assert outputs == {**before, "delete_unreachable": True}
    assert palette.requests == []
