"""Review tests for the OCI push client, against a small scripted registry (plain HTTP on 127.0.0.1): answers
that registries in the field give and the stand-in does not."""

from __future__ import annotations

import base64
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from components.oci_client import OciClient, OciError, OciTarget
from components.pack_archive import pack_content
from components.packs import PackProvider
from tests.support.oci_scripted import Scripted, scripted_registry
from tests.support.paths import SAMPLE_PACK

USER, PASSWORD = "admin", "Review-Pw-7"


@pytest.fixture
def registry() -> Iterator[Scripted]:
    with scripted_registry() as state:
        yield state


def _client(registry: Scripted) -> OciClient:
    return OciClient(OciTarget(registry.url, USER, PASSWORD))


def test_a_blob_the_registry_redirects_to_its_storage_counts_as_present(registry: Scripted) -> None:
    """An existing registry (Harbor, distribution) on S3, GCS or Azure storage answers a HEAD of a blob it
    holds with 307 to the bucket. A pack pushed again there (a new tag of the same content) finds its layer
    that way, and the client, which follows no redirect (rightly: the credentials must not go to the bucket), calls the
    307 a failure: "HEAD ...@sha256:44136fa... answered 307". The 307 only comes after the registry's own
    ``Stat`` found the blob (distribution registry/storage/blobserver.go), so it means "present". The
    distribution spec allows it for any request (spec.md "Registries MAY respond to any request with a
    redirect ...; clients SHOULD follow such redirects, and MUST NOT forward ``Authorization`` headers across
    host boundaries")."""
    oci = _client(registry)
    oci.push_pack("base/spectro-packs/archive/first", "1.0.0", b"first layer", "first-1.0.0.tar.gz")
    registry.redirect_blob_reads = True
    registry.requests.clear()

    pushed = oci.push_pack("base/spectro-packs/archive/first", "1.0.1", b"first layer", "first-1.0.1.tar.gz")

    assert registry.blobs[pushed.layer_digest] == b"first layer"
    assert [method for method, *_ in registry.requests].count("POST") == 1, "the layer is not sent again"


def test_a_refusal_that_quotes_the_authorization_header_does_not_reach_the_message(registry: Scripted) -> None:
    """The message carries the registry's own error text (``_errors``); ``redact`` removes the password in its
    plain, quoted and URL-encoded forms, but not the form every request carries: base64 of ``user:password``
    in ``Authorization: Basic``, which a proxy or registry that quotes the request puts in its answer."""
    registry.echo_authorization = True
    encoded = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()

    with pytest.raises(OciError) as raised:
        _client(registry).push_pack("base/x", "1.0.0", b"layer", "x-1.0.0.tar.gz")

    assert "401" in str(raised.value)
    assert encoded not in str(raised.value), str(raised.value)


def test_a_retry_after_from_the_registry_is_cut_to_a_minute(
    registry: Scripted, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A busy registry or the proxy in front answers 503 with ``Retry-After``. The client's ``Retry`` honours it
    without ``retry_after_max``, so urllib3's default applies: up to six hours per retry
    (``urllib3.util.Retry.DEFAULT_RETRY_AFTER_MAX``), four retries, while ``pulumi up`` shows nothing. The
    Palette client cuts it to 60 seconds (``components.palette_client.HttpPolicy.retry_after_max``)."""
    slept: list[float] = []
    monkeypatch.setattr(time, "sleep", slept.append)
    registry.busy_for = 3600

    _client(registry).push_pack("base/x", "1.0.0", b"layer", "x-1.0.0.tar.gz")

    assert slept, "the 503 was retried after a sleep"
    assert max(slept) <= 60, f"the client would sleep {max(slept):.0f} s before retrying"


def test_a_changed_pack_on_a_registry_without_deletes_is_published_and_stays_published(
    registry: Scripted, tmp_path: Path
) -> None:
    """An existing registry may refuse deletes: CNCF distribution does by default (``storage.delete.enabled``
    is off; a manifest DELETE answers 405 UNSUPPORTED). A changed file makes ``PackProvider.update`` push the
    same tag (done: the registry serves the new files) and then delete the manifest that lost its tag, a
    clean-up. The 405 fails the update, so the engine keeps the old state (a failed update records no new
    outputs) and every later `pulumi up` pushes again and fails again on the same delete."""
    pack = tmp_path / "hello-universe"
    shutil.copytree(SAMPLE_PACK, pack)
    registry.deletes = False
    provider = PackProvider()

    def props() -> dict[str, Any]:
        content = pack_content(pack)
        return {
            "pack_dir": str(pack),
            "name": "hello-universe",
            "version": "1.0.0",
            "content_digest": content.content_digest,
            "files": content.files,
            "registry_url": registry.url,
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
