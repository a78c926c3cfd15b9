"""The read-only maintenance mode, garbage collection and the purge of abandoned uploads, as the program declares
them (mocks) and as the pack provider and the push client act on them (no registry; ``oci_scripted`` for answers).

What the registry makes of them is tested on the real engine in tests/integration/test_reclaiming_disk_space.py.
"""

from __future__ import annotations

import json
import shlex
from typing import Any

import pytest

from components.instance.proxy import READ_ONLY_BODY
from components.kinds.oci import CONFIG_FILE, UPLOAD_PURGE_INTERVAL
from components.packs import PackProvider
from components.packs.oci_client import OciClient, OciError, OciTarget
from components.project import declared_config
from tests.support.harness import MockState, ProgramRun, run_program
from tests.support.oci_scripted import Scripted, scripted_registry
from tests.support.paths import SAMPLE_PACK

OCI = {"registryKind": "oci"}
PACK = "pulumi-python:dynamic/packs:Pack"
READ_ONLY = "REGISTRY_STORAGE_MAINTENANCE_READONLY"
PURGE = "REGISTRY_STORAGE_MAINTENANCE_UPLOADPURGING"


def maintenance_env(run: ProgramRun) -> dict[str, Any]:
    """The registry container's storage.maintenance variables, each value parsed (JSON, which is YAML)."""
    envs = [str(entry) for entry in run.named("registry-container").inputs["envs"]]
    found = [entry.split("=", 1) for entry in envs if entry.startswith("REGISTRY_STORAGE_MAINTENANCE")]
    return {name: json.loads(value) for name, value in found}


def test_the_oci_registry_deletes_uploads_left_unfinished_for_the_configured_hours() -> None:
    default = declared_config()["uploadPurgeAgeHours"]["default"]
    assert maintenance_env(run_program(OCI, stack="dev")) == {
        PURGE: {"enabled": True, "age": f"{default}h", "interval": UPLOAD_PURGE_INTERVAL, "dryrun": False}
    }
    assert maintenance_env(run_program({**OCI, "uploadPurgeAgeHours": 30}, stack="dev"))[PURGE]["age"] == "30h"
    # Shorter than distribution's week (registry/handlers/app.go uploadPurgeDefaultConfig: 168h).
    assert default < 168


def test_maintenance_mode_turns_the_registry_read_only_and_changes_nothing_else() -> None:
    state = MockState()
    before = run_program(OCI, stack="dev", state=state)
    during = run_program({**OCI, "maintenanceReadOnly": True}, stack="dev", state=state)
    after = run_program(OCI, stack="dev", state=state)

    assert maintenance_env(during) == {**maintenance_env(before), READ_ONLY: {"enabled": True}}
    assert maintenance_env(after) == maintenance_env(before)
    changed = {
        r.name for r in during.resources if r.inputs != before.named(r.name).inputs or r.id != before.named(r.name).id
    }
    # The registry container is replaced (env is ForceNew), so its gate runs again; nothing else changes.
    assert changed == {"registry-container", "readiness"}


def test_with_s3_storage_the_maintenance_settings_follow_the_replaced_storage_section() -> None:
    """REGISTRY_STORAGE=s3 replaces the image's storage section; distribution applies the variables sorted, so the
    maintenance ones, longer names of the same prefix, land in the new section (configuration/parser.go)."""
    config = {**OCI, "storage": "s3", "s3Bucket": "packs-bucket", "maintenanceReadOnly": True}
    run = run_program(config, stack="dev")
    envs = [str(entry) for entry in run.named("registry-container").inputs["envs"]]
    assert "REGISTRY_STORAGE=s3" in envs
    assert set(maintenance_env(run)) == {READ_ONLY, PURGE}
    assert "garbageCollectCommand" in run.exports


def test_the_legacy_server_gets_no_maintenance_setting() -> None:
    run = run_program({"uploadPurgeAgeHours": 2}, stack="dev")
    assert maintenance_env(run) == {}
    assert "garbageCollectCommand" not in run.exports


@pytest.mark.parametrize(
    ("docker_host", "expected_host"),
    [
        (None, "unix:///var/run/docker.sock"),
        ("ssh://ops@registry-host", "ssh://ops@registry-host"),
    ],
)
def test_the_garbage_collection_command_is_exported_only_while_read_only(
    docker_host: str | None, expected_host: str
) -> None:
    config = {**OCI, **({"dockerHost": docker_host} if docker_host else {})}
    assert "garbageCollectCommand" not in run_program(config, stack="dev").exports
    exported = run_program({**config, "maintenanceReadOnly": True}, stack="dev").exports["garbageCollectCommand"]
    assert shlex.split(exported) == [
        "docker",
        "-H",
        expected_host,
        "exec",
        "spectro-registry-dev",
        "registry",
        "garbage-collect",
        "--delete-untagged",
        CONFIG_FILE,
    ]


