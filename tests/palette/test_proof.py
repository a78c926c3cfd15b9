"""Palette proves every published pack (components/palette/proof.py): the proof polls the fake Palette's pack listing
until every pack version is listed with the values pushed (parsed YAML, not bytes), waits out a 429's Retry-After
through the client's one retry mechanism, and fails with one line per pack naming it, its version and what Palette
shows. The provider proves on create and update only, and only when what was published changed."""

from __future__ import annotations

import base64
import hashlib
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import dill
import pytest
from pulumi.dynamic.dynamic import serialize_provider

from components.palette.client import PaletteClient
from components.palette.errors import PaletteUnavailable
from components.palette.proof import PackProofError, PackProofProvider, pack_key, prove
from components.palette.shapes import OCI_REGISTRY_API
from tests.support.palette_fake import FakePalette
from tests.support.palette_support import FAST_POLICY, configure
from tests.support.palette_sync import ParsedPack, SyncResult

pytestmark = pytest.mark.usefixtures("fast_http")

POLL = 0.05
PACK_JSON = {"name": "hello", "version": "1.0.0", "layer": "addon", "displayName": "Hello", "addonType": "x"}


def client(palette: FakePalette) -> PaletteClient:
    policy = replace(FAST_POLICY, sync_poll_seconds=POLL)
    return PaletteClient(
        palette.url, palette.api_key, registration="custom-packs", policy=policy, shape=OCI_REGISTRY_API
    )


def published(tmp_path: Path, name: str, version: str, values: str) -> dict[str, Any]:
    """A pack as the proof's input holds it, its values.yaml written under ``tmp_path``."""
    folder = tmp_path / f"{name}-{version}"
    folder.mkdir()
    (folder / "values.yaml").write_text(values)
    return {
        "name": name,
        "version": version,
        "manifest_digest": "sha256:" + hashlib.sha256(f"{name}{version}{values}".encode()).hexdigest(),
        "values_sha256": hashlib.sha256(values.encode()).hexdigest(),
        "values_file": str(folder / "values.yaml"),
    }


def listed(palette: FakePalette, uid: str, *packs: tuple[str, str, str]) -> None:
    """What the last sync of ``uid`` found: ``(name, version, values text)`` each."""
    found = SyncResult()
    for name, version, values in packs:
        found.packs[(name, version)] = ParsedPack(
            name=name,
            version=version,
            manifest_digest="sha256:0",
            pack_json={**PACK_JSON, "name": name, "version": version},
            values=values,
            readme="",
            presets=[],
            schema=[],
        )
    with palette._lock:
        palette.synced[uid] = found


def test_a_listed_pack_with_the_same_values_is_proven_and_its_uid_returned(
    palette: FakePalette, tmp_path: Path
) -> None:
    uid = palette.add_registry("custom-packs", kind="oci")
    packs = {
        pack_key("hello", "1.0.0"): published(tmp_path, "hello", "1.0.0", "a: 1\nb:\n  c: 'x'\n"),
        pack_key("hello", "1.1.0"): published(tmp_path, "hello", "1.1.0", ""),
        pack_key("other", "2.0.0"): published(tmp_path, "other", "2.0.0", "z: [1, 2]\n"),
    }
    # Other bytes, the same YAML: Palette may hand back what it parsed, re-serialised.
    listed(
        palette,
        uid,
        ("hello", "1.0.0", "b: {c: x}\na: 1"),
        ("hello", "1.1.0", ""),
        ("other", "2.0.0", "z:\n- 1\n- 2\n"),
    )

    proofs = prove(client(palette), uid, packs, timeout_seconds=5)

    assert proofs == {
        "hello:1.0.0": {
            "name": "hello",
            "version": "1.0.0",
            "packUid": palette.pack_uid(uid, "hello", "1.0.0"),
            "registryUid": uid,
        },
        "hello:1.1.0": {
            "name": "hello",
            "version": "1.1.0",
            "packUid": palette.pack_uid(uid, "hello", "1.1.0"),
            "registryUid": uid,
        },
        "other:2.0.0": {
            "name": "other",
            "version": "2.0.0",
            "packUid": palette.pack_uid(uid, "other", "2.0.0"),
            "registryUid": uid,
        },
    }
    # One read per pack name, not per version.
    assert sorted(r.path for r in palette.calls("GET", "^/v1/packs/")) == [
        f"/v1/packs/hello/registries/{uid}",
        f"/v1/packs/other/registries/{uid}",
    ]


