"""Packs at scale under the real Pulumi CLI: 220 generated packs shaped like real ones (tests/support/pack_corpus.py)
published to the OCI kind, a no-change ``up`` of all of them, and ``destroy``; against a plain client pushing the
same archives (config blob, layer blob, manifest: the three requests an OCI push needs, one after another, over
``http.client`` with nothing of the program's code).

Goals (issue: a no-change ``up`` of 220 packs within 5 s; publishing no slower than a plain client) are reported
in docs/benchmarks.md's table, not asserted here: speed goals live in benchmarks.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from components.packs.archive import build_archive
from components.packs.oci_client import CONFIG_MEDIA_TYPE, EMPTY_CONFIG, LAYER_MEDIA_TYPE, MANIFEST_MEDIA_TYPE
from tests.cli.conftest import StackFactory
from tests.cli.deployment import PACK, check_packs, quick_start, succeeded, unchanged
from tests.support.docker_support import DockerJanitor
from tests.support.pack_corpus import write_corpus
from tests.support.registry_client import RegistryClient

pytestmark = pytest.mark.benchmark
PACKS = 220


def plain_push(client: RegistryClient, repository: str, tag: str, layer: bytes) -> None:
    config = client.push_blob(repository, EMPTY_CONFIG)
    layer_digest = client.push_blob(repository, layer)
    manifest = {
        "schemaVersion": 2,
        "mediaType": MANIFEST_MEDIA_TYPE,
        "config": {"mediaType": CONFIG_MEDIA_TYPE, "digest": config, "size": len(EMPTY_CONFIG)},
        "layers": [{"mediaType": LAYER_MEDIA_TYPE, "digest": layer_digest, "size": len(layer)}],
    }
    answer = client.request(
        "PUT",
        f"/v2/{repository}/manifests/{tag}",
        body=json.dumps(manifest).encode(),
        headers={"Content-Type": MANIFEST_MEDIA_TYPE},
    )
    assert answer.status == 201, answer


def test_220_packs_publish_no_change_up_and_destroy(
    cli_stack: StackFactory, janitor: DockerJanitor, tmp_path: Path, benchmark: pytest.FixtureRequest
) -> None:
    corpus = write_corpus(tmp_path / "corpus", packs=PACKS)
    deployment = quick_start("oci", cli_stack, janitor, tmp_path, None, packs=())
    outputs = succeeded(deployment.stack.up()).outputs

    deployment.stack.configure({"packs": [str(path) for path in corpus]})
    published = succeeded(deployment.stack.up())
    assert published.cli_seconds is not None
    publish_seconds = published.cli_seconds
    assert published.changes.get("create") == PACKS, published.changes
    names = [r["outputs"]["name"] for r in deployment.stack.resources() if r["type"] == PACK]
    deployment.packs = names
    check_packs(deployment, outputs, outputs["readOnlyUsers"]["value"][0], outputs["readOnlyPasswords"]["value"][0])

    timings: list[float] = []
    cli_timings: list[float] = []

    def no_change_up() -> None:
        begun = time.monotonic()
        result = deployment.stack.up(expect_no_changes=True)
        timings.append(time.monotonic() - begun)
        unchanged(result)
        assert result.cli_seconds is not None
        cli_timings.append(result.cli_seconds)

    benchmark.pedantic(no_change_up, rounds=3, iterations=1)  # type: ignore[attr-defined]

    archives = [build_archive(path) for path in corpus]
    admin = deployment.client(outputs, outputs["adminUser"]["value"], outputs["adminPassword"]["value"])
    started = time.monotonic()
    for path, archive in zip(corpus, archives, strict=True):
        plain_push(admin, f"plain/{path.name}", "1.0.0", archive.data)
    plain_seconds = time.monotonic() - started
    layer_bytes = sum(archive.size for archive in archives)

    destroyed = succeeded(deployment.stack.destroy())
    assert destroyed.cli_seconds is not None
    destroy_seconds = destroyed.cli_seconds

    figures = {
        "packs": PACKS,
        "files": sum(1 for path in corpus for item in path.rglob("*") if item.is_file()),
        "layer_mib": round(layer_bytes / 2**20, 1),
        "publish_s": round(publish_seconds, 1),
        "plain_client_s": round(plain_seconds, 1),
        "no_change_pulumi_up_s": [round(value, 2) for value in cli_timings],
        "no_change_operation_s": [round(value, 2) for value in timings],
        "destroy_s": round(destroy_seconds, 1),
    }
    benchmark.extra_info.update(figures)  # type: ignore[attr-defined]
    print(f"\npack scale under the real CLI: {json.dumps(figures)}")