def test_with_several_hosts_the_command_runs_once_on_the_first() -> None:
    config = {
        **OCI,
        "storage": "s3",
        "s3Bucket": "packs-bucket",
        "dockerHosts": ["ssh://ops@host-a", "ssh://ops@host-b"],
        "maintenanceReadOnly": True,
    }
    run = run_program(config, stack="dev")
    assert shlex.split(run.exports["garbageCollectCommand"])[:3] == ["docker", "-H", "ssh://ops@host-a"]
    registries = [r for r in run.all("docker:index/container:Container") if not r.inputs["name"].endswith("-proxy")]
    assert len(registries) == 2
    for registry in registries:
        assert any(str(entry).startswith(READ_ONLY + "=") for entry in registry.inputs["envs"])


def declared_pack(run: ProgramRun) -> dict[str, Any]:
    """The inputs the program declares for the sample pack, reached at a loopback port nothing listens on (a
    request would fail with a connection error)."""
    inputs = {k: v for k, v in run.one(PACK).inputs.items() if v is not None and k != "__provider"}
    return {**inputs, "registry_url": "https://127.0.0.1:1"}


@pytest.fixture(scope="module")
def pack_runs() -> tuple[ProgramRun, ProgramRun]:
    """Two `pulumi up`s of one stack with the sample pack: as deployed, then in maintenance mode."""
    state, config = MockState(), {**OCI, "packs": [str(SAMPLE_PACK)]}
    return (
        run_program(config, stack="dev", state=state),
        run_program({**config, "maintenanceReadOnly": True}, stack="dev", state=state),
    )


@pytest.fixture(scope="module")
def published(pack_runs: tuple[ProgramRun, ProgramRun]) -> dict[str, Any]:
    return declared_pack(pack_runs[0])


@pytest.fixture(scope="module")
def read_only(pack_runs: tuple[ProgramRun, ProgramRun]) -> dict[str, Any]:
    return declared_pack(pack_runs[1])


def test_the_program_marks_every_pack_read_only_in_maintenance_mode_only(
    published: dict[str, Any], read_only: dict[str, Any]
) -> None:
    assert "read_only" not in published
    assert read_only["read_only"] is True
    assert {k: v for k, v in read_only.items() if k != "read_only"} == published


REFUSAL = (
    "pack hello-universe:1.0.0 is not published: config key 'palette-pack-registry:maintenanceReadOnly' is true, so "
    "the registry refuses pushes. Publish it after the maintenance: `pulumi config set maintenanceReadOnly false`, "
    "then `pulumi up`."
)


def test_a_pack_to_publish_fails_its_check_while_read_only_and_an_unchanged_one_does_not(
    published: dict[str, Any], read_only: dict[str, Any]
) -> None:
    """``check`` runs in the preview `pulumi up` starts with: a failure there stops the update before any step
    (pulumi/pulumi pkg/resource/deploy/step_generator.go ``issueCheckFailures``; with no property the engine
    prints "<type> resource '<name>' has a problem: <reason>", one line)."""
    provider = PackProvider()

    created = provider.check({}, read_only)
    assert [(f.property, f.reason) for f in created.failures] == [("", REFUSAL)]
    assert provider.check(published, read_only).failures == []
    # Changed files under the same version (with packsAllowOverwrite: refused otherwise, whatever the mode).
    changed = {**read_only, "content_digest": "sha256:" + "1" * 64, "allow_overwrite": True}
    assert [f.reason for f in provider.check(published, changed).failures] == [REFUSAL]
    moved = {**read_only, "version": "1.0.1"}
    assert [f.reason for f in provider.check(published, moved).failures] == [REFUSAL.replace(":1.0.0", ":1.0.1")]
    # Switching the mode alone is no change: nothing is pushed or recorded on the way in or out.
    outputs = {**published, "reference": "r", "manifest_digest": None, "layer_digest": None, "layer_size": None}
    assert provider.diff("r", outputs, read_only).changes is False
    assert provider.diff("r", {**outputs, "read_only": True}, published).changes is False
    assert provider.check({}, published).failures == []


def test_a_push_found_only_at_create_or_update_is_refused_before_any_request(read_only: dict[str, Any]) -> None:
    with pytest.raises(RuntimeError) as raised:
        PackProvider().create(read_only)
    assert str(raised.value) == REFUSAL


@pytest.fixture
def read_only_registry() -> Any:
    with scripted_registry() as state:
        yield state


def test_the_proxy_answer_to_a_write_in_maintenance_mode_reaches_the_user_as_it_is(
    read_only_registry: Scripted,
) -> None:
    read_only_registry.read_only = True
    client = OciClient(OciTarget(read_only_registry.url, "admin", "pw"))
    with pytest.raises(OciError) as raised:
        client.delete_manifest("packs/x", "sha256:" + "1" * 64)
    message = str(raised.value)
    assert "405" in message and json.loads(READ_ONLY_BODY)["errors"][0]["message"] in message
    assert "REGISTRY_STORAGE_DELETE_ENABLED" not in message, "read-only is not a registry with deletes off"
    read_only_registry.read_only = False
    read_only_registry.deletes = False
    with pytest.raises(OciError, match="REGISTRY_STORAGE_DELETE_ENABLED"):
        client.delete_manifest("packs/x", "sha256:" + "1" * 64)
