"""What Palette's proof of the published packs adds to a `pulumi up` (components/palette/proof.py), for 20 packs,
against the Palette fake that syncs for real from an in-process scripted registry (tests/support/palette_sync.py).

* after the sync: Palette already lists every pack; the proof reads one listing per pack name (20 GETs) and
  compares each version's values with the values.yaml pushed (parsed YAML). This is the proof's own cost, the extra
  wall time of a `pulumi up` whose sync was done before the proof started.
* from the sync request: the sync is asked for, and the proof polls (every 0.1 s here; 5 s by default,
  ``PALETTE_SYNC_POLL_SECONDS``) until the fake's sync has read the 20 packs from the registry and lists them. The
  fake's sync stands in for Palette's, whose duration is Palette's own: this bounds what the proof adds on top.

The numbers go into pytest-benchmark's extra_info and are printed.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
import requests

from components.packs.archive import build_archive
from components.palette.client import PaletteClient
from components.palette.proof import pack_key, prove
from components.palette.shapes import OCI_REGISTRY_API
from tests.benchmarks.test_packs import _report
from tests.palette.test_fake_sync import NAME, REPOSITORY, pack_dir, pusher, register
from tests.support.oci_scripted import Scripted, scripted_registry
from tests.support.palette_fake import FakePalette
from tests.support.palette_support import FAST_POLICY
from tests.support.tls_support import Authority

PACKS = 20
TARGET_SECONDS = 0.5
"""The proof's own cost after the sync, for 20 packs (the registration's other calls take about as long)."""


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FakePalette, Scripted, dict[str, Any]]]:
    """20 packs pushed by the program's client to a scripted registry, registered in the fake (which reads them)."""
    authority = Authority.create("Proof Benchmark CA")
    folder = tmp_path_factory.mktemp("proof-packs")
    with scripted_registry(authority, NAME) as registry, FakePalette() as palette:
        packs: dict[str, Any] = {}
        for index in range(PACKS):
            name = f"bench-{index:02d}"
            values = f"replicas: {index}\nimage:\n  tag: '1.{index}'\nlabels: {{team: t{index}}}\n"
            directory = pack_dir(folder, name, **{"values.yaml": values})
            archive = build_archive(directory)
            pushed = pusher(registry, authority).push_pack(
                f"{REPOSITORY}/{name}", "1.0.0", archive.data, f"{name}-1.0.0.tar.gz"
            )
            packs[pack_key(name, "1.0.0")] = {
                "name": name,
                "version": "1.0.0",
                "manifest_digest": pushed.manifest_digest,
                "values_sha256": archive.files["values.yaml"],
                "values_file": str(directory / "values.yaml"),
            }
        uid = register(palette, registry, authority)
        yield palette, registry, {"uid": uid, "packs": packs}


def _client(palette: FakePalette, poll: float) -> PaletteClient:
    return PaletteClient(
        palette.url,
        palette.api_key,
        registration="bench",
        policy=replace(FAST_POLICY, sync_poll_seconds=poll),
        shape=OCI_REGISTRY_API,
    )


def _sync(palette: FakePalette, uid: str) -> None:
    answer = requests.post(
        f"{palette.url}/v1/registries/oci/{uid}/basic/sync", headers={"ApiKey": palette.api_key}, timeout=5
    )
    assert answer.status_code == 202


def test_the_proof_of_20_packs_once_palette_lists_them(benchmark: Any, published: tuple) -> None:
    palette, _registry, run = published
    _sync(palette, run["uid"])
    palette.wait_for_syncs()
    timings: list[float] = []

    def one_proof() -> None:
        palette.reset_calls()
        started = time.perf_counter()
        proofs = prove(_client(palette, 0.1), run["uid"], run["packs"], timeout_seconds=30)
        timings.append(time.perf_counter() - started)
        assert len(proofs) == PACKS
        assert len(palette.calls("GET", "^/v1/packs/")) == PACKS

    benchmark.pedantic(one_proof, rounds=5, iterations=1)
    benchmark.extra_info.update(_report("proof_20_packs_after_sync", timings))
    benchmark.extra_info["target_s"] = TARGET_SECONDS
    assert statistics.median(timings) < 5 * TARGET_SECONDS


def test_the_proof_of_20_packs_from_the_sync_request(benchmark: Any, published: tuple) -> None:
    palette, registry, run = published
    timings: list[float] = []
    sync_only: list[float] = []

    def one_round() -> None:
        with palette._lock:
            palette.synced.pop(run["uid"], None)
        started = time.perf_counter()
        _sync(palette, run["uid"])
        proofs = prove(_client(palette, 0.1), run["uid"], run["packs"], timeout_seconds=60)
        timings.append(time.perf_counter() - started)
        assert len(proofs) == PACKS
        # The fake's sync alone, for comparison.
        with palette._lock:
            palette.synced.pop(run["uid"], None)
        started = time.perf_counter()
        _sync(palette, run["uid"])
        palette.wait_for_syncs()
        sync_only.append(time.perf_counter() - started)

    benchmark.pedantic(one_round, rounds=3, iterations=1)
    benchmark.extra_info.update(_report("proof_20_packs_from_sync_request", timings))
    benchmark.extra_info.update(_report("fake_sync_20_packs", sync_only))
    assert registry.requests
