"""The Pack provider's own rules: what it checks, what a change means, and what it pickles to."""

from __future__ import annotations

import base64
import hashlib
import pickletools
from typing import Any

import dill
import pytest
from pulumi.dynamic.dynamic import serialize_provider
from pulumi.runtime import rpc

from components.packs import PackProvider
from components.packs.oci_client import pack_manifest

DIGEST = "sha256:" + "a" * 64
LAYER = "sha256:" + "b" * 64


def inputs(**overrides: Any) -> dict[str, Any]:
    props = {
        "pack_dir": "/stack/packs/hello-universe",
        "name": "hello-universe",
        "version": "1.0.0",
        "content_digest": DIGEST,
        "files": {"pack.json": "c" * 64},
        "registry_url": "https://127.0.0.1:5443",
        "server_name": "registry.example.com",
        "ca_certificate": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
        "repository": "base/spectro-packs/archive",
        "username": "admin",
        "password": "s3cret-Pw",
    }
    props.update(overrides)
    return props


def state(**overrides: Any) -> dict[str, Any]:
    """The outputs after a push of ``inputs()``."""

    manifest = pack_manifest(LAYER, 1234, "hello-universe-1.0.0.tar.gz")
    outs = {
        **inputs(),
        "reference": "127.0.0.1:5443/base/spectro-packs/archive/hello-universe:1.0.0",
        "manifest_digest": "sha256:" + hashlib.sha256(manifest).hexdigest(),
        "layer_digest": LAYER,
        "layer_size": 1234.0,  # the wire sends numbers as floats
    }
    outs.update(overrides)
    return outs


def test_valid_inputs_pass_the_check() -> None:
    assert PackProvider().check({}, inputs()).failures == []


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("name", "Hello"),
        ("version", "-1"),
        ("repository", "Base//x"),
        ("content_digest", "md5:abc"),
        ("registry_url", "http://127.0.0.1:5000"),
        ("registry_url", "https://127.0.0.1:5443/v2/"),
        ("ca_certificate", "not a pem"),
        ("files", ["pack.json"]),
        ("password", ""),
        ("pack_dir", None),
    ],
)
def test_a_bad_input_fails_the_check_on_that_key(key: str, value: Any) -> None:
    props = inputs(**{key: value})
    if value is None:
        props.pop(key)

    failures = PackProvider().check({}, props).failures

    assert [f.property for f in failures] == [key]


def test_unknown_values_pass_the_check_during_a_preview() -> None:
    props = inputs(password=rpc.UNKNOWN, registry_url=rpc.UNKNOWN, ca_certificate=rpc.UNKNOWN, server_name=None)

    assert PackProvider().check({}, props).failures == []


def test_nothing_changed_is_no_change() -> None:
    diff = PackProvider().diff("id", state(), inputs())

    assert diff.changes is False
    assert diff.replaces == []


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("content_digest", "sha256:" + "d" * 64),
        ("files", {"pack.json": "e" * 64}),
        ("password", "rotated-Pw"),
        ("server_name", "other.example.com"),
        ("ca_certificate", None),
    ],
)
def test_content_and_access_changes_are_updates(key: str, value: Any) -> None:
    diff = PackProvider().diff("id", state(), inputs(**{key: value}))

    assert diff.changes is True
    assert diff.replaces == []


@pytest.mark.parametrize("key", ["name", "version", "repository"])
def test_a_new_target_is_a_replacement_created_first(key: str) -> None:
    value = {"name": "hello-cosmos", "version": "1.1.0", "repository": "other/spectro-packs/archive"}[key]

    diff = PackProvider().diff("id", state(), inputs(**{key: value}))

    assert diff.replaces == [key]
    assert diff.delete_before_replace is False


@pytest.mark.parametrize(("key", "value"), [("registry_url", "https://registry.example.com"), ("store", "s3://b/p")])
def test_a_new_address_or_store_of_the_registry_pushes_again_in_place(key: str, value: str) -> None:
    """The same registry at another address (a new port), or its data moved to an empty volume or bucket: a
    push of the same tag, not a replacement (whose delete of the old resource would go to an address that
    may be gone, or remove the push just made)."""
    diff = PackProvider().diff("id", state(), inputs(**{key: value}))

    assert diff.changes is True
    assert diff.replaces == []
    assert diff.delete_before_replace is False


def test_a_manifest_overwritten_out_of_band_is_a_change() -> None:
    diff = PackProvider().diff("id", state(manifest_digest="sha256:" + "f" * 64), inputs())

    assert diff.changes is True
    assert diff.replaces == []


def test_an_unknown_target_during_a_preview_is_a_replacement_and_an_unknown_address_a_push() -> None:
    assert PackProvider().diff("id", state(), inputs(version=rpc.UNKNOWN)).replaces == ["version"]
    diff = PackProvider().diff("id", state(), inputs(registry_url=rpc.UNKNOWN))
    assert diff.changes is True and diff.replaces == []


def test_an_update_of_access_only_pushes_nothing() -> None:
    # Port 9 on loopback: any call would fail. Nothing but the state changes.
    outs = PackProvider().update(
        "id",
        state(registry_url="https://127.0.0.1:9"),
        inputs(password="rotated-Pw", registry_url="https://127.0.0.1:9"),
    )

    assert outs.outs is not None
    assert outs.outs["password"] == "rotated-Pw"
    assert outs.outs["manifest_digest"] == state()["manifest_digest"]


def test_the_provider_pickles_by_reference_and_empty() -> None:
    raw = base64.b64decode(serialize_provider(PackProvider()))

    assert b"components.packs" in raw and b"PackProvider" in raw
    assert len(raw) < 120
    opcodes = {op.name for op, _, _ in pickletools.genops(raw)}
    assert opcodes.isdisjoint({"BUILD", "SETITEM", "SETITEMS", "REDUCE"}), opcodes
    assert vars(dill.loads(raw)) == {}


def test_the_same_files_in_another_checkout_are_no_change() -> None:
    diff = PackProvider().diff("id", state(), inputs(pack_dir="/home/ci/build/stack/packs/hello-universe"))

    assert diff.changes is False
