"""Palette proves every published pack, under the real Pulumi CLI: a deployed OCI registry with two packs, the Palette
fake syncing for real (it reads the registry with the registered read-only user and CA and parses each pack:
tests/support/palette_sync.py). ``pulumi up`` returns once Palette lists both packs with the values pushed, and
exports each pack's UID; a no-change ``pulumi up`` makes no Palette call; a pack Palette cannot parse fails
``pulumi up`` with one line naming it (components/palette/proof.py, docs/packs.md "Palette proves every pack"). The
same holds for an existing registry (``ociEndpoint``) that the test starts itself.

Engine behaviour this rests on (pulumi/pulumi v3.276.0): an update whose ``Diff`` reports no change is a same step
and calls no ``Create``/``Update`` (pkg/resource/deploy/step_generator.go ``generateSteps``), and a failed
``Update`` fails ``pulumi up`` with the provider's message among the diagnostics (pkg/resource/deploy/step.go
``UpdateStep.Apply``), the old state kept.
"""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from pathlib import Path

import requests
import yaml

from components.packs.oci_client import OciClient, OciTarget
from tests.cli.conftest import StackFactory
from tests.cli.deployment import (
    PACK_REPOSITORY,
    Deployment,
    lines_naming,
    quick_start,
    registration,
    sample_packs,
    succeeded,
    unchanged,
)
from tests.support.docker_support import DockerJanitor
from tests.support.pack_push_support import SERVER_NAME, existing_registry_config, start_oci_registry
from tests.support.palette_fake import FakePalette
from tests.support.palette_spec import listing_validator
from tests.support.palette_support import FAST_HTTP_ENV

PACKS = ("hello-universe", "hello-galaxy")


