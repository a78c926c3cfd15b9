"""A published pack version never changes silently, under the real Pulumi CLI: a changed file under the same version
stops `pulumi preview` (and `pulumi up`) with one line naming the pack, the version, the changed file and the fix,
before anything is pushed; with ``packsAllowOverwrite`` the change is pushed to the same tag; a version bump
publishes the new version and removes the old one.

Engine behaviour this rests on, from pulumi/pulumi v3.276.0:
- ``Check`` gets the resource's old inputs for an update (pkg/resource/deploy/step_generator.go ``generateSteps``:
  ``OldInputs`` unless the resource is new, re-created or replaced), which the Python SDK's dynamic provider host
  passes on as ``check(olds, news)`` (sdk/python/lib/pulumi/dynamic/__main__.py ``Check``);
- a ``Check`` failure fails the preview, and the update (which checks again: the Automation API's ``up`` skips the
  preview), with "<type> resource '<name>' has a problem: <reason>" (``issueCheckFailures``);
- a new resource name (``pack-<name>@<version>``) is created, and what the program no longer declares is deleted
  at the end of the run (``GenerateDeletes``).
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.conftest import StackFactory
from tests.cli.deployment import PACK, PACK_REPOSITORY, check_packs, lines_naming, quick_start, succeeded
from tests.cli.pulumi_cli import CliStack
from tests.support.docker_support import DockerJanitor
from tests.support.palette_fake import FakePalette


def published(stack: CliStack) -> dict[str, tuple[str, str]]:
    """Each pack in the state: name -> (version, manifest digest)."""
    return {
        r["outputs"]["name"]: (r["outputs"]["version"], r["outputs"]["manifest_digest"])
        for r in stack.resources()
        if r["type"] == PACK
    }


def test_a_changed_pack_is_refused_at_preview_pushed_with_the_opt_in_and_a_version_bump_replaces_it(
    cli_stack: StackFactory, janitor: DockerJanitor, tmp_path: Path, palette: FakePalette
) -> None:
    deployment = quick_start("oci", cli_stack, janitor, tmp_path, palette, packs=("hello-universe",))
    stack = deployment.stack
    outputs = succeeded(stack.up()).outputs
    reader = (outputs["readOnlyUsers"]["value"][0], outputs["readOnlyPasswords"]["value"][0])
    pack = Path(deployment.config["packs"][0])
    first = published(stack)

    (pack / "values.yaml").write_text("replicas: 2\n")
    previewed = stack.preview()
    assert not previewed.ok
    [line] = lines_naming(previewed.text, "already published with other files")
    assert "pack-hello-universe@1.0.0" in line and "has a problem: pack hello-universe:1.0.0 is already" in line
    assert "(values.yaml)" in line
    assert f'bump "version" in {pack}/pack.json' in line and "packsAllowOverwrite true" in line
    assert "Traceback" not in previewed.text
    refused = stack.up()
    assert not refused.ok and lines_naming(refused.text, "already published with other files") == [line]
    assert published(stack) == first
    check_packs(deployment, outputs, *reader)

    stack.configure({"packsAllowOverwrite": True})
    succeeded(stack.up())
    overwritten = published(stack)
    assert overwritten["hello-universe"][0] == "1.0.0"
    assert overwritten["hello-universe"][1] != first["hello-universe"][1]
    check_packs(deployment, outputs, *reader)

    stack.configure({"packsAllowOverwrite": False})
    manifest = json.loads((pack / "pack.json").read_text())
    (pack / "pack.json").write_text(json.dumps({**manifest, "version": "1.0.1"}))
    (pack / "values.yaml").write_text("replicas: 3\n")
    succeeded(stack.up())
    assert [version for version, _ in published(stack).values()] == ["1.0.1"]
    check_packs(deployment, outputs, *reader)
    client = deployment.client(outputs, *reader)
    tags = client.request("GET", f"/v2/{PACK_REPOSITORY}/hello-universe/tags/list")
    assert tags.status == 200 and json.loads(tags.body)["tags"] == ["1.0.1"]
