"""Packs as code in the program, under Pulumi mocks: which Pack resources it declares, with what, after what,
and how the Palette registration learns that packs changed.

Assertions are on the declared inputs and dependencies (what the engine receives).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from components.pack_archive import pack_content
from tests.program.test_oci_kind import EXISTING_CONFIG, EXISTING_SECRETS
from tests.support.harness import PALETTE, READINESS, ProgramRun, run_program
from tests.support.paths import SAMPLE_PACK

PACK = "pulumi-python:dynamic/packs:Pack"
OCI: dict[str, Any] = {"registryKind": "oci", "packs": ["tests/data/packs/hello-universe"]}
PALETTE_ON: dict[str, Any] = {"hosts": ["registry.example.com"], "paletteApiKey": "k" * 24}


@pytest.fixture(scope="module")
def packs_run() -> ProgramRun:
    return run_program({**OCI, **PALETTE_ON}, stack="dev", secrets_={"paletteApiKey"})


def test_each_pack_is_pushed_as_the_admin_through_the_first_instance_with_tls_for_the_endpoint(
    packs_run: ProgramRun,
) -> None:
    pack = packs_run.one(PACK)
    content = pack_content(SAMPLE_PACK)
    assert pack.name == "pack-hello-universe@1.0.0"
    assert (pack.inputs["name"], pack.inputs["version"]) == ("hello-universe", "1.0.0")
    assert pack.inputs["pack_dir"] == str(SAMPLE_PACK)
    assert pack.inputs["content_digest"] == content.content_digest
    assert pack.inputs["files"] == content.files and "pack.json" in content.files
    assert pack.inputs["registry_url"] == packs_run.exports["instanceEndpoints"][0]
    assert pack.inputs["server_name"] == "registry.example.com"
    assert pack.inputs["ca_certificate"] == packs_run.exports["caCertificate"]
    assert pack.inputs["repository"] == "packs/spectro-packs/archive"
    assert pack.inputs["username"] == "admin"
    assert pack.inputs["password"] == packs_run.exports["adminPassword"]
    assert "password" in pack.secret_inputs


def test_packs_are_pushed_once_every_instance_is_ready_and_palette_syncs_after_them(packs_run: ProgramRun) -> None:
    pack = packs_run.one(PACK)
    gates = {gate.urn for gate in packs_run.all(READINESS)}
    assert gates and gates <= set(pack.options["dependencies"])
    registration = packs_run.one(PALETTE)
    assert pack.urn in registration.options["property_dependencies"]["sync_trigger"]
    assert isinstance(registration.inputs["sync_trigger"], str) and len(registration.inputs["sync_trigger"]) == 64


def test_without_packs_the_registration_has_no_sync_trigger() -> None:
    run = run_program({"registryKind": "oci", **PALETTE_ON}, stack="dev", secrets_={"paletteApiKey"})
    assert "sync_trigger" not in run.one(PALETTE).inputs
    assert run.all(PACK) == []


def test_delete_unreachable_reaches_the_packs_and_the_registration_only_when_on(packs_run: ProgramRun) -> None:
    """Off (the default), neither declares it: a stack from before the key keeps exactly its inputs."""
    assert "delete_unreachable" not in packs_run.one(PACK).inputs
    assert "delete_unreachable" not in packs_run.one(PALETTE).inputs
    run = run_program({**OCI, **PALETTE_ON, "deleteUnreachable": True}, stack="dev", secrets_={"paletteApiKey"})
    assert run.one(PACK).inputs["delete_unreachable"] is True
    assert run.one(PALETTE).inputs["delete_unreachable"] is True


def test_packs_with_the_legacy_kind_are_refused_before_anything_exists() -> None:
    with pytest.raises(Exception, match=r"'palette-pack-registry:packs'.*registryKind is legacy.*registryKind oci"):
        run_program({"packs": ["tests/data/packs/hello-universe"]}, stack="dev")


def test_a_pack_without_logo_warns(tmp_path: Path) -> None:
    copy = tmp_path / "hello-universe"
    shutil.copytree(SAMPLE_PACK, copy)
    (copy / "logo.png").unlink()
    run = run_program({**OCI, "packs": [str(copy)]}, stack="dev")
    assert any("logo.png" in message for message in run.warnings)


def test_an_existing_registry_gets_the_packs_pushed_as_its_push_user() -> None:
    config = {**EXISTING_CONFIG, "packs": [str(SAMPLE_PACK)]}
    run = run_program(config, stack="existing", use_stack_file=False, secrets_=EXISTING_SECRETS)
    pack = run.one(PACK)
    assert (pack.inputs["registry_url"], pack.inputs["server_name"]) == ("https://127.0.0.1:8443", "harbor.example.com")
    assert (pack.inputs["username"], pack.inputs["password"]) == ("robot", "push-password-0123456789")
    assert "ca_certificate" not in pack.inputs or pack.inputs["ca_certificate"] is None
    assert run.one(READINESS).urn in pack.options["dependencies"]