def test_a_pack_listed_only_after_a_while_is_polled_for(palette: FakePalette, tmp_path: Path) -> None:
    uid = palette.add_registry("custom-packs", kind="oci")
    packs = {"hello:1.0.0": published(tmp_path, "hello", "1.0.0", "a: 1\n")}
    timer = threading.Timer(0.4, listed, (palette, uid, ("hello", "1.0.0", "a: 1\n")))
    timer.start()
    try:
        proofs = prove(client(palette), uid, packs, timeout_seconds=10)
    finally:
        timer.cancel()
    assert proofs["hello:1.0.0"]["packUid"] == palette.pack_uid(uid, "hello", "1.0.0")
    reads = palette.calls("GET", "^/v1/packs/hello/")
    assert len(reads) >= 3, len(reads)


@pytest.mark.parametrize(
    ("palette_lists", "shows"),
    [
        ([], "Palette does not list the pack at all (HTTP 404)"),
        ([("hello", "0.9.0", "a: 1\n")], "Palette lists only the versions 0.9.0 of it"),
        ([("hello", "1.0.0", "a: 2\n")], 'with other values than the values.yaml pushed: {"a": 2}'),
        ([("hello", "1.0.0", "")], "with other values than the values.yaml pushed: {}"),
    ],
    ids=["missing", "other-version", "other-values", "empty-values"],
)
def test_a_pack_palette_does_not_prove_fails_with_one_line_naming_it_after_the_timeout(
    palette: FakePalette, tmp_path: Path, palette_lists: list, shows: str
) -> None:
    uid = palette.add_registry("custom-packs", kind="oci")
    packs = {
        "hello:1.0.0": published(tmp_path, "hello", "1.0.0", "a: 1\n"),
        "fine:1.0.0": published(tmp_path, "fine", "1.0.0", "b: 1\n"),
    }
    listed(palette, uid, ("fine", "1.0.0", "b: 1\n"), *palette_lists)

    started = time.monotonic()
    with pytest.raises(PackProofError) as raised:
        prove(client(palette), uid, packs, timeout_seconds=1)
    took = time.monotonic() - started

    [line] = str(raised.value).splitlines()
    assert line.startswith(
        f"pack hello:1.0.0 is not proven in Palette's pack registry 'custom-packs' (uid {uid}) after 1s: "
    )
    assert shows in line, line
    assert "pack.json" in line or "new version" in line  # the fix
    assert 1 <= took < 3, took
    # The proven name was read once; the other until the timeout.
    assert len(palette.calls("GET", "^/v1/packs/fine/")) == 1
    assert len(palette.calls("GET", "^/v1/packs/hello/")) > 2


def test_a_failure_says_what_palette_reports_of_its_last_sync_without_its_message(
    palette: FakePalette, tmp_path: Path
) -> None:
    """A sync that failed (Palette could not read the registry) is the likely cause: the line says so. Not its
    message, which may quote the registry's credentials (docs/palette-api.md "Sync")."""
    uid = palette.add_registry("custom-packs", kind="oci")
    with palette._lock:
        palette.registries[uid]["status"]["syncStatus"] = {"status": "Failed", "message": "pw registry-pw-secret"}
    packs = {"hello:1.0.0": published(tmp_path, "hello", "1.0.0", "a: 1\n")}
    with pytest.raises(PackProofError) as raised:
        prove(client(palette), uid, packs, timeout_seconds=0.2)
    [line] = str(raised.value).splitlines()
    assert "(HTTP 404) (Palette's last pack sync of the registry: 'Failed')." in line, line
    assert "registry-pw-secret" not in line
    assert len(palette.calls("GET", "/sync/status$")) == 1


def test_every_unproven_pack_has_its_own_line(palette: FakePalette, tmp_path: Path) -> None:
    uid = palette.add_registry("custom-packs", kind="oci")
    packs = {
        "hello:1.0.0": published(tmp_path, "hello", "1.0.0", "a: 1\n"),
        "other:1.0.0": published(tmp_path, "other", "1.0.0", "b: 1\n"),
    }
    with pytest.raises(PackProofError) as raised:
        prove(client(palette), uid, packs, timeout_seconds=0.2)
    lines = str(raised.value).splitlines()
    assert [line.split(" is not proven")[0] for line in lines] == ["pack hello:1.0.0", "pack other:1.0.0"]


def test_a_429_with_retry_after_is_waited_out_like_every_palette_call(palette: FakePalette, tmp_path: Path) -> None:
    """The listing's reads go through the client's one retry mechanism (urllib3's Retry, components/palette/policy.py),
    which honours Retry-After (urllib3 util/retry.py ``sleep_for_retry``)."""
    uid = palette.add_registry("custom-packs", kind="oci")
    packs = {"hello:1.0.0": published(tmp_path, "hello", "1.0.0", "a: 1\n")}
    listed(palette, uid, ("hello", "1.0.0", "a: 1\n"))
    palette.fail_next(2, status=429, retry_after="1", path="^/v1/packs/")

    started = time.monotonic()
    prove(client(palette), uid, packs, timeout_seconds=30)
    assert time.monotonic() - started >= 2
    assert len(palette.calls("GET", "^/v1/packs/")) == 3


