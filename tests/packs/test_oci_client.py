"""The OCI push client against a scripted registry: what it sends, where, and how it reads answers the stand-in
never gives. Over HTTPS: no digest header, a foreign upload Location, 503s, a wrong stored digest; over plain
HTTP: a blob redirected to storage, an answer quoting the Authorization header, a long Retry-After, no deletes."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from components.packs import PackProvider
from components.packs.archive import pack_content
from components.packs.oci_client import OciClient, OciError, OciTarget, pack_manifest
from tests.support.oci_scripted import Scripted, scripted_registry
from tests.support.paths import SAMPLE_PACK
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


@pytest.mark.parametrize(
    "refusal",
    [
        b'{"errors": 5}',
        b'{"errors": "MANIFEST_INVALID"}',
        b"[1, 2]",
        b"<html><body>502 Bad Gateway</body></html>",
    ],
)
def test_a_refusal_whose_body_is_no_error_list_still_fails_in_one_line(
    registry: Scripted, authority: Authority, refusal: bytes
) -> None:
    registry.failures, registry.refusal = [400], refusal

    with pytest.raises(OciError) as raised:
        client(registry, authority).push_pack("base/x", "1.0.0", b"layer", "x-1.0.0.tar.gz")

    assert str(raised.value) == f"{registry.url.split('://')[1]}: PUT base/x:1.0.0 answered 400 Bad Request"


def test_what_a_hostile_registry_says_reaches_the_message_as_one_short_printable_line(
    registry: Scripted, authority: Authority
) -> None:
    """A registry's error text may hold line breaks, a terminal's escape sequences, the password, or be huge."""
    said = f"line one\nline two\u001b[2J {PASSWORD} " + "x" * 5000
    errors = [{"code": "DENIED", "message": said}] * 50
    registry.failures, registry.refusal = [400], json.dumps({"errors": errors}).encode()

    with pytest.raises(OciError) as raised:
        client(registry, authority).push_pack("base/x", "1.0.0", b"layer", "x-1.0.0.tar.gz")

    message = str(raised.value)
    assert message.isprintable() and "DENIED: line one line two" in message, repr(message[:300])
    assert PASSWORD not in message and len(message) < 2000, len(message)


def test_a_manifest_read_that_is_not_a_manifest_fails_in_one_line(registry: Scripted, authority: Authority) -> None:
    """An address that serves something else than a registry's /v2/ API (a web page answering every path with 200)."""
    registry.digest_header = False
    registry.manifests["/v2/base/x/manifests/1.0.0"] = b"<!doctype html><html><body>Welcome</body></html>"

    with pytest.raises(OciError) as raised:
        client(registry, authority).manifest_digest("base/x", "1.0.0")

    message = str(raised.value)
    assert "\n" not in message and message.startswith(
        f"{registry.url.split('://')[1]}: GET base/x:1.0.0 answered 200 with a body that"
    )
    assert "check ociEndpoint" in message


def test_an_absent_manifest_is_none(registry: Scripted, authority: Authority) -> None:
    oci = client(registry, authority)

    assert oci.get_manifest("base/x", "9.9.9") is None
    assert oci.delete_manifest("base/x", "sha256:" + "1" * 64) is False


# --- over plain HTTP: answers registries in the field give and the stand-in does not --------------------------


@pytest.fixture
def plain_registry() -> Iterator[Scripted]:
    """The scripted registry over plain HTTP on 127.0.0.1, answering as the stand-in does until told otherwise."""
    with scripted_registry() as state:
        yield state


def plain_client(registry: Scripted) -> OciClient:
    return OciClient(OciTarget(registry.url, USER, PASSWORD))


