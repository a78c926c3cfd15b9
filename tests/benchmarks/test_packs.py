"""What packs as code cost: a push of a 10 MiB pack, and a `pulumi up` in which no pack changed.

* push: ``PackProvider.create`` for a pack holding a 10 MiB incompressible file, against the real stand-in
  registry (TLS, bcrypt htpasswd: each request pays a bcrypt check on the server), a fresh repository per
  round so that every blob really travels.
* no change, 20 packs of 1 MiB: what a run adds per stack when nothing changed: the program checks the 20
  directories and computes their content digests and files maps (``parse_packs``, ``pack_content``), then
  the engine asks the provider host, over gRPC, to ``Check`` and ``Diff`` each. Goal: under 0.5 s.
* publish 50 packs of 100 KiB: a first `pulumi up` with 50 new packs, as the engine runs it: the program checks
  the directories and computes their content digests, then the provider host, over gRPC, checks and creates each
  pack one after another (each create asks what its tag holds, then pushes config, layer and manifest), against
  the real stand-in registry, into a fresh repository path per round; and the same with packsAllowOverwrite, whose
  creates do not ask.
* no change, 220 generated packs (``tests/support/pack_corpus.py``: ~11k files, ~67k lines of values.yaml): the whole
  program evaluated under the mocks with the state of the previous run, and the packs' share of it
  (``parse_packs`` and ``pack_content``), wall clock and CPU time. Goal: a no-change `pulumi up` of 220 packs
  within 5 s under the real CLI, which adds the engine's own work to this.

The numbers go into pytest-benchmark's extra_info and are printed.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pulumi.dynamic.dynamic import serialize_provider
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

from components.config.source import Raw
from components.kinds import OCI
from components.packs import PackProvider
from components.packs.archive import pack_content
from components.packs.directory import parse_packs
from components.project import declared_config
from tests.support import docker_support
from tests.support.grpc_support import provider_host, struct
from tests.support.harness import MockState, run_program
from tests.support.pack_push_support import SERVER_NAME, OciRegistry, start_oci_registry
from tests.support.paths import ROOT, SAMPLE_PACK

TARGET_SECONDS = 0.5
CORPUS_TARGET_SECONDS = 5.0
PACK = "pulumi-python:dynamic/packs:Pack"
URN = "urn:pulumi:dev::palette-pack-registry::pulumi-python:dynamic/packs:Pack::bench"
PROVIDER = serialize_provider(PackProvider())


def _report(label: str, values: list[float]) -> dict[str, float]:
    print(f"\n{label}: " + ", ".join(f"{value * 1000:.0f} ms" for value in values))
    return {
        f"{label}_min_s": round(min(values), 4),
        f"{label}_median_s": round(statistics.median(values), 4),
        f"{label}_max_s": round(max(values), 4),
    }


def make_pack(root: Path, name: str, size: int) -> Path:
    pack = root / name
    shutil.copytree(SAMPLE_PACK, pack)
    data = json.loads((pack / "pack.json").read_text())
    data["name"] = name
    (pack / "pack.json").write_text(json.dumps(data))
    (pack / "manifests" / "payload.bin").write_bytes(os.urandom(size))
    return pack


@pytest.fixture(scope="module")
def registry(janitor: docker_support.DockerJanitor, standin_image: str, tmp_path_factory: Any) -> OciRegistry:
    return start_oci_registry(janitor, standin_image, tmp_path_factory.mktemp("bench-registry"))


def props_for(pack: Path, registry: OciRegistry, base: str) -> dict[str, Any]:
    content = pack_content(pack)
    data = json.loads((pack / "pack.json").read_text())
    return {
        "pack_dir": str(pack),
        "name": data["name"],
        "version": data["version"],
        "content_digest": content.content_digest,
        "files": content.files,
        "registry_url": registry.url,
        "server_name": SERVER_NAME,
        "ca_certificate": registry.ca_certificate,
        "repository": f"{base}/spectro-packs/archive",
        "username": registry.username,
        "password": registry.password,
    }


def test_pushing_a_10_mib_pack(benchmark: Any, registry: OciRegistry, tmp_path: Path) -> None:
    pack = make_pack(tmp_path, "big-pack", 10 * 1024 * 1024)
    provider = PackProvider()
    rounds: list[float] = []
    counter = iter(range(100))

    def push() -> None:
        props = props_for(pack, registry, f"bench-push-{next(counter)}-{time.monotonic_ns() % 10**6}")
        started = time.monotonic()
        provider.create(provider.check({}, props).inputs)
        rounds.append(time.monotonic() - started)

    benchmark.pedantic(push, rounds=3, iterations=1)
    benchmark.extra_info.update(_report("push_10mib", rounds))
    # A sanity bound, not a target: a 10 MiB push over loopback.
    assert max(rounds) < 30


@pytest.fixture
def host(tmp_path: Path) -> Iterator[provider_pb2_grpc.ResourceProviderStub]:
    with provider_host(ROOT, dict(os.environ), tmp_path / "host.stderr") as (_process, stub):
        yield stub


def test_a_run_with_20_unchanged_packs_of_1_mib(
    benchmark: Any, registry: OciRegistry, host: provider_pb2_grpc.ResourceProviderStub, tmp_path: Path
) -> None:
    stack = tmp_path / "stack"
    packs = [make_pack(stack, f"pack-{index:02d}", 1024 * 1024) for index in range(20)]
    raw = Raw(lambda key: json.dumps([p.name for p in packs]) if key == "packs" else None, declared_config())
    # The state after the first `pulumi up`: the inputs it was pushed with (the diff compares those).
    states = []
    for pack in packs:
        props = props_for(pack, registry, "bench-nochange")
        states.append(struct({**props, "__provider": PROVIDER}))
    timings: list[float] = []
    program_timings: list[float] = []

    def one_run() -> None:
        started = time.monotonic()
        sources, _ = parse_packs(raw, stack, OCI)
        news = [props_for(source.directory, registry, "bench-nochange") for source in sources]
        program_timings.append(time.monotonic() - started)
        for props, old in zip(news, states, strict=True):
            checked = host.Check(
                provider_pb2.CheckRequest(urn=URN, olds=old, news=struct({**props, "__provider": PROVIDER}))
            )
            diff = host.Diff(provider_pb2.DiffRequest(id="bench", urn=URN, olds=old, news=checked.inputs))
            assert diff.changes == provider_pb2.DiffResponse.DIFF_NONE
        timings.append(time.monotonic() - started)

    before = registry.request_count()
    benchmark.pedantic(one_run, rounds=5, iterations=1)
    assert registry.request_count() == before, "a run with nothing changed called the registry"
    benchmark.extra_info.update(_report("nochange_20x1mib_program", program_timings))
    benchmark.extra_info.update(_report("nochange_20x1mib_total", timings))
    benchmark.extra_info["target_s"] = TARGET_SECONDS
    assert statistics.median(timings) < 5 * TARGET_SECONDS


@pytest.mark.parametrize("overwrite", [False, True], ids=["tag-checked", "packsAllowOverwrite"])
def test_publishing_50_packs_of_100_kib(
    benchmark: Any, registry: OciRegistry, host: provider_pb2_grpc.ResourceProviderStub, tmp_path: Path, overwrite: bool
) -> None:
    """Each new pack first asks what its tag holds (one HEAD: a request, so a password check at the registry);
    with packsAllowOverwrite it does not, which measures what that question costs."""
    stack = tmp_path / "stack"
    packs = [make_pack(stack, f"pub-{index:02d}", 100 * 1024) for index in range(50)]
    raw = Raw(lambda key: json.dumps([p.name for p in packs]) if key == "packs" else None, declared_config())
    program_timings: list[float] = []
    timings: list[float] = []
    counter = iter(range(100))
    bases: list[str] = []

    def one_run() -> None:
        base = f"bench-publish-{next(counter)}-{time.monotonic_ns() % 10**6}"
        bases.append(base)
        started = time.monotonic()
        sources, _ = parse_packs(raw, stack, OCI)
        news = [{**props_for(source.directory, registry, base), "allow_overwrite": overwrite} for source in sources]
        program_timings.append(time.monotonic() - started)
        for props in news:
            inputs = struct({**props, "__provider": PROVIDER})
            checked = host.Check(provider_pb2.CheckRequest(urn=URN, olds=struct({}), news=inputs))
            assert list(checked.failures) == []
            host.Create(provider_pb2.CreateRequest(urn=URN, properties=checked.inputs))
        timings.append(time.monotonic() - started)

    benchmark.pedantic(one_run, rounds=3, iterations=1)
    reader = registry.reader()
    assert all(reader.tags(f"{bases[-1]}/spectro-packs/archive/pub-{index:02d}") == ["1.0.0"] for index in range(50))
    label = "publish_50x100kib" + ("_overwrite" if overwrite else "")
    benchmark.extra_info.update(_report(f"{label}_program", program_timings))
    benchmark.extra_info.update(_report(f"{label}_total", timings))
    # A sanity bound, not a target: 50 small pushes over loopback.
    assert max(timings) < 120


def test_evaluating_the_program_with_220_unchanged_packs(benchmark: Any, pack_corpus: list[Path]) -> None:
    config = {"registryKind": "oci", "packs": [str(pack) for pack in pack_corpus]}
    state = MockState()
    run_program(config, state=state)  # the first `pulumi up`
    generated = state.generated
    raw = Raw(lambda key: json.dumps(config["packs"]) if key == "packs" else None, declared_config())
    wall: list[float] = []
    cpu: list[float] = []
    packs_wall: list[float] = []
    packs_cpu: list[float] = []

    def one_run() -> None:
        started, started_cpu = time.perf_counter(), time.process_time()
        run = run_program(config, state=state)
        wall.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
        assert len(run.all(PACK)) == 220

    def the_packs_share() -> None:
        started, started_cpu = time.perf_counter(), time.process_time()
        sources, _ = parse_packs(raw, None, OCI)
        for source in sources:
            pack_content(source.directory)
        packs_wall.append(time.perf_counter() - started)
        packs_cpu.append(time.process_time() - started_cpu)

    benchmark.pedantic(one_run, rounds=3, iterations=1)
    for _ in range(3):
        the_packs_share()
    assert state.generated == generated, "a run with nothing changed generated something"
    benchmark.extra_info.update(_report("nochange_220_packs_program_wall", wall))
    benchmark.extra_info.update(_report("nochange_220_packs_program_cpu", cpu))
    benchmark.extra_info.update(_report("nochange_220_packs_checks_and_digests_wall", packs_wall))
    benchmark.extra_info.update(_report("nochange_220_packs_checks_and_digests_cpu", packs_cpu))
    benchmark.extra_info["target_s"] = CORPUS_TARGET_SECONDS
