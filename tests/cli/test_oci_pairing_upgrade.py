"""An OCI stack deployed by the version that put the registry in its proxy's network namespace, moved to the private
network by one `pulumi up` of this version, under the real CLI.

The old version is the program and components of NAMESPACE_LAYOUT_COMMIT, frozen in OLD_VERSION: they deploy the
stack (with this version's stand-in plugins: the CLI starts them with the operation's PYTHONPATH, the old components
first on it); then this version's program runs `pulumi up` on the same stack and state. The program-layer check of
the same upgrade, against frozen golden files, is tests/program/test_oci_pairing_upgrade.py.
"""

from __future__ import annotations

import os
import re
import shutil
import tarfile
from pathlib import Path

from tests.cli.conftest import StackFactory
from tests.cli.deployment import check_packs, containers, quick_start, running, succeeded, unchanged
from tests.cli.plugins.environment import ROOT
from tests.support.docker_support import DockerJanitor, inspect_container
from tests.support.palette_fake import FakePalette

NAMESPACE_LAYOUT_COMMIT = "59de3805c46de7c0436fca979a714a6a90e7447c"
"""The last commit whose OCI kind joins the registry to its proxy's namespace (``network_mode: container:<id>``)."""

OLD_VERSION = ROOT / "tests" / "data" / "upgrade" / "namespace-layout.tar.gz"
"""That commit's program and components, frozen (``git archive --format=tar.gz <commit> -- Pulumi.yaml __main__.py
components``), so the test needs no history in the clone (tests/project/test_frozen_versions.py holds it to the
commit where the history is there)."""


def _old_version(target: Path) -> Path:
    """The old version's program and components (``OLD_VERSION``), extracted into ``target``."""
    with tarfile.open(OLD_VERSION) as files:
        files.extractall(target, filter="data")
    return target


def test_an_oci_stack_of_the_namespace_layout_moves_to_the_private_network_in_one_up(
    cli_stack: StackFactory, janitor: DockerJanitor, tmp_path: Path, palette: FakePalette
) -> None:
    old = _old_version(tmp_path / "old-version")
    deployment = quick_start("oci", cli_stack, janitor, tmp_path, palette)
    stack, config = deployment.stack, deployment.config
    new_files = {name: (stack.project_dir / name).read_bytes() for name in ("Pulumi.yaml", "__main__.py")}
    for name in new_files:
        shutil.copy2(old / name, stack.project_dir / name)
    # The old components first; the stand-in plugins and the operation runner are this version's (tests/ is not frozen).
    old_env = {"PYTHONPATH": os.pathsep.join([str(old), str(ROOT)])}

    first = succeeded(stack.up(env=old_env))
    outputs = first.outputs
    reader = (outputs["readOnlyUsers"]["value"][0], outputs["readOnlyPasswords"]["value"][0])
    before = containers(stack)
    registry, proxy = config["containerName"], f"{config['containerName']}-proxy"
    full_proxy_id = inspect_container(before[proxy])["Id"]
    assert inspect_container(before[registry])["HostConfig"]["NetworkMode"] == f"container:{full_proxy_id}"

    for name, content in new_files.items():
        (stack.project_dir / name).write_bytes(content)
    moved = succeeded(stack.up())
    print(f"\n[upgrade] first up of this version: {moved.changes}, the up command {moved.cli_seconds:.1f} s")
    # Created: the private network; besides it, issue 22's cost-4 hash of each generated password and the packs'
    # proof of a later version (this run moves from the namespace layout to today's program in one up).
    created = sorted(re.findall(r"^ \+  (\S+) (\S+) created", moved.stdout, flags=re.MULTILINE))
    assert [kind for kind, _ in created if kind == "docker:index:Network"] == ["docker:index:Network"], created
    assert moved.changes.get("create", 0) == len(created), (moved.changes, created)
    assert {kind for kind, _ in created} <= {
        "docker:index:Network",
        "pulumi-python:dynamic/registry:BcryptHash",
        "pulumi-python:dynamic/palette:PackProof",
    }, created
    assert moved.changes.get("replace", 0) >= 2, moved.changes
    assert not moved.changes.get("delete"), moved.changes
    after = containers(stack)
    assert set(after) == set(before) and not set(after.values()) & set(before.values())
    assert all(running(container) for container in after.values())
    network = f"{config['containerName']}-network"
    assert set(inspect_container(after[registry])["NetworkSettings"]["Networks"]) == {network}
    assert moved.outputs["readOnlyPasswords"]["value"][0] == reader[1], "the passwords stay"
    check_packs(deployment, moved.outputs, *reader)
    unchanged(stack.up(expect_no_changes=True))
