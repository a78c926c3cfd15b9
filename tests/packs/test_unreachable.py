"""The Pack provider, over gRPC through the SDK's provider host, when the registry cannot be reached.

Day two: ``pulumi up --refresh`` with the registry container gone must keep the packs in the state (a refresh
that dropped them would push them again, or worse, forget them), and ``pulumi destroy`` must say in one line
what it could not reach and how to let go. The registry is ``tests/support/oci_scripted.py`` on 127.0.0.1 (HTTPS with a
test authority): its ``down`` option answers every request with a 502 page, as the nginx proxy in front of the
registry does once the registry behind it is gone; "connection refused" is a closed port on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from pulumi.dynamic.dynamic import serialize_provider
from pulumi.runtime.proto import provider_pb2

from components.dynamic.unreachable import DELETE_UNREACHABLE_ENV, DELETE_UNREACHABLE_KEY
from components.packs import PackProvider
from components.packs.archive import pack_content
from components.packs.oci_client import OciError
from tests.support.grpc_support import DynamicHost, plain, provider_host, struct
from tests.support.oci_scripted import Scripted, scripted_registry
from tests.support.paths import ROOT, SAMPLE_PACK
from tests.support.tls_support import Authority, free_port, raw_listener

URN = "urn:pulumi:dev::palette-pack-registry::pulumi-python:dynamic/packs:Pack::pack-hello-universe@1.0.0"
PROVIDER = serialize_provider(PackProvider())
NAME = "registry.test"
PASSWORD = "Adm1n-Unreachable-Pw-7"
STORE = "spectro-registry-dev-data"
REPOSITORY = "packs/spectro-packs/archive"


@pytest.fixture(scope="module")
def authority() -> Authority:
    return Authority.create("Unreachable Registry CA")


@pytest.fixture
def registry(authority: Authority) -> Iterator[Scripted]:
    with scripted_registry(authority, NAME) as state:
        yield state


def start_host(tmp_path: Path, **extra_env: str) -> Iterator[DynamicHost]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PULUMI_") and k != DELETE_UNREACHABLE_ENV}
    env.update(extra_env)
    with provider_host(ROOT, env, tmp_path / "host.stderr") as (_process, stub):
        yield DynamicHost(stub, tmp_path / "host.stderr", URN, PROVIDER)


@pytest.fixture
def host(tmp_path: Path) -> Iterator[DynamicHost]:
    yield from start_host(tmp_path)


def pack_props(registry: Scripted, authority: Authority, **overrides: Any) -> dict[str, Any]:
    """What the program declares for the sample pack (``components.pack_registry`` ``_packs``)."""
    content = pack_content(SAMPLE_PACK)
    props = {
        "pack_dir": str(SAMPLE_PACK),
        "name": "hello-universe",
        "version": "1.0.0",
        "content_digest": content.content_digest,
        "files": content.files,
        "registry_url": registry.url,
        "server_name": NAME,
        "ca_certificate": authority.certificate_pem,
        "repository": REPOSITORY,
        "username": "admin",
        "password": PASSWORD,
        "store": STORE,
    }
    props.update(overrides)
    return props


def pushed(
    host: DynamicHost, registry: Scripted, authority: Authority, **overrides: Any
) -> provider_pb2.CreateResponse:
    """A pack as the last `pulumi up` left it: pushed, its outputs in the state."""
    created = host.create(pack_props(registry, authority, **overrides))
    assert f"/v2/{REPOSITORY}/hello-universe/manifests/1.0.0" in registry.manifests
    return created


def closed_url() -> str:
    """The registry's address once its container is gone: nothing listens there."""
    return f"https://127.0.0.1:{free_port()}"


def moved(state: Any, url: str) -> Any:
    """``state`` with the registry at ``url`` (the state the engine hands over, unchanged otherwise)."""
    return struct({**plain(state), "registry_url": url})


def the_error(caught: pytest.ExceptionInfo[grpc.RpcError]) -> str:
    """The exception line of the provider host's traceback: what `pulumi destroy` prints last."""
    return caught.value.details().strip().splitlines()[-1]


DOWN = [
    pytest.param("refused", "connection refused", id="connection-refused"),
    pytest.param(502, "502 Bad Gateway", id="proxy-502"),
]


def take_down(registry: Scripted, state: Any, how: str | int) -> Any:
    """The registry gone, as ``how`` says; the state the engine would then hand over."""
    if how == "refused":
        return moved(state, closed_url())
    registry.down = int(how)
    return state


