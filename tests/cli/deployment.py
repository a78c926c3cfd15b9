"""A stack of the README's quick start run by the real CLI, and what the real-CLI tests check it with: the
containers the state records, the packs' tags in the registry, the registration in the Palette fake."""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.cli.conftest import StackFactory
from tests.cli.pulumi_cli import CliStack, Result
from tests.support.docker_support import STANDIN_IMAGE, DockerJanitor, docker
from tests.support.oci_support import OCI_STANDIN_IMAGE, PROXY_STANDIN_IMAGE
from tests.support.palette_fake import FakePalette
from tests.support.palette_support import FAST_HTTP_ENV
from tests.support.paths import SAMPLE_PACK
from tests.support.registry_client import RegistryClient
from tests.support.tls_support import free_port

CONTAINER = "docker:index/container:Container"
PACK = "pulumi-python:dynamic/packs:Pack"
PACK_REPOSITORY = "packs/spectro-packs/archive"


def succeeded(result: Result) -> Result:
    assert result.ok, f"pulumi {result.op} failed:\n{result.text[-6000:]}"
    return result


def unchanged(result: Result) -> None:
    succeeded(result)
    assert result.changed() == {}, f"pulumi {result.op} changed {result.changed()}:\n{result.stdout[-4000:]}"


def sample_packs(folder: Path, names: Sequence[str] = ("hello-universe", "hello-galaxy")) -> list[Path]:
    """The sample pack under each of ``names``, in a folder of the test's."""
    made = []
    for name in names:
        pack = shutil.copytree(SAMPLE_PACK, folder / name)
        manifest = json.loads((pack / "pack.json").read_text())
        manifest.update(name=name, displayName=name.replace("-", " ").title())
        (pack / "pack.json").write_text(json.dumps(manifest, indent=2))
        made.append(pack)
    return made


@dataclass
class Deployment:
    """A stack of the quick start and what the test set on it."""

    stack: CliStack
    config: dict[str, Any]
    kind: str
    palette: FakePalette | None = None
    packs: list[str] = field(default_factory=list)

    catalog_path: str = "/v2/_catalog"
    """Both stand-in servers serve distribution's catalog."""
    server_name: str = "localhost"
    """The name the registry's certificate is checked for (the endpoint's host)."""

    def client(self, outputs: dict[str, Any], user: str, password: str) -> RegistryClient:
        return RegistryClient(
            f"https://127.0.0.1:{self.config['port']}",
            ca_certificate=outputs["caCertificate"]["value"],
            server_name=self.server_name,
            username=user,
            password=password,
        )


def quick_start(
    kind: str,
    cli_stack: StackFactory,
    janitor: DockerJanitor,
    tmp_path: Path,
    palette: FakePalette | None,
    packs: Sequence[str] = ("hello-universe", "hello-galaxy"),
) -> Deployment:
    """The committed dev stack (Pulumi.dev.yaml), on a free port, with names of the test's own and the stand-in
    images; the OCI kind publishes two packs and registers in the Palette fake."""
    stack = cli_stack("dev", env=dict(FAST_HTTP_ENV))
    config: dict[str, Any] = {
        "port": free_port(),
        "containerName": janitor.name("spectro-registry-dev"),
        "dataVolume": janitor.name("spectro-registry-dev-data"),
    }
    secrets: list[str] = []
    deployment = Deployment(stack, config, kind, palette)
    if kind == "oci":
        deployment.packs = list(packs)
        config |= {
            "registryKind": "oci",
            "image": OCI_STANDIN_IMAGE,
            "proxyImage": PROXY_STANDIN_IMAGE,
            "packs": [str(path) for path in sample_packs(tmp_path / "packs", packs)],
        }
        if not packs:
            del config["packs"]
    else:
        # The legacy stand-in is Debian's distribution: it serves /v2/ where spectro-registry serves /health and
        # /v1/ (tests/support/docker_support.py), so its gate polls those paths.
        config |= {"image": STANDIN_IMAGE, "readinessHealthPath": "/v2/", "readinessCatalogPath": "/v2/_catalog"}
    if palette is not None:
        # Palette cannot reach a loopback name: the endpoint is a name of the test's, which this machine reaches
        # at 127.0.0.1 (readinessUrl), as a user's machine reaches a registry behind a load balancer.
        deployment.server_name = "registry.test"
        # The fake's sync reads the registry at that name as Palette would (tests/support/palette_sync.py), so the
        # program's proof (components/palette/proof.py) finds each pack listed with its values.
        palette.reads_registries = True
        palette.addresses[deployment.server_name] = "127.0.0.1"
        config |= {
            "hosts": [deployment.server_name],
            "readinessUrl": f"https://127.0.0.1:{config['port']}",
            "paletteApiUrl": palette.url,
            "paletteApiKey": palette.api_key,
        }
        secrets.append("paletteApiKey")
    janitor.volumes.append(config["dataVolume"])
    stack.configure(config, secrets=secrets)
    return deployment


def containers(stack: CliStack) -> dict[str, str]:
    """Container name -> id, as the state records them."""
    return {r["outputs"]["name"]: r["id"] for r in stack.resources() if r["type"] == CONTAINER}


def running(container_id: str) -> bool:
    return docker("inspect", "--format", "{{.State.Running}}", container_id, check=False).strip() == "true"


def registration(deployment: Deployment) -> list[dict[str, Any]]:
    """The Palette fake's registrations of the stack (every one, so a duplicate shows)."""
    assert deployment.palette is not None
    return [
        record
        for record in deployment.palette.registries.values()
        if record["spec"]["endpoint"] == f"https://{deployment.server_name}:{deployment.config['port']}"
    ]


def check_packs(deployment: Deployment, outputs: dict[str, Any], user: str, password: str) -> None:
    """Every pack's tag answers with the manifest the state recorded for it, to the read-only user."""
    client = deployment.client(outputs, user, password)
    recorded = {r["outputs"]["name"]: r["outputs"] for r in deployment.stack.resources() if r["type"] == PACK}
    assert sorted(recorded) == sorted(deployment.packs)
    for name, pack in recorded.items():
        answer = client.request(
            "HEAD",
            f"/v2/{PACK_REPOSITORY}/{name}/manifests/{pack['version']}",
            headers={"Accept": "application/vnd.oci.image.manifest.v1+json"},
        )
        assert answer.status == 200, (name, answer.status)
        assert answer.headers["docker-content-digest"] == pack["manifest_digest"]


def diagnostics(text: str) -> str:
    """The CLI's "Diagnostics:" section, where each message appears once (the progress rows above repeat the
    latest message of each resource while it runs)."""
    if "Diagnostics:" not in text:
        return ""
    section = text.split("Diagnostics:", 1)[1]
    for end in ("\nOutputs:", "\nResources:"):
        section = section.split(end, 1)[0]
    return section


def lines_naming(text: str, *needles: str) -> list[str]:
    return [line for line in diagnostics(text).splitlines() if all(needle in line for needle in needles)]
