"""The component package from a YAML program under the real Pulumi CLI and the real YAML language host:
preview, up, a no-change up, refresh, destroy.

The YAML host asks the package's plugin for its schema and the engine calls its ``Construct``; the plugin is the
repository's ``provider/`` run by ``package_plugin/pulumi-resource-palette-pack-registry`` (a stand-in for the
Python host's ``RunPlugin``). The resources it declares run under the stand-in docker, tls and random plugins and
the SDK's dynamic providers, as the program's do.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import yaml

from tests.cli.conftest import StackFactory
from tests.cli.pulumi_cli import CliStack
from tests.support.docker_support import STANDIN_IMAGE, DockerJanitor, docker
from tests.support.registry_client import RegistryClient
from tests.support.tls_support import free_port

PACKAGE_PLUGIN = Path(__file__).resolve().parent / "package_plugin"


def yaml_project(folder: Path, properties: dict[str, Any]) -> Path:
    """A YAML program with one PackRegistry, using the package's plugin from ``PACKAGE_PLUGIN``."""
    folder.mkdir(parents=True)
    project = {
        "name": "package-consumer",
        "runtime": "yaml",
        "plugins": {"providers": [{"name": "palette-pack-registry", "path": str(PACKAGE_PLUGIN)}]},
        "resources": {"packs": {"type": "palette-pack-registry:index:PackRegistry", "properties": properties}},
        "outputs": {
            "endpoint": "${packs.endpoint}",
            "caCertificate": "${packs.caCertificate}",
            "readOnlyUsers": "${packs.readOnlyUsers}",
            "readOnlyPasswords": "${packs.readOnlyPasswords}",
        },
    }
    (folder / "Pulumi.yaml").write_text(yaml.safe_dump(project, sort_keys=False))
    return folder


def run(stack: CliStack, *args: str) -> subprocess.CompletedProcess:
    result = stack.cli(*args, "--stack", stack.stack)
    assert result.returncode == 0, f"pulumi {' '.join(args)} failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    return result


def test_the_package_from_a_yaml_program_preview_up_refresh_destroy(
    cli_stack: StackFactory, janitor: DockerJanitor, tmp_path: Path
) -> None:
    port = free_port()
    properties = {
        "hosts": ["localhost"],
        "ipAddresses": ["127.0.0.1"],
        "port": port,
        "bindAddress": "127.0.0.1",
        "containerName": janitor.name("spectro-registry-yaml"),
        "dataVolume": janitor.name("spectro-registry-yaml-data"),
        "image": STANDIN_IMAGE,
        "readinessHealthPath": "/v2/",
        "readinessCatalogPath": "/v2/_catalog",
    }
    janitor.volumes.append(properties["dataVolume"])
    stack = cli_stack("dev", project_dir=yaml_project(tmp_path / "consumer", properties))
    stack.project = "package-consumer"
    init = stack.cli("stack", "init", "dev")
    assert init.returncode == 0, init.stderr

    preview = run(stack, "preview")
    assert "palette-pack-registry:index:PackRegistry" in preview.stdout
    run(stack, "up", "--yes", "--skip-preview")
    outputs = json.loads(run(stack, "stack", "output", "--json", "--show-secrets").stdout)
    client = RegistryClient(
        f"https://127.0.0.1:{port}",
        ca_certificate=outputs["caCertificate"],
        server_name="localhost",
        username=outputs["readOnlyUsers"][0],
        password=outputs["readOnlyPasswords"][0],
    )
    assert client.get("/v2/_catalog").status == 200
    plain = json.loads(run(stack, "stack", "output", "--json").stdout)
    assert plain["readOnlyPasswords"] == "[secret]"

    run(stack, "up", "--yes", "--skip-preview", "--expect-no-changes")
    run(stack, "refresh", "--yes", "--skip-preview", "--expect-no-changes")
    run(stack, "up", "--yes", "--skip-preview", "--expect-no-changes")

    run(stack, "destroy", "--yes", "--skip-preview")
    assert stack.resources() == []
    assert docker("ps", "-aq", "--filter", f"name=^{properties['containerName']}$").strip() == ""