# --- refresh -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("how", "said"), DOWN)
def test_a_refresh_that_cannot_reach_the_registry_keeps_the_pack_as_last_known(
    host: DynamicHost, registry: Scripted, authority: Authority, how: str | int, said: str
) -> None:
    created = pushed(host, registry, authority)
    state = take_down(registry, created.properties, how)

    first = host.read(created.id, state)
    again = host.read(created.id, state)

    for read in (first, again):
        assert read.id == created.id
        assert plain(read.properties) == plain(state)
    url = plain(state)["registry_url"]
    warnings = [line for line in host.logs().splitlines() if "could not be reached during refresh" in line]
    # Once per endpoint, in one line, whatever the number of packs (reads) behind it.
    assert warnings == [
        f"warning: the registry at {url} could not be reached during refresh ({said}): "
        "its packs keep their last-known state"
    ]
    assert PASSWORD not in host.logs()


def test_a_refresh_that_gets_a_404_for_the_manifest_drops_the_pack(
    host: DynamicHost, registry: Scripted, authority: Authority
) -> None:
    created = pushed(host, registry, authority)
    registry.manifests.clear()

    read = host.read(created.id, created.properties)

    assert read.id == ""
    assert "could not be reached" not in host.logs()


def test_a_refresh_that_is_refused_by_the_registry_still_fails(
    host: DynamicHost, registry: Scripted, authority: Authority
) -> None:
    """A definite answer that is no 404 (here the registry refuses the user) is an error, as before: only a
    registry that cannot be reached keeps the state quietly."""
    created = pushed(host, registry, authority)
    registry.down = 401

    with pytest.raises(grpc.RpcError) as caught:
        host.read(created.id, created.properties)

    assert "answered 401" in the_error(caught)


# --- delete --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("how", "said"), DOWN)
def test_a_delete_that_cannot_reach_the_registry_fails_in_one_line_naming_the_opt_in(
    host: DynamicHost, registry: Scripted, authority: Authority, how: str | int, said: str
) -> None:
    created = pushed(host, registry, authority)
    state = take_down(registry, created.properties, how)
    outputs = plain(state)

    with pytest.raises(grpc.RpcError) as caught:
        host.delete(created.id, state)

    url = outputs["registry_url"]
    reference = f"{url.removeprefix('https://')}/{REPOSITORY}/hello-universe:1.0.0"
    assert the_error(caught) == (
        f"components.packs.oci_client.OciError: pack {reference} cannot be deleted: the registry at {url} "
        f"could not be reached ({said}). To release it from the state and leave its tag in the data volume "
        f"{STORE}, run again with {DELETE_UNREACHABLE_ENV}=true (or, for what the stack "
        f"still declares, set the config key {DELETE_UNREACHABLE_KEY} to true: `pulumi config set "
        f"{DELETE_UNREACHABLE_KEY} true`, recorded by the next `pulumi up`; a pack or registration the stack no "
        "longer declares keeps the inputs it was deleted with, so only the variable reaches it)."
    )
    assert PASSWORD not in caught.value.details() and PASSWORD not in host.logs()
    registry.down = None
    assert f"/v2/{REPOSITORY}/hello-universe/manifests/1.0.0" in registry.manifests


@pytest.mark.parametrize(("how", "said"), DOWN)
def test_with_delete_unreachable_the_delete_lets_go_and_says_what_may_remain(
    host: DynamicHost, registry: Scripted, authority: Authority, how: str | int, said: str
) -> None:
    created = pushed(host, registry, authority, delete_unreachable=True)
    assert plain(created.properties)["delete_unreachable"] is True
    state = take_down(registry, created.properties, how)

    host.delete(created.id, state)

    url = plain(state)["registry_url"]
    reference = f"{url.removeprefix('https://')}/{REPOSITORY}/hello-universe:1.0.0"
    warnings = [line for line in host.logs().splitlines() if "released from the state" in line]
    assert warnings == [
        f"warning: pack {reference} is released from the state without being deleted: the registry at {url} "
        f"could not be reached ({said}); its tag may remain in the data volume {STORE}"
    ]


@pytest.mark.parametrize(
    ("store", "where"),
    [
        ("s3://packs-bucket/registry", "the S3 bucket s3://packs-bucket/registry"),
        ("/srv/registry-data", "the host path /srv/registry-data"),
    ],
)
def test_the_environment_variable_opts_in_for_one_run(
    tmp_path: Path, registry: Scripted, authority: Authority, store: str, where: str
) -> None:
    """``pulumi destroy`` with ``PALETTE_PACK_REGISTRY_DELETE_UNREACHABLE=true``: a state recorded without the
    opt-in is let go all the same, and the warning names the bucket or path the tag may remain in."""
    for host in start_host(tmp_path, **{DELETE_UNREACHABLE_ENV: "true"}):
        created = pushed(host, registry, authority, store=store)
        registry.down = 502

        host.delete(created.id, created.properties)

        assert f"its tag may remain in {where}" in host.logs()


