"""The OCI push client against a scripted HTTPS registry: what it sends, where, and how it reads answers
the stand-in never gives (no digest header, a foreign upload Location, 503s, a wrong stored digest)."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator

import pytest

from components.oci_client import OciClient, OciError, OciTarget, pack_manifest
from tests.support.oci_scripted import Scripted, scripted_registry
from tests.support.tls_support import Authority

NAME = "registry.test"
USER, PASSWORD = "admin", "Scripted-Pw-1"


@pytest.fixture(scope="module")
def authority() -> Authority:
    return Authority.create("Scripted Registry CA")


@pytest.fixture
def registry(authority: Authority) -> Iterator[Scripted]:
    with scripted_registry(authority, NAME) as state:
        state.foreign_upload_location = True
        yield state


def client(registry: Scripted, authority: Authority) -> OciClient:
    return OciClient(OciTarget(registry.url, USER, PASSWORD, NAME, authority.certificate_pem))


def test_every_request_carries_the_credentials_and_stays_on_the_given_registry(
    registry: Scripted, authority: Authority
) -> None:
    pushed = client(registry, authority).push_pack("base/spectro-packs/archive/x", "1.0.0", b"layer", "x-1.0.0.tar.gz")

    expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    assert {auth for _, _, auth, _ in registry.requests} == {expected}
    methods = [(method, path.split("?")[0]) for method, path, _, _ in registry.requests]
    assert methods == [
        ("POST", "/v2/base/spectro-packs/archive/x/blobs/uploads/"),
        ("PUT", "/v2/base/spectro-packs/archive/x/blobs/uploads/session-1"),
        ("HEAD", f"/v2/base/spectro-packs/archive/x/blobs/{pushed.layer_digest}"),
        ("POST", "/v2/base/spectro-packs/archive/x/blobs/uploads/"),
        ("PUT", "/v2/base/spectro-packs/archive/x/blobs/uploads/session-1"),
        ("PUT", "/v2/base/spectro-packs/archive/x/manifests/1.0.0"),
    ]
    # The Location's query is kept, the digest added.
    assert registry.requests[1][1].endswith(f"?_state=x&digest=sha256%3A{hashlib.sha256(b'{}').hexdigest()}")
    assert registry.blobs[pushed.layer_digest] == b"layer"
    assert registry.requests[-1][3] == pack_manifest(pushed.layer_digest, 5, "x-1.0.0.tar.gz")


def test_a_layer_the_registry_has_is_not_sent_again(registry: Scripted, authority: Authority) -> None:
    """The layer is asked for first; the two-byte config is sent without asking (a HEAD costs as much)."""
    oci = client(registry, authority)
    oci.push_pack("base/x", "1.0.0", b"layer", "x-1.0.0.tar.gz")
    registry.requests.clear()

    oci.push_pack("base/x", "1.0.1", b"layer", "x-1.0.1.tar.gz")

    assert [method for method, *_ in registry.requests] == ["POST", "PUT", "HEAD", "PUT"]
    assert b"layer" not in [body for *_, body in registry.requests]


def test_without_a_digest_header_the_manifest_bytes_give_the_digest(registry: Scripted, authority: Authority) -> None:
    oci = client(registry, authority)
    pushed = oci.push_pack("base/x", "1.0.0", b"layer", "x-1.0.0.tar.gz")
    registry.digest_header = False

    assert oci.manifest_digest("base/x", "1.0.0") == pushed.manifest_digest
    assert oci.manifest_digest("base/x", "2.0.0") is None


def test_503s_on_the_manifest_are_retried(registry: Scripted, authority: Authority) -> None:
    registry.failures = [503, 503]

    pushed = client(registry, authority).push_pack("base/x", "1.0.0", b"layer", "x-1.0.0.tar.gz")

    assert [m for m, p, *_ in registry.requests if "/manifests/" in p] == ["PUT", "PUT", "PUT"]
    assert pushed.manifest_digest.startswith("sha256:")


def test_a_registry_that_stores_another_digest_is_an_error(registry: Scripted, authority: Authority) -> None:
    registry.stored_digest = "sha256:" + "0" * 64

    with pytest.raises(OciError, match=r"PUT base/x:1.0.0 stored manifest sha256:0{64}, not the sha256:"):
        client(registry, authority).push_pack("base/x", "1.0.0", b"layer", "x-1.0.0.tar.gz")


def test_a_refusal_names_registry_verb_reference_status_and_the_registry_error(
    registry: Scripted, authority: Authority
) -> None:
    registry.failures = [400]

    with pytest.raises(OciError) as raised:
        client(registry, authority).push_pack("base/x", "1.0.0", b"layer", "x-1.0.0.tar.gz")

    assert str(raised.value) == (
        f"{registry.url.split('://')[1]}: PUT base/x:1.0.0 answered 400 Bad Request "
        "(MANIFEST_INVALID: manifest invalid)"
    )
    assert (raised.value.method, raised.value.status) == ("PUT", 400)


def test_an_absent_manifest_is_none(registry: Scripted, authority: Authority) -> None:
    oci = client(registry, authority)

    assert oci.get_manifest("base/x", "9.9.9") is None
    assert oci.delete_manifest("base/x", "sha256:" + "1" * 64) is False