def listed_values(palette: FakePalette, uid: str, name: str, version: str = "1.0.0") -> object:
    """The values Palette lists for the pack version (parsed), through the fake's API as the program reads it."""
    answer = requests.get(
        f"{palette.url}/v1/packs/{name}/registries/{uid}", headers={"ApiKey": palette.api_key}, timeout=5
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    listing_validator().validate(body)
    [tag] = [tag for tag in body["tags"] if tag["version"] == version]
    [entry] = [entry for entry in body["packValues"] if entry["packUid"] == tag["packUid"]]
    return yaml.safe_load(entry["values"])


def pack_folder(deployment: Deployment, name: str) -> Path:
    [folder] = [Path(p) for p in deployment.config["packs"] if Path(p).name == name]
    return folder


def test_up_returns_once_palette_lists_both_packs_with_their_values_and_exports_their_uids(
    cli_stack: StackFactory, janitor: DockerJanitor, tmp_path: Path, palette: FakePalette
) -> None:
    deployment = quick_start("oci", cli_stack, janitor, tmp_path, palette, packs=PACKS)
    stack = deployment.stack

    outputs = succeeded(stack.up()).outputs
    [record] = registration(deployment)
    uid = record["metadata"]["uid"]
    assert outputs["paletteRegistrationUid"]["value"] == uid
    # Palette read the registry as the read-only user the program registered, and skipped nothing.
    assert record["spec"]["auth"]["username"] == outputs["readOnlyUsers"]["value"][0]
    assert palette.synced[uid].reads and palette.skipped(uid) == {}
    assert outputs["packs"]["value"] == {
        f"{name}:1.0.0": {
            "name": name,
            "version": "1.0.0",
            "packUid": palette.pack_uid(uid, name, "1.0.0"),
            "registryUid": uid,
        }
        for name in PACKS
    }
    for name in PACKS:
        pushed = yaml.safe_load((pack_folder(deployment, name) / "values.yaml").read_text())
        assert listed_values(palette, uid, name) == pushed

    palette.reset_calls()
    unchanged(stack.up(expect_no_changes=True))
    assert palette.requests == [], [r.target for r in palette.requests]

    # New values under a new version: published, synced, proven with the new values under the new version's UID.
    bump(pack_folder(deployment, "hello-universe"), "1.1.0", replicas=3)
    changed = succeeded(stack.up()).outputs["packs"]["value"]
    assert listed_values(palette, uid, "hello-universe", "1.1.0")["manifests"]["hello-universe"]["replicas"] == 3
    assert sorted(changed) == ["hello-galaxy:1.0.0", "hello-universe:1.1.0"]
    assert changed["hello-universe:1.1.0"]["packUid"] == palette.pack_uid(uid, "hello-universe", "1.1.0")
    assert changed["hello-galaxy:1.0.0"] == outputs["packs"]["value"]["hello-galaxy:1.0.0"]


def bump(folder: Path, version: str, *, replicas: int) -> None:
    """A change of the pack published as a new version (a published version never changes: docs/packs.md)."""
    manifest = json.loads((folder / "pack.json").read_text())
    (folder / "pack.json").write_text(json.dumps({**manifest, "version": version}, indent=2))
    values = folder / "values.yaml"
    values.write_text(values.read_text().replace("replicas: 1", f"replicas: {replicas}"))


def broken_layer(name: str) -> bytes:
    """A layer whose pack.json no JSON parser reads."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for relative, content in ((f"{name}/pack.json", b"{not json"), (f"{name}/values.yaml", b"")):
            info = tarfile.TarInfo(relative)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    return gzip.compress(raw.getvalue(), mtime=0)


def test_a_pack_palette_cannot_parse_fails_up_naming_that_pack(
    cli_stack: StackFactory, janitor: DockerJanitor, tmp_path: Path, palette: FakePalette
) -> None:
    deployment = quick_start("oci", cli_stack, janitor, tmp_path, palette, packs=PACKS)
    stack = deployment.stack
    stack.configure({"paletteSyncTimeoutSeconds": 5})
    outputs = succeeded(stack.up()).outputs

    # hello-universe changes (a new version); just before the sync that follows its push, the new version's artifact
    # becomes one Palette cannot parse (until then Palette lists what it read before: the old version only).
    admin = OciClient(
        OciTarget(
            f"https://127.0.0.1:{deployment.config['port']}",
            "admin",
            outputs["adminPassword"]["value"],
            server_name=deployment.server_name,
            ca_certificate=outputs["caCertificate"]["value"],
        )
    )

    def spoil() -> None:
        repository = f"{PACK_REPOSITORY}/hello-universe"
        admin.push_pack(repository, "1.1.0", broken_layer("hello-universe"), "hello-universe-1.1.0.tar.gz")

    palette.before_next(spoil, method="POST", path=r"/basic/sync$")
    bump(pack_folder(deployment, "hello-universe"), "1.1.0", replicas=2)

    failed = stack.up()
    assert not failed.ok
    [uid] = [record["metadata"]["uid"] for record in registration(deployment)]
    [(skipped, reason)] = palette.skipped(uid).items()
    assert skipped == f"{PACK_REPOSITORY}/hello-universe:1.1.0" and "pack.json is not JSON" in reason
    [line] = lines_naming(failed.text, "pack hello-universe:1.1.0 is not proven")
    assert "after 5s: Palette lists only the versions 1.0.0 of it" in line and "pack.json" in line, line
    assert lines_naming(failed.text, "pack hello-galaxy:1.0.0 is not proven") == []


def test_an_existing_registry_the_test_starts_is_proven_the_same_way(
    cli_stack: StackFactory, janitor: DockerJanitor, tmp_path: Path, palette: FakePalette, standin_image: str
) -> None:
    """``ociEndpoint``: a registry the program does not deploy (the stand-in, TLS with its own CA, one user)."""
    registry = start_oci_registry(janitor, standin_image, tmp_path)
    palette.reads_registries = True
    palette.addresses[SERVER_NAME] = "127.0.0.1"
    stack = cli_stack("existing", env=dict(FAST_HTTP_ENV))
    folders = sample_packs(tmp_path / "packs", PACKS)
    stack.configure(
        existing_registry_config(registry, palette.url, palette.api_key, folders),
        secrets=["ociPushPassword", "paletteApiKey"],
    )

    outputs = succeeded(stack.up()).outputs
    uid = outputs["paletteRegistrationUid"]["value"]
    assert palette.skipped(uid) == {}
    assert {key: entry["packUid"] for key, entry in outputs["packs"]["value"].items()} == {
        f"{name}:1.0.0": palette.pack_uid(uid, name, "1.0.0") for name in PACKS
    }
    for folder in folders:
        assert listed_values(palette, uid, folder.name) == yaml.safe_load((folder / "values.yaml").read_text())
    palette.reset_calls()
    unchanged(stack.up(expect_no_changes=True))
    assert palette.requests == []