def test_a_delete_that_finds_the_manifest_gone_is_done_without_the_opt_in(
    host: DynamicHost, registry: Scripted, authority: Authority
) -> None:
    created = pushed(host, registry, authority)
    registry.manifests.clear()

    host.delete(created.id, created.properties)

    assert "released from the state" not in host.logs()


# --- the opt-in as an input ----------------------------------------------------------------------------------


def test_the_opt_in_is_recorded_without_a_push_and_its_absence_is_no_change(
    host: DynamicHost, registry: Scripted, authority: Authority
) -> None:
    """A state from before the opt-in has no ``delete_unreachable``: the same program is no change. Turning it
    on is an update that records it and calls nothing, so it works while the registry is down."""
    created = pushed(host, registry, authority)
    before = {k: v for k, v in plain(created.properties).items() if k != "delete_unreachable"}
    old = struct(before)
    news = host.checked(pack_props(registry, authority))
    same = host.stub.Diff(provider_pb2.DiffRequest(id=created.id, urn=URN, olds=old, news=news))
    assert same.changes == provider_pb2.DiffResponse.DIFF_NONE

    registry.down = 502
    calls = len(registry.requests)
    opted = host.checked(pack_props(registry, authority, delete_unreachable=True))
    diff = host.stub.Diff(provider_pb2.DiffRequest(id=created.id, urn=URN, olds=old, news=opted))
    updated = host.stub.Update(provider_pb2.UpdateRequest(id=created.id, urn=URN, olds=old, news=opted))

    assert diff.changes == provider_pb2.DiffResponse.DIFF_SOME
    assert list(diff.replaces) == []
    assert plain(updated.properties)["delete_unreachable"] is True
    assert plain(updated.properties)["manifest_digest"] == before["manifest_digest"]
    assert len(registry.requests) == calls


def test_a_message_never_holds_the_password(host: DynamicHost, registry: Scripted, authority: Authority) -> None:
    created = pushed(host, registry, authority)
    registry.down = 502

    with pytest.raises(grpc.RpcError) as caught:
        host.delete(created.id, created.properties)
    host.read(created.id, created.properties)

    for text in (caught.value.details(), host.logs()):
        assert PASSWORD not in text
        assert json.dumps(PASSWORD)[1:-1] not in text


# --- what counts as unreachable (the provider called directly, for the few answers the wire tests skip) --------


@pytest.mark.parametrize(
    ("hold", "said"),
    [(False, "connection reset or closed without an answer"), (True, "timed out")],
    ids=["closed", "hung"],
)
def test_a_port_that_accepts_but_never_answers_is_unreachable(
    monkeypatch: pytest.MonkeyPatch, authority: Authority, hold: bool, said: str, caplog: pytest.LogCaptureFixture
) -> None:
    """docker-proxy accepts and closes while nothing listens in the container; a hung server holds the
    connection in silence: a refresh keeps the pack either way, a delete names what happened."""
    from components.packs import oci_client

    monkeypatch.setattr(oci_client, "TIMEOUT", (0.5, 0.5))
    with raw_listener(hold=hold) as url:
        props = {**pack_props(Scripted(url=url), authority), "reference": "r", "manifest_digest": "sha256:0"}

        read = PackProvider().read("pack-id", props)
        with pytest.raises(OciError) as caught:
            PackProvider().delete("pack-id", props)

    assert read.id == "pack-id" and read.outs == props
    assert f"the registry at {url} could not be reached ({said})" in str(caught.value)
    assert f"could not be reached during refresh ({said})" in caplog.text


def test_a_certificate_for_another_name_is_an_error_not_an_unreachable_registry(
    registry: Scripted, authority: Authority
) -> None:
    """The registry answered, with the wrong certificate: that is a problem to fix, not one to wait out."""
    props = {**pack_props(registry, authority, server_name="elsewhere.test"), "manifest_digest": "sha256:0"}

    with pytest.raises(OciError) as read:
        PackProvider().read("pack-id", props)
    with pytest.raises(OciError) as deleted:
        PackProvider().delete("pack-id", props)

    for caught in (read, deleted):
        assert caught.value.unreachable is None
        assert "SSLError" in str(caught.value)
