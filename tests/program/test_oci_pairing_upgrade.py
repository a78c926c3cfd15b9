"""An OCI stack deployed while the registry joined its proxy's network namespace, upgraded to the private network.

``tests/data/golden/namespace-pairing-oci-{dev,ha}.json`` are frozen: what the OCI kind declared with
``network_mode: container:<proxy id>``, recorded with that code (a one-instance filesystem stack, and three
Docker hosts on S3). The engine must find every resource it remembers, create only each instance's network, and
replace each instance's two containers, one instance after another through the rolling chain
(components/pack_registry/component.py, docs/high-availability.md), never every instance at once.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from tests.support import golden
from tests.support.engine_model import AliasResolver, moments_all_down, outages
from tests.support.harness import CONTAINER, NETWORK, PROJECT, READINESS, ProgramRun

PROXY_CONFIG = "/etc/nginx/conf.d/default.conf"
COMPONENT = "palette-pack-registry:registry:PackRegistry"


def _changed_inputs(before: dict[str, Any], after: dict[str, Any]) -> set[str]:
    return {key for key in set(before) | set(after) if before.get(key) != after.get(key)}


def _upgrade(name: str) -> tuple[dict[str, Any], ProgramRun, dict[str, Any], dict[str, str]]:
    old = golden.load(f"namespace-pairing-{name}")
    run, snap = golden.evaluate(name)
    resolver = AliasResolver(set(old["resources"]), PROJECT, "dev")
    resolver.resolve(run.resources)
    return old, run, snap, {new: old_urn for old_urn, new in resolver.claimed.items()}


@pytest.mark.parametrize("name", ["oci-dev", "oci-ha"])
def test_upgrading_replaces_each_instances_two_containers_and_creates_only_its_network(name: str) -> None:
    """Every old URN kept; the only new resources are the networks; the proxy changes its networks and its
    nginx configuration (the upstream), the registry its network mode, networks and listen address: all
    ForceNew in the docker provider (kreuzwerker/terraform-provider-docker internal/provider/
    resource_docker_container.go: ``network_mode``, ``networks_advanced``, ``env``, ``upload``), so both are
    replaced; nothing else changes."""
    old, run, snap, claimed_by = _upgrade(name)
    assert set(old["resources"]) == set(claimed_by.values()), "every resource of the old layout is kept"
    created = [r for r in run.resources if r.urn not in claimed_by and r.type != COMPONENT]
    assert {r.type for r in created} == {NETWORK}
    assert len(created) == len(run.all(NETWORK))
    s3 = "s3Bucket" in old["stack"]["config"]
    assert len(created) == len(run.all(READINESS)) * (2 if s3 else 1), "a private network, and an egress one with S3"
    replaced = []
    for record in run.resources:
        if record.urn not in claimed_by:
            continue
        before = old["resources"][claimed_by[record.urn]]["inputs"]
        after = snap["resources"][record.urn]["inputs"]
        changed = _changed_inputs(before, after)
        if record.type != CONTAINER:
            assert changed == set(), (record.urn, changed)
            continue
        replaced.append(record.urn)
        if record.name.endswith("-proxy-container"):
            assert changed == {"networksAdvanced", "uploads"}, record.urn
            files = {u["file"] for u in before["uploads"]} ^ {u["file"] for u in after["uploads"]}
            assert files == set()
            differing = [u["file"] for u in after["uploads"] if u not in before["uploads"]]
            assert differing == [PROXY_CONFIG]
        else:
            assert changed == {"networkMode", "networksAdvanced", "envs"}, record.urn
            assert before["networkMode"].startswith("container:") and after["networkMode"] == "bridge"
            assert set(before["envs"]) ^ set(after["envs"]) == {
                "REGISTRY_HTTP_ADDR=127.0.0.1:5000",
                f"REGISTRY_HTTP_ADDR={'oci-registry:5000' if s3 else ':5000'}",
            }
    assert sorted(replaced) == sorted(r.urn for r in run.all(CONTAINER))


@pytest.mark.parametrize("name", ["oci-dev", "oci-ha"])
def test_the_old_registry_goes_before_its_proxy_and_instances_roll_one_after_another(name: str) -> None:
    """The old registry's ``networkMode`` is a property that depends on the proxy: when the proxy is replaced
    with deleteBeforeReplace, the engine deletes the registry first (pulumi/pulumi
    pkg/resource/deploy/step_generator.go ``calculateDependentReplacements``), so no container is left in a
    namespace that is gone. Then each instance's two containers are down and up again before the next
    instance's are touched (tests/support/engine_model.py replays the order), never every instance at once."""
    old, run, _, claimed_by = _upgrade(name)
    for record in run.all(CONTAINER):
        if record.name.endswith("-proxy-container"):
            continue
        entry = old["resources"][claimed_by[record.urn]]
        (proxy,) = entry["propertyDependencies"]["networkMode"]
        assert proxy.endswith("-proxy-container") and old["resources"][proxy]["deleteBeforeReplace"]
        assert entry["deleteBeforeReplace"]
    changed = {r.urn for r in run.all(CONTAINER)} | {r.urn for r in run.all(NETWORK)}
    gates = run.all(READINESS)
    windows = outages(run.resources, changed)
    by_instance = [[w for w in windows if w.container in gate.options["dependencies"]] for gate in gates]
    assert all(len(pair) == 2 for pair in by_instance)
    spans = [(min(w.down_from for w in pair), max(w.up_at for w in pair)) for pair in by_instance]
    assert all(later[0] >= earlier[1] for earlier, later in itertools.pairwise(spans)), spans
    if len(gates) > 1:
        assert moments_all_down(run.resources, changed) == []


def test_the_check_fails_when_the_chain_is_dropped(monkeypatch: pytest.MonkeyPatch) -> None:
    """The rolling check above can fail: without the chain every instance is replaced at the same moment."""
    from components.pack_registry import component as pack_registry

    original = pack_registry.PackRegistry._instance_args

    def unchained(self: Any, settings: Any, docker: Any, previous: Any) -> Any:
        return original(self, settings, docker, None)

    monkeypatch.setattr(pack_registry.PackRegistry, "_instance_args", unchained)
    run, _ = golden.evaluate("oci-ha")
    changed = {r.urn for r in run.all(CONTAINER)} | {r.urn for r in run.all(NETWORK)}
    assert moments_all_down(run.resources, changed) != []
