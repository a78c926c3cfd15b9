"""Today's program against what the released version declared (tests/data/golden/, see tests/support/golden.py).

An upgrade of the program is safe for an existing stack when the engine finds every resource it
remembers (by URN, or through an alias) and the program declares the same inputs and options for it:
then `pulumi up` updates and replaces nothing. The baseline is a golden file recorded from a release,
not the program of today evaluated twice, so a changed input shows up as a difference here.

Refresh the files only on purpose: ``UPDATE_GOLDEN=1 python -m pytest tests/program/test_golden.py`` rewrites
them and fails once, listing every change; review the diff, commit it, and run again without the variable.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.support import golden
from tests.support.engine_model import AliasResolver
from tests.support.harness import BCRYPT_HASH, CONTAINER, PASSWORD, PROJECT, READINESS, ProgramRun, run_program

COMPONENT = "palette-pack-registry:registry:PackRegistry"


@pytest.fixture(scope="module", params=golden.evaluated_files())
def today(request: pytest.FixtureRequest) -> tuple[str, ProgramRun, dict[str, Any]]:
    """Today's program for each golden file's stack, and its snapshot."""
    run, snap = golden.evaluate(request.param)
    return request.param, run, snap


def test_the_program_declares_what_the_golden_file_recorded(today: tuple[str, ProgramRun, dict[str, Any]]) -> None:
    """Every URN, input and engine-relevant option as the release declared it, exactly."""
    name, _, snap = today
    changes = golden.compare_or_update(name, snap)
    if changes and golden.updating():
        pytest.fail(f"rewrote tests/data/golden/{name}.json; what changed ({len(changes)}):\n" + "\n".join(changes))
    assert not changes, (
        f"today's program differs from tests/data/golden/{name}.json ({len(changes)} differences), "
        f"first: {changes[0]}\n"
        + "\n".join(changes[:20])
        + f"\nIf the change is intended, refresh with {golden.UPDATE_VARIABLE}=1 (docs/testing.md, Golden files)."
    )


def test_the_golden_files_hold_no_secret_and_no_generated_value(today: tuple[str, ProgramRun, dict[str, Any]]) -> None:
    name, run, snap = today
    text = golden.render(snap) + (golden.GOLDEN_DIR / f"{name}.json").read_text()
    for password in run.all(PASSWORD):
        assert password.outputs["result"] not in text, password.name
        assert password.outputs["bcryptHash"] not in text, password.name
    stack = golden.load(name)["stack"]
    for key in stack["secretKeys"]:
        assert stack["config"][key] not in golden.render(snap), key
    for container in run.all(CONTAINER):
        assert container.id not in text
    assert "PRIVATE KEY-----" not in text and "BEGIN CERTIFICATE" not in text


def _upgrade_problems(old_snap: dict[str, Any], run: ProgramRun, new_snap: dict[str, Any]) -> list[str]:
    """What the engine would do to a stack deployed by ``old_snap`` when ``run`` is the new program:
    deletes (old URNs no registration claims), creates (new URNs that claim nothing; components cost
    nothing), and updates (a claimed resource whose inputs differ)."""
    resolver = AliasResolver(set(old_snap["resources"]), PROJECT, "dev")
    resolver.resolve(run.resources)
    problems = [f"deleted: {urn}" for urn in sorted(set(old_snap["resources"]) - set(resolver.claimed))]
    claimed_by = {new: old for old, new in resolver.claimed.items()}
    for record in run.resources:
        if record.urn not in claimed_by:
            if record.type != COMPONENT:
                problems.append(f"created: {record.urn}")
            continue
        old = old_snap["resources"][claimed_by[record.urn]]["inputs"]
        new = new_snap["resources"][record.urn]["inputs"]
        problems += [f"updated {record.urn}: {change}" for change in golden.differences(old, new, "inputs")]
    return problems


def test_upgrading_a_released_stack_updates_and_replaces_nothing(today: tuple[str, ProgramRun, dict[str, Any]]) -> None:
    """Alias matching as the engine does it (tests/support/engine_model.py ``AliasResolver``), against the release."""
    name, run, snap = today
    assert _upgrade_problems(golden.load(name), run, snap) == []


PROVIDER = "pulumi:providers:docker"
PINNED = {"caMaterial", "certMaterial", "certPath", "context", "keyMaterial", "sshOpts"}
"""The docker provider's environment-filled attributes the program now sets explicitly (components/instance/container.py
``provider_pins``): empty where the stack has nothing."""


def _changes_since_release_0_1_0(old: dict[str, Any], run: ProgramRun, snap: dict[str, Any]) -> list[str]:
    """Checks what a stack deployed by release 0.1.0 meets on upgrade; returns the replaced containers' URNs.

    Every URN is kept. Each container's env gains ``REGISTRY_HTTP_DRAINTIMEOUT`` (env is ForceNew in the
    docker provider, kreuzwerker/terraform-provider-docker internal/provider/resource_docker_container.go:
    one replacement per container, the price of a graceful stop) and ``destroyGraceSeconds`` (not ForceNew,
    not stored in Docker); each docker provider gains its pinned attributes, empty (an update of the provider,
    which replaces nothing under it); each readiness gate gains the inputs of its push as the read-only user (an
    update: it polls again). Each generated password gains a ``BcryptHash`` of cost 4 (the only
    resources created), which replaces pulumi-random's cost-10 ``bcryptHash`` in the htpasswd upload: the same
    replacement of each container (uploads are ForceNew too), with the same passwords. Nothing else changes: no
    other input, no other create, no delete."""
    resolver = AliasResolver(set(old["resources"]), PROJECT, "dev")
    resolver.resolve(run.resources)
    assert set(old["resources"]) == set(resolver.claimed), "every released resource is kept"
    claimed_by = {new: old_urn for old_urn, new in resolver.claimed.items()}
    created = [r for r in run.resources if r.urn not in claimed_by and r.type != COMPONENT]
    generated = {r.name for r in run.all(PASSWORD) if r.parent and r.parent.endswith("::credentials")}
    assert sorted(r.name for r in created) == sorted(f"{name}-hash" for name in generated)
    assert all(r.type == BCRYPT_HASH and r.inputs["rounds"] == 4 for r in created)
    replaced = []
    for record in run.resources:
        if record.urn not in claimed_by:
            continue
        before = old["resources"][claimed_by[record.urn]]["inputs"]
        after = snap["resources"][record.urn]["inputs"]
        changed = {key for key in set(before) | set(after) if before.get(key) != after.get(key)}
        if record.type == CONTAINER:
            assert changed == {"envs", "destroyGraceSeconds", "uploads"}, record.urn
            assert set(after["envs"]) - set(before["envs"]) == {"REGISTRY_HTTP_DRAINTIMEOUT=10s"}
            assert set(before["envs"]) - set(after["envs"]) == set()
            assert "destroyGraceSeconds" not in before and after["destroyGraceSeconds"] == 15
            assert _without_htpasswd(after["uploads"]) == _without_htpasswd(before["uploads"]), record.urn
            assert _htpasswd_of(after["uploads"]) == "".join(
                f"{user}:<credentials-{user}-hash.hash>\n" for user in ("admin", "spectro")
            )
            replaced.append(record.urn)
        elif record.type == PROVIDER:
            assert changed <= PINNED, (record.urn, changed - PINNED)
            assert all(after[key] in ("", "[]") for key in changed - set(before)), record.urn
        elif record.type == READINESS:
            # The legacy gate tries a push as the read-only user and records what it met: an update of the gate
            # (it polls again), which replaces nothing.
            assert changed == set(LEGACY_WRITE_PROBE), (record.urn, changed)
            assert {key: after[key] for key in changed} == LEGACY_WRITE_PROBE, record.urn
        else:
            assert changed == set(), (record.urn, changed)
    return replaced


LEGACY_WRITE_PROBE = {
    "require_challenge": False,
    "write_probe_path": "/v2/palette-pack-registry/readiness-probe/blobs/uploads/",
    "write_probe_must_refuse": False,
}
"""The inputs the legacy readiness gate gains for its push as the read-only user (issue 22)."""


def _htpasswd_of(uploads: list[dict[str, Any]]) -> str:
    return next(u["content"] for u in uploads if u["file"] == "/auth/htpasswd-basic")


def _without_htpasswd(uploads: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [u for u in uploads if u["file"] != "/auth/htpasswd-basic"]


@pytest.mark.parametrize("name", ["dev", "ha"])
def test_upgrading_from_release_0_1_0_replaces_each_container_once_for_the_drain_and_nothing_else(name: str) -> None:
    """A stack deployed by release 0.1.0 (tests/data/golden/release-0.1.0-*.json, frozen): see
    ``_changes_since_release_0_1_0``."""
    run, snap = golden.evaluate(name)
    replaced = _changes_since_release_0_1_0(golden.load(f"release-0.1.0-{name}"), run, snap)
    assert sorted(replaced) == sorted(r.urn for r in run.all(CONTAINER))


def test_upgrading_the_single_host_dev_stack_keeps_every_urn_and_input(dev_run: ProgramRun) -> None:
    """A dev stack deployed by the single-host program upgrades to PackRegistry replacing nothing.

    ``tests/data/golden/single-host-dev.json`` is what the single-host layout (every resource a child of the
    stack, before PackRegistry) declared for the dev stack, recorded once with this release's components.
    The first instance's resources moved from the stack into the component with
    ``Alias(parent=ROOT_STACK_RESOURCE)`` (pulumi/resource.py documents that spelling for "had no parent";
    pulumi/runtime/resource.py ``prepare_aliases``/``create_alias_spec`` send it as ``noParent``). Their
    children carry no alias: the engine gives each child of a parent matched through an alias that
    parent's old URN as an inherited alias (pulumi/pulumi pkg/resource/deploy/step_generator.go
    ``generateAliases``, ``inheritedChildAlias``), which tests/support/engine_model.py replays. Only the new
    component is created, and every claimed resource has the recorded inputs but for what release 0.1.0
    stacks meet anyway (the drain).
    """
    old = golden.load("single-host-dev")
    assert not any(entry["aliases"] for entry in old["resources"].values())
    # Recorded with release 0.1.0's components: what changed since is what any 0.1.0 stack meets.
    replaced = _changes_since_release_0_1_0(old, dev_run, golden.snapshot(dev_run))
    assert replaced == [r.urn for r in dev_run.all(CONTAINER)]
    resolver = AliasResolver(set(old["resources"]), PROJECT, "dev")
    resolver.resolve(dev_run.resources)
    assert resolver.matched, "the moved resources are matched through aliases"


def test_the_upgrade_check_fails_without_the_aliases(monkeypatch: pytest.MonkeyPatch) -> None:
    """The upgrade check above can fail: with the aliases dropped, every moved resource is orphaned."""
    from components.pack_registry import component as pack_registry

    monkeypatch.setattr(pack_registry, "_moved_from_stack", lambda: [])
    monkeypatch.setattr(pack_registry, "_single_host_aliases", lambda _name, _instance: [])
    run = run_program(stack="dev")
    problems = _upgrade_problems(golden.load("single-host-dev"), run, golden.snapshot(run))
    deleted = {p.rsplit("::", 1)[-1] for p in problems if p.startswith("deleted: ")}
    assert deleted >= {"credentials", "tls", "registry", "readiness", "registry-container"}


# --- the golden machinery itself (harness self-tests) ------------------------------------------------------------


def test_harness_differences_name_the_first_differing_urn_and_input_path() -> None:
    old = {"resources": {"urn:a": {"inputs": {"envs": ["A=1", "B=2"], "name": "x"}}}}
    new = {"resources": {"urn:a": {"inputs": {"envs": ["A=1", "B=3", "C=4"], "name": "x"}}, "urn:b": {}}}
    assert golden.differences(old, new) == [
        "'resources'['urn:a']['inputs']['envs'][1]: \"B=2\" -> \"B=3\"",
        "'resources'['urn:a']['inputs']['envs'][2]: added \"C=4\"",
        "'resources'['urn:b']: added {}",
    ]


def test_harness_snapshot_marks_generated_values_by_their_origin(dev_run: ProgramRun) -> None:
    snap = golden.snapshot(dev_run)
    container = next(e for e in snap["resources"].values() if e["type"] == CONTAINER)
    envs = container["inputs"]["envs"]
    assert "REGISTRY_HTTP_SECRET=<registry-http-secret.result>" in envs
    htpasswd = next(u["content"] for u in container["inputs"]["uploads"] if u["file"] == "/auth/htpasswd-basic")
    assert htpasswd == "admin:<credentials-admin-hash.hash>\nspectro:<credentials-spectro-hash.hash>\n"
    assert container["inputs"]["image"] == "<registry-image.imageId>"
    # Two evaluations (new passwords, keys, ids) give the same snapshot.
    assert json.dumps(snap, sort_keys=True) == json.dumps(golden.snapshot(run_program(stack="dev")), sort_keys=True)