def test_a_blob_the_registry_redirects_to_its_storage_counts_as_present(plain_registry: Scripted) -> None:
    """An existing registry (Harbor, distribution) on S3, GCS or Azure storage answers a HEAD of a blob it
    holds with 307 to the bucket. A pack pushed again there (a new tag of the same content) finds its layer
    that way, and the client, which follows no redirect (rightly: the credentials must not go to the bucket), calls the
    307 a failure: "HEAD ...@sha256:44136fa... answered 307". The 307 only comes after the registry's own
    ``Stat`` found the blob (distribution registry/storage/blobserver.go), so it means "present". The
    distribution spec allows it for any request (spec.md "Registries MAY respond to any request with a
    redirect ...; clients SHOULD follow such redirects, and MUST NOT forward ``Authorization`` headers across
    host boundaries")."""
    oci = plain_client(plain_registry)
    oci.push_pack("base/spectro-packs/archive/first", "1.0.0", b"first layer", "first-1.0.0.tar.gz")
    plain_registry.redirect_blob_reads = True
    plain_registry.requests.clear()

    pushed = oci.push_pack("base/spectro-packs/archive/first", "1.0.1", b"first layer", "first-1.0.1.tar.gz")

    assert plain_registry.blobs[pushed.layer_digest] == b"first layer"
    assert [method for method, *_ in plain_registry.requests].count("POST") == 1, "the layer is not sent again"


def test_a_refusal_that_quotes_the_authorization_header_does_not_reach_the_message(plain_registry: Scripted) -> None:
    """The message carries the registry's own error text (``_errors``); ``redact`` removes the password in its
    plain, quoted and URL-encoded forms, but not the form every request carries: base64 of ``user:password``
    in ``Authorization: Basic``, which a proxy or registry that quotes the request puts in its answer."""
    plain_registry.echo_authorization = True
    encoded = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()

    with pytest.raises(OciError) as raised:
        plain_client(plain_registry).push_pack("base/x", "1.0.0", b"layer", "x-1.0.0.tar.gz")

    assert "401" in str(raised.value)
    assert encoded not in str(raised.value), str(raised.value)


def test_a_retry_after_from_the_registry_is_cut_to_a_minute(
    plain_registry: Scripted, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A busy registry or the proxy in front answers 503 with ``Retry-After``. The client's ``Retry`` honours it
    without ``retry_after_max``, so urllib3's default applies: up to six hours per retry
    (``urllib3.util.Retry.DEFAULT_RETRY_AFTER_MAX``), four retries, while ``pulumi up`` shows nothing. The
    Palette client cuts it to 60 seconds (``components.palette.policy.HttpPolicy.retry_after_max``)."""
    slept: list[float] = []
    monkeypatch.setattr(time, "sleep", slept.append)
    plain_registry.busy_for = 3600

    plain_client(plain_registry).push_pack("base/x", "1.0.0", b"layer", "x-1.0.0.tar.gz")

    assert slept, "the 503 was retried after a sleep"
    assert max(slept) <= 60, f"the client would sleep {max(slept):.0f} s before retrying"


def test_a_changed_pack_on_a_registry_without_deletes_is_published_and_stays_published(
    plain_registry: Scripted, tmp_path: Path
) -> None:
    """An existing registry may refuse deletes: CNCF distribution does by default (``storage.delete.enabled``
    is off; a manifest DELETE answers 405 UNSUPPORTED). A changed file makes ``PackProvider.update`` push the
    same tag (done: the registry serves the new files) and then delete the manifest that lost its tag, a
    clean-up. The 405 fails the update, so the engine keeps the old state (a failed update records no new
    outputs) and every later `pulumi up` pushes again and fails again on the same delete."""
    pack = tmp_path / "hello-universe"
    shutil.copytree(SAMPLE_PACK, pack)
    plain_registry.deletes = False
    provider = PackProvider()

    def props() -> dict[str, Any]:
        content = pack_content(pack)
        return {
            "pack_dir": str(pack),
            "name": "hello-universe",
            "version": "1.0.0",
            "content_digest": content.content_digest,
            "files": content.files,
            "registry_url": plain_registry.url,
            "server_name": None,
            "ca_certificate": None,
            "repository": "packs/spectro-packs/archive",
            "username": USER,
            "password": PASSWORD,
        }

    created = provider.create(props())
    (pack / "values.yaml").write_text("replicas: 2\n")
    news = props()

    updated = provider.update(created.id, created.outs, news)

    assert updated.outs["content_digest"] == news["content_digest"]
    assert updated.outs["manifest_digest"] != created.outs["manifest_digest"]