def test_a_429_that_outlasts_the_retries_fails_naming_the_call(palette: FakePalette, tmp_path: Path) -> None:
    uid = palette.add_registry("custom-packs", kind="oci")
    packs = {"hello:1.0.0": published(tmp_path, "hello", "1.0.0", "a: 1\n")}
    palette.fail_next(None, status=429, retry_after="0", path="^/v1/packs/")
    with pytest.raises(PaletteUnavailable) as raised:
        prove(client(palette), uid, packs, timeout_seconds=30)
    assert f"GET /v1/packs/hello/registries/{uid} returned HTTP 429" in str(raised.value)
    assert palette.api_key not in str(raised.value)


def test_a_values_file_changed_since_the_push_is_refused_before_any_call(palette: FakePalette, tmp_path: Path) -> None:
    uid = palette.add_registry("custom-packs", kind="oci")
    pack = published(tmp_path, "hello", "1.0.0", "a: 1\n")
    Path(pack["values_file"]).write_text("a: 2\n")
    with pytest.raises(PackProofError, match=r"pack hello:1.0.0: .*values.yaml changed since it was pushed"):
        prove(client(palette), uid, {"hello:1.0.0": pack}, timeout_seconds=1)
    assert palette.calls("GET", "^/v1/packs/") == []


def proof_props(palette: FakePalette, uid: str, packs: dict[str, Any]) -> dict[str, Any]:
    return {
        "api_url": palette.url,
        "registration": "custom-packs",
        "registry_uid": uid,
        "timeout_seconds": 5,
        "packs": packs,
    }


def test_the_provider_proves_on_create_and_on_update_only_when_what_was_published_changed(
    palette: FakePalette, tmp_path: Path
) -> None:
    provider = PackProofProvider()
    configure(provider, palette.api_key)
    try:
        uid = palette.add_registry("custom-packs", kind="oci")
        listed(palette, uid, ("hello", "1.0.0", "a: 1\n"))
        pack = published(tmp_path, "hello", "1.0.0", "a: 1\n")
        props = proof_props(palette, uid, {"hello:1.0.0": pack})

        created = provider.create(props)
        assert created.id == uid
        assert created.outs["packs_proven"]["hello:1.0.0"]["packUid"] == palette.pack_uid(uid, "hello", "1.0.0")
        palette.reset_calls()

        # Another checkout (another directory) of the same packs, a refresh, a delete: no change, no call.
        moved = {**pack, "values_file": "/elsewhere/values.yaml"}
        assert not provider.diff(uid, created.outs, proof_props(palette, uid, {"hello:1.0.0": moved})).changes
        assert not provider.diff(uid, created.outs, {**props, "timeout_seconds": 60}).changes
        assert provider.read(uid, created.outs).outs == created.outs
        provider.delete(uid, created.outs)
        assert palette.requests == []

        # A pack pushed again with other content, a new pack, a new registration: a change.
        repushed = {**pack, "manifest_digest": "sha256:" + "1" * 64}
        assert provider.diff(uid, created.outs, proof_props(palette, uid, {"hello:1.0.0": repushed})).changes
        assert provider.diff(uid, created.outs, proof_props(palette, "other-uid", {"hello:1.0.0": pack})).changes
        two = {"hello:1.0.0": pack, "more:1.0.0": published(tmp_path, "more", "1.0.0", "")}
        assert provider.diff(uid, created.outs, proof_props(palette, uid, two)).changes

        listed(palette, uid, ("hello", "1.0.0", "a: 1\n"), ("more", "1.0.0", ""))
        updated = provider.update(uid, created.outs, proof_props(palette, uid, two))
        assert sorted(updated.outs["packs_proven"]) == ["hello:1.0.0", "more:1.0.0"]
    finally:
        configure(provider, None)


def test_the_proof_provider_pickles_by_reference_under_the_package() -> None:
    """Pulumi keeps the provider in the state by dill's pickle (pulumi/pulumi sdk/python/lib/pulumi/dynamic/dynamic.py
    ``serialize_provider``): a reference to ``components.palette.PackProofProvider``, which holds no state, as the
    registration's provider (tests/program/test_state_unpickles.py)."""
    raw = base64.b64decode(serialize_provider(PackProofProvider()))
    assert b"components.palette" in raw and b"PackProofProvider" in raw and len(raw) < 100, raw
    assert type(dill.loads(raw)) is PackProofProvider
