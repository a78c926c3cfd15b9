"""The README's quick start under the real Pulumi CLI, the way Pulumi's own ``integration.ProgramTest`` runs a
program: preview, up, an up that must change nothing, refresh, another no-change up, a password rotation, destroy,
each step's result checked against the real Docker engine, the registry, the Palette fake and the state file.

What is real: the CLI, its engine (steps, diffs, replacement order, secrets), the file backend's state, the Python
SDK, the dynamic providers (gate, bcrypt, Palette, packs) run by ``pulumi-resource-pulumi-python``. What stands in:
the Python language host (the Automation API's inline program runs ``__main__.py``: tests/cli/stack_command.py) and
the docker, tls and random provider plugins (tests/cli/plugins).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from components.instance import proxy as oci_proxy
from components.kinds import legacy
from tests.cli.conftest import StackFactory
from tests.cli.deployment import (
    CONTAINER,
    Deployment,
    check_packs,
    containers,
    quick_start,
    registration,
    running,
    succeeded,
    unchanged,
)
from tests.support.docker_support import DockerJanitor, docker, file_in_container, inspect_container
from tests.support.palette_fake import FakePalette


def generated_secrets(deployment: Deployment, outputs: dict[str, Any]) -> dict[str, str]:
    """What the stack generated or was given as a secret, in plain text, from where it is used: the passwords
    (outputs), the HTTP secret (the registry's env), the TLS key (the file the server reads), the Palette key."""
    found = {"adminPassword": outputs["adminPassword"]["value"]}
    for index, password in enumerate(outputs["readOnlyPasswords"]["value"]):
        found[f"readOnlyPasswords[{index}]"] = password
    name = deployment.config["containerName"]
    ids = containers(deployment.stack)
    env = json.loads(docker("inspect", "--format", "{{json .Config.Env}}", ids[name]))
    [http_secret] = [item.split("=", 1)[1] for item in env if item.startswith("REGISTRY_HTTP_SECRET=")]
    found["REGISTRY_HTTP_SECRET"] = http_secret
    if deployment.kind == "oci":
        [proxy] = [cid for container, cid in ids.items() if container != name]
        key = file_in_container(proxy, oci_proxy.KEY_FILE).decode()
    else:
        key = file_in_container(ids[name], legacy.KEY_FILE).decode()
    found["tls key"] = json.dumps(key)[1:-1]
    # The key's base64 body, line by line, but for the lines that only carry the public key (the state holds
    # that in plain text, and in the same base64 alignment): no other line of it may appear anywhere.
    public = serialization.load_pem_private_key(key.encode(), None).public_key()
    public_body = "".join(
        public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
        .splitlines()[1:-1]
    )
    for number, line in enumerate(line for line in key.splitlines() if "-----" not in line):
        if line not in public_body:
            found[f"tls key line {number}"] = line
    if deployment.palette is not None:
        found["paletteApiKey"] = deployment.palette.api_key
    return found


def assert_nowhere(secrets: dict[str, str], text: str, where: str) -> None:
    leaked = sorted(name for name, value in secrets.items() if value and value in text)
    assert not leaked, f"{where} holds in plain text: {leaked}"


@pytest.mark.parametrize("kind", ["legacy", "oci"])
def test_quick_start_preview_up_refresh_rotate_destroy(
    kind: str, cli_stack: StackFactory, janitor: DockerJanitor, tmp_path: Path, palette: FakePalette
) -> None:
    deployment = quick_start(kind, cli_stack, janitor, tmp_path, palette if kind == "oci" else None)
    stack, config = deployment.stack, deployment.config

    preview = succeeded(stack.preview())
    assert preview.changes.get("create", 0) > 0, preview.changes
    assert not any(r["type"] == CONTAINER for r in stack.resources()) if stack.state_file.exists() else True

    first = succeeded(stack.up())
    outputs = first.outputs
    reader, password = outputs["readOnlyUsers"]["value"][0], outputs["readOnlyPasswords"]["value"][0]
    assert outputs["readOnlyPasswords"]["secret"] and outputs["adminPassword"]["secret"]
    catalog = deployment.client(outputs, reader, password).get(deployment.catalog_path)
    assert catalog.status == 200, catalog
    before = containers(stack)
    assert config["containerName"] in before and all(running(cid) for cid in before.values())
    network = f"{config['containerName']}-network"
    if kind == "oci":
        # The registry on the instance's private network only, under its alias; the proxy on "bridge" too.
        ids = containers(stack)
        registry_networks = inspect_container(ids[config["containerName"]])["NetworkSettings"]["Networks"]
        assert set(registry_networks) == {network}
        assert oci_proxy.REGISTRY_HOST in registry_networks[network]["Aliases"]
        proxy_networks = inspect_container(ids[f"{config['containerName']}-proxy"])["NetworkSettings"]["Networks"]
        assert set(proxy_networks) == {"bridge", network}
        check_packs(deployment, outputs, reader, password)
        [record] = registration(deployment)
        assert record["spec"]["endpoint"] == outputs["endpoint"]["value"]
        assert outputs["paletteRegistrationUid"]["value"] == record["metadata"]["uid"]
        assert outputs["paletteRegistrationName"]["value"] == record["metadata"]["name"]

    secrets = generated_secrets(deployment, outputs)
    assert_nowhere(secrets, stack.state_file.read_text(), "the state file")

    unchanged(stack.up(expect_no_changes=True))
    unchanged(stack.refresh())
    unchanged(stack.up(expect_no_changes=True))
    assert containers(stack) == before

    stack.configure({"rotationKeeper": "2"})
    diff = succeeded(stack.preview(diff=True))
    assert diff.changes.get("replace", 0) > 0, diff.changes
    assert_nowhere(secrets, diff.stdout, "pulumi preview --diff")
    rotated = succeeded(stack.up())
    assert rotated.changes.get("replace", 0) > 0, rotated.changes
    after = containers(stack)
    assert set(after) == set(before) and not set(after.values()) & set(before.values())
    new_password = rotated.outputs["readOnlyPasswords"]["value"][0]
    assert new_password != password
    assert deployment.client(outputs, reader, new_password).get(deployment.catalog_path).status == 200
    assert deployment.client(outputs, reader, password).get(deployment.catalog_path).status == 401
    if kind == "oci":
        check_packs(deployment, outputs, reader, new_password)
    secrets |= {f"new {name}": value for name, value in generated_secrets(deployment, rotated.outputs).items()}
    assert_nowhere(secrets, stack.state_file.read_text(), "the state file")
    unchanged(stack.up(expect_no_changes=True))

    succeeded(stack.destroy())
    assert stack.resources() == []
    for name in before:
        assert docker("ps", "-aq", "--filter", f"name=^{name}$").strip() == ""
    assert docker("volume", "ls", "-q", "--filter", f"name=^{config['dataVolume']}$").strip() == config["dataVolume"]
    assert docker("network", "ls", "-q", "--filter", f"name=^{network}$").strip() == ""
    if kind == "oci":
        assert registration(deployment) == []


def test_a_refused_registration_fails_up_and_the_next_up_completes(
    cli_stack: StackFactory, janitor: DockerJanitor, tmp_path: Path, palette: FakePalette
) -> None:
    deployment = quick_start("oci", cli_stack, janitor, tmp_path, palette)
    palette.validate_error = (400, "registry endpoint is not reachable from Palette")

    refused = deployment.stack.up()
    assert not refused.ok
    assert "registry endpoint is not reachable from Palette" in refused.text
    assert registration(deployment) == []

    palette.validate_error = None
    succeeded(deployment.stack.up())
    assert len(registration(deployment)) == 1
    unchanged(deployment.stack.up(expect_no_changes=True))
