"""Day two under the real Pulumi CLI: drift repaired by ``pulumi up --refresh``, a refresh and a destroy with the
registry or Palette down (``deleteUnreachable``), hand deletions, ``--replace``, an interrupted and a killed update.

Engine behaviour these rest on, from pulumi/pulumi v3.276.0:
- a refresh applies each provider's ``Read``; an empty id drops the resource from the state, anything else keeps
  what ``Read`` returned (pkg/resource/deploy/step.go ``RefreshStep.Apply``);
- a failed ``Delete`` stops the destroy before anything that depends on the resource (the engine deletes in
  reverse dependency order: pkg/resource/deploy/step_generator.go ``GenerateDeletes``), so a pack that cannot be
  deleted keeps the gate and the containers;
- a plugin's stderr is shown to the user, line by line (sdk/go/common/resource/plugin/plugin.go ``newPlugin``:
  ``Diag.Infoerrf``): the dynamic providers' warnings reach the user that way;
- SIGINT asks the engine to cancel: steps in flight finish, no new ones start (pkg/backend/cancellation_scope.go,
  ``signal.Notify(... os.Interrupt, syscall.SIGTERM)``); a SIGKILL leaves the file backend's lock, which the next
  operation names with "`pulumi cancel`" (pkg/backend/diy/lock.go), and its pending operations.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from components.dynamic.unreachable import DELETE_UNREACHABLE_ENV, DELETE_UNREACHABLE_KEY
from tests.cli.conftest import StackFactory
from tests.cli.deployment import (
    CONTAINER,
    PACK,
    PACK_REPOSITORY,
    Deployment,
    check_packs,
    containers,
    lines_naming,
    quick_start,
    registration,
    running,
    succeeded,
    unchanged,
)
from tests.support.docker_support import DockerJanitor, docker
from tests.support.palette_fake import FakePalette

OPT_IN = {DELETE_UNREACHABLE_ENV: "true"}


def deployed(
    cli_stack: StackFactory, janitor: DockerJanitor, tmp_path: Path, palette: FakePalette, **kwargs: object
) -> tuple[Deployment, dict]:
    deployment = quick_start("oci", cli_stack, janitor, tmp_path, palette, **kwargs)  # type: ignore[arg-type]
    outputs = succeeded(deployment.stack.up()).outputs
    return deployment, outputs


def registry_container(deployment: Deployment) -> str:
    return containers(deployment.stack)[deployment.config["containerName"]]


def reader(outputs: dict) -> tuple[str, str]:
    return outputs["readOnlyUsers"]["value"][0], outputs["readOnlyPasswords"]["value"][0]


def packs_in_state(deployment: Deployment) -> list[str]:
    return sorted(r["outputs"]["name"] for r in deployment.stack.resources() if r["type"] == PACK)


def test_a_registry_container_removed_by_hand_comes_back_with_up_refresh(
    cli_stack: StackFactory, janitor: DockerJanitor, tmp_path: Path, palette: FakePalette
) -> None:
    deployment, outputs = deployed(cli_stack, janitor, tmp_path, palette)
    gone = registry_container(deployment)
    docker("rm", "--force", "--volumes", gone)

    # Pulumi's rule: drift needs a refresh; a plain up sees no change.
    unchanged(deployment.stack.up())
    repaired = succeeded(deployment.stack.up(refresh=True))
    assert "Traceback" not in repaired.text
    back = registry_container(deployment)
    assert back != gone and running(back)
    assert packs_in_state(deployment) == sorted(deployment.packs)
    check_packs(deployment, outputs, *reader(outputs))
    unchanged(deployment.stack.up(expect_no_changes=True))


def test_a_refresh_with_the_registry_stopped_keeps_every_pack_and_says_so_once(
    cli_stack: StackFactory, janitor: DockerJanitor, tmp_path: Path, palette: FakePalette
) -> None:
    deployment, outputs = deployed(cli_stack, janitor, tmp_path, palette)
    docker("stop", registry_container(deployment))

    refreshed = succeeded(deployment.stack.refresh())
    assert "Traceback" not in refreshed.text
    assert packs_in_state(deployment) == sorted(deployment.packs)
    endpoint = deployment.config["readinessUrl"]
    said = lines_naming(refreshed.text, endpoint, "could not be reached")
    assert len(said) == 1, refreshed.text[-4000:]

    # The refresh recorded the stopped container; the next up starts it again and the packs answer.
    succeeded(deployment.stack.up())
    check_packs(deployment, outputs, *reader(outputs))
    unchanged(deployment.stack.up(expect_no_changes=True))


def test_destroy_with_the_registry_stopped_fails_naming_the_opt_in_and_completes_with_it(
    cli_stack: StackFactory, janitor: DockerJanitor, tmp_path: Path, palette: FakePalette
) -> None:
    deployment, _ = deployed(cli_stack, janitor, tmp_path, palette)
    docker("stop", registry_container(deployment))

    refused = deployment.stack.destroy()
    assert not refused.ok
    assert "Traceback" not in refused.text
    for pack in deployment.packs:
        [line] = lines_naming(refused.text, f"{pack}:1.0.0", "cannot be deleted")
        assert DELETE_UNREACHABLE_ENV in line and DELETE_UNREACHABLE_KEY in line, line
    assert packs_in_state(deployment) == sorted(deployment.packs)
    assert any(r["type"] == CONTAINER for r in deployment.stack.resources())

    released = succeeded(deployment.stack.destroy(env=OPT_IN))
    assert deployment.stack.resources() == []
    assert len(lines_naming(released.text, "released from the state")) >= len(deployment.packs)
    assert registration(deployment) == []
    for name in (deployment.config["containerName"],):
        assert docker("ps", "-aq", "--filter", f"name=^{name}$").strip() == ""


def test_with_palette_down_a_no_change_up_succeeds_and_destroy_needs_the_opt_in(
    cli_stack: StackFactory, janitor: DockerJanitor, tmp_path: Path, palette: FakePalette
) -> None:
    deployment, _ = deployed(cli_stack, janitor, tmp_path, palette)
    [record] = registration(deployment)
    palette_url = palette.url
    palette.close()

    unchanged(deployment.stack.up(expect_no_changes=True))
    refused = deployment.stack.destroy()
    assert not refused.ok
    [line] = lines_naming(refused.text, palette_url, "cannot be deleted")
    assert DELETE_UNREACHABLE_ENV in line and DELETE_UNREACHABLE_KEY in line, line
    assert "Traceback" not in refused.text

    released = succeeded(deployment.stack.destroy(env=OPT_IN))
    assert deployment.stack.resources() == []
    assert lines_naming(released.text, record["metadata"]["name"], "may remain")


def test_a_registration_and_a_pack_deleted_by_hand_come_back(
    cli_stack: StackFactory, janitor: DockerJanitor, tmp_path: Path, palette: FakePalette
) -> None:
    deployment, outputs = deployed(cli_stack, janitor, tmp_path, palette)
    [record] = registration(deployment)
    palette.remove(record["metadata"]["uid"])
    admin = deployment.client(outputs, outputs["adminUser"]["value"], outputs["adminPassword"]["value"])
    pack = next(r["outputs"] for r in deployment.stack.resources() if r["type"] == PACK)
    deleted = admin.request("DELETE", f"/v2/{PACK_REPOSITORY}/{pack['name']}/manifests/{pack['manifest_digest']}")
    assert deleted.status == 202, deleted

    succeeded(deployment.stack.refresh())
    assert pack["name"] not in packs_in_state(deployment)
    again = succeeded(deployment.stack.up())
    assert again.changes.get("create", 0) >= 2, again.changes
    assert len(registration(deployment)) == 1
    check_packs(deployment, outputs, *reader(outputs))
    unchanged(deployment.stack.up(expect_no_changes=True))


def test_up_replace_on_a_pack_keeps_its_tag_in_the_registry(
    cli_stack: StackFactory, janitor: DockerJanitor, tmp_path: Path, palette: FakePalette
) -> None:
    """A targeted replace never asks the provider how to replace (pkg/resource/deploy/step_generator.go ``diff``):
    created first, the new Pack would push ``<name>:1.0.0`` and the old one's delete would then find the tag at
    the same manifest and delete it. Pack says ``delete_before_replace``: the old tag goes, then the push."""
    deployment, outputs = deployed(cli_stack, janitor, tmp_path, palette)
    [pack_urn] = [
        r["urn"]
        for r in deployment.stack.resources()
        if r["type"] == PACK and r["outputs"]["name"] == deployment.packs[0]
    ]

    replaced = succeeded(deployment.stack.up(replace=[pack_urn]))
    assert replaced.changes.get("replace", 0) >= 1, replaced.changes

    assert packs_in_state(deployment) == sorted(deployment.packs)
    check_packs(deployment, outputs, *reader(outputs))


def test_up_replace_on_the_proxy_replaces_it_alone_and_the_registry_is_reached_again(
    cli_stack: StackFactory, janitor: DockerJanitor, tmp_path: Path, palette: FakePalette
) -> None:
    """The registry waits for the proxy through dependsOn only (its inputs name the private network, not the
    proxy), so the engine does not replace it with the proxy (pulumi/pulumi pkg/resource/deploy/step_generator.go
    ``calculateDependentReplacements`` follows property dependencies); the new proxy finds the running registry
    by its alias on the private network."""
    deployment, outputs = deployed(cli_stack, janitor, tmp_path, palette)
    before = containers(deployment.stack)
    registry = deployment.config["containerName"]
    [(proxy_urn, proxy)] = [
        (r["urn"], r["outputs"]["name"])
        for r in deployment.stack.resources()
        if r["type"] == CONTAINER and r["outputs"]["name"] != registry
    ]

    replaced = succeeded(deployment.stack.up(replace=[proxy_urn]))
    assert replaced.changes.get("replace", 0) >= 1, replaced.changes
    after = containers(deployment.stack)
    assert set(after) == set(before)
    assert after[proxy] != before[proxy] and after[registry] == before[registry]
    assert all(running(container) for container in after.values())
    check_packs(deployment, outputs, *reader(outputs))
    unchanged(deployment.stack.up(expect_no_changes=True))


def _start_up_and_signal(deployment: Deployment, signal_number: int) -> None:
    """Starts ``pulumi up``, waits until it has published a first pack, then signals the CLI (SIGINT, as Ctrl-C
    does), or kills it with everything it started (SIGKILL to the process group, as a dying CI runner does)."""
    running_up = deployment.stack.start({"op": "up", "options": {}})
    cli = running_up.cli_pid()
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and not (deployment.stack.state_file.exists() and packs_in_state(deployment)):
        time.sleep(0.05)
    assert packs_in_state(deployment), "no pack was published before the deadline"
    if signal_number == signal.SIGKILL:
        running_up.kill_all()
    else:
        os.kill(cli, signal_number)
    interrupted = running_up.wait()
    assert not interrupted.ok
    return None


MANY = tuple(f"pack-{index:02d}" for index in range(24))


def test_an_up_interrupted_while_publishing_finishes_with_the_next_up(
    cli_stack: StackFactory, janitor: DockerJanitor, tmp_path: Path, palette: FakePalette
) -> None:
    deployment = quick_start("oci", cli_stack, janitor, tmp_path, palette, packs=MANY)
    _start_up_and_signal(deployment, signal.SIGINT)
    assert len(packs_in_state(deployment)) < len(MANY)

    finished = succeeded(deployment.stack.up())
    assert packs_in_state(deployment) == sorted(MANY)
    check_packs(deployment, finished.outputs, *reader(finished.outputs))
    unchanged(deployment.stack.up(expect_no_changes=True))


def test_an_up_killed_while_publishing_recovers_with_cancel_and_clear_pending_creates(
    cli_stack: StackFactory, janitor: DockerJanitor, tmp_path: Path, palette: FakePalette
) -> None:
    deployment = quick_start("oci", cli_stack, janitor, tmp_path, palette, packs=MANY)
    _start_up_and_signal(deployment, signal.SIGKILL)

    locked = deployment.stack.up()
    assert not locked.ok and "pulumi cancel" in locked.text, locked.text[-3000:]
    cancel = deployment.stack.cli("cancel", "--yes", "--stack", deployment.stack.stack)
    assert cancel.returncode == 0, cancel.stdout + cancel.stderr
    succeeded(deployment.stack.refresh(clear_pending_creates=True))

    finished = succeeded(deployment.stack.up())
    assert packs_in_state(deployment) == sorted(MANY)
    check_packs(deployment, finished.outputs, *reader(finished.outputs))
    unchanged(deployment.stack.up(expect_no_changes=True))
