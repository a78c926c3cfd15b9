"""The read-only maintenance mode under the real Pulumi CLI: a pack to publish stops `pulumi up` in its preview, with
one line naming the key, before anything changes; switching the mode replaces the registry container alone and
pushes nothing; the exported garbage collection runs; switching back publishes the pack.

Engine behaviour this rests on, from pulumi/pulumi v3.276.0:
- `pulumi up` previews first unless told ``--skip-preview``, and stops when the preview fails
  (pkg/backend/apply.go ``PreviewThenPromptThenExecute``); a provider's ``Check`` failure fails the preview
  (pkg/resource/deploy/step_generator.go ``issueCheckFailures``: "<type> resource '<name>' has a problem:
  <reason>" when the failure names no property). The Automation API's ``up`` always skips the preview
  (sdk/python/lib/pulumi/automation/_stack.py);
- the dynamic providers get the whole stack config (pkg/resource/deploy/target.go ``GetPackageConfig``), so a new
  config value alone is an update of their default provider, not of their resources.
"""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

from components.instance.proxy import READ_ONLY_BODY
from tests.cli.conftest import StackFactory
from tests.cli.deployment import (
    PACK,
    PACK_REPOSITORY,
    check_packs,
    containers,
    lines_naming,
    quick_start,
    sample_packs,
    succeeded,
)
from tests.cli.pulumi_cli import CliStack
from tests.support.docker_support import DockerJanitor


def pushes(stack: CliStack) -> dict[str, str]:
    """Each pack's push id: a new one means the pack was pushed again."""
    return {r["outputs"]["name"]: r["outputs"]["push_id"] for r in stack.resources() if r["type"] == PACK}


def test_maintenance_mode_stops_a_publish_early_collects_garbage_and_ends(
    cli_stack: StackFactory, janitor: DockerJanitor, tmp_path: Path
) -> None:
    deployment = quick_start("oci", cli_stack, janitor, tmp_path, None, packs=("hello-universe",))
    outputs = succeeded(deployment.stack.up()).outputs
    stack = deployment.stack
    assert "garbageCollectCommand" not in outputs
    before, pushed = containers(stack), pushes(stack)
    [galaxy] = sample_packs(tmp_path / "more", ("hello-galaxy",))
    packs = [*deployment.config["packs"], str(galaxy)]

    # Read-only and a new pack in one run: the preview `pulumi up` starts with fails, one line, and `pulumi up`
    # stops there (the programs are served inline here, so the Automation API's preview stands for it).
    stack.configure({"maintenanceReadOnly": True, "packs": packs})
    previewed = stack.preview()
    assert not previewed.ok
    [line] = lines_naming(previewed.text, "maintenanceReadOnly")
    assert "pack-hello-galaxy@1.0.0" in line and "has a problem: pack hello-galaxy:1.0.0 is not published" in line
    assert "`pulumi config set maintenanceReadOnly false`, then `pulumi up`" in line
    assert "Traceback" not in previewed.text
    assert containers(stack) == before and pushes(stack) == pushed

    # Without the preview (`--skip-preview`, the Automation API's up) the registry goes read-only as configured,
    # and the pack fails the same way when it is registered: nothing is pushed.
    skipped = stack.up()
    assert not skipped.ok
    assert lines_naming(skipped.text, "maintenanceReadOnly") == [line]
    assert pushes(stack) == pushed
    proxy, registry = f"{deployment.config['containerName']}-proxy", deployment.config["containerName"]
    now = containers(stack)
    assert now[proxy] == before[proxy] and now[registry] != before[registry]

    # Read-only alone: nothing more to change, and the pack stays as it is.
    stack.configure({}, remove=["packs[1]"])
    during = succeeded(stack.up()).outputs
    assert containers(stack) == now and pushes(stack) == pushed
    admin = deployment.client(during, during["adminUser"]["value"], during["adminPassword"]["value"])
    answer = admin.request("POST", f"/v2/{PACK_REPOSITORY}/hello-galaxy/blobs/uploads/", body=b"")
    assert (answer.status, answer.body.decode()) == (405, READ_ONLY_BODY)
    collected = subprocess.run(
        shlex.split(during["garbageCollectCommand"]["value"]), capture_output=True, text=True, timeout=300, check=False
    )
    assert collected.returncode == 0, collected.stdout + collected.stderr
    reader = (during["readOnlyUsers"]["value"][0], during["readOnlyPasswords"]["value"][0])
    check_packs(deployment, during, *reader)

    # Out of maintenance, with the new pack: published; the command is gone.
    stack.configure({"maintenanceReadOnly": False, "packs": packs})
    after = succeeded(stack.up()).outputs
    assert "garbageCollectCommand" not in after
    deployment.packs = ["hello-universe", "hello-galaxy"]
    check_packs(deployment, after, *reader)
    assert pushes(stack)["hello-universe"] == pushed["hello-universe"]
