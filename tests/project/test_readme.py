"""The tables and commands of the README and docs/configuration.md stay true to Pulumi.yaml, the exports, .ci/run."""

from __future__ import annotations

import json
import re
from typing import Any

import yaml

from components.config import SECRET_KEYS
from tests.support.harness import run_program
from tests.support.paths import ROOT

README = (ROOT / "README.md").read_text()
CONFIGURATION = (ROOT / "docs" / "configuration.md").read_text()
PALETTE_EXPORTS = {"paletteRegistrationUid", "paletteRegistrationName", "paletteSyncStatus"}
OCI_EXPORTS = {"packRepository", "pushCommand"}
MAINTENANCE_EXPORTS = {"garbageCollectCommand"}


def table(page: str, heading: str) -> list[list[str]]:
    """The rows (header left out) of the table in ``page``'s section ``## heading``."""
    section = page.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ")]
    return [[cell.strip() for cell in row.strip("|").split(" | ")] for row in rows[1:]]


def _default(value: Any) -> str:
    if value is None or value == "":
        return "(empty)"
    if isinstance(value, bool):
        return f"`{'true' if value else 'false'}`"
    if isinstance(value, list):
        return f"`{json.dumps(value)}`"
    return f"`{value}`"


def test_configuration_table_matches_pulumi_yaml() -> None:
    declared = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["config"]
    rows = {row[0].strip("`"): row for row in table(CONFIGURATION, "Every key")}
    assert list(rows) == list(declared), "same keys, same order"
    for key, spec in declared.items():
        type_ = spec["type"] + (f"<{spec['items']['type']}>" if spec["type"] == "array" else "")
        _, row_type, row_default, row_secret, row_description = rows[key]
        assert row_type == type_, key
        assert row_default == _default(spec.get("default")), key
        assert row_secret == ("yes" if key in SECRET_KEYS else "no"), key
        assert not spec.get("secret"), f"{key}: the CLI refuses a secret key with a default (pulumi/pulumi#21865)"
        assert row_description == spec["description"], key
        assert "default" in spec, f"{key} has no default: Pulumi would require it in every stack"


def test_common_keys_table_gives_declared_keys_with_their_defaults_and_secrecy() -> None:
    declared = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["config"]
    rows = table(README, "Common keys")
    assert len(rows) >= 8, rows
    for key_cell, default, _ in rows:
        key = key_cell.split("`")[1]
        assert key in declared, key_cell
        assert default == _default(declared[key].get("default")), key
        assert key_cell.endswith("(secret)") == (key in SECRET_KEYS), key_cell


def test_outputs_table_matches_the_exports_of_both_kinds() -> None:
    config = {"hosts": ["registry.example.com"], "paletteApiKey": "palette-api-key-0123456789"}
    legacy = run_program(config, secrets_={"paletteApiKey"})
    oci = run_program({**config, "registryKind": "oci"}, secrets_={"paletteApiKey"})
    maintenance = run_program(
        {**config, "registryKind": "oci", "maintenanceReadOnly": True}, secrets_={"paletteApiKey"}
    )
    packs = run_program(
        {**config, "registryKind": "oci", "packs": ["tests/data/packs/hello-universe"]}, secrets_={"paletteApiKey"}
    )
    rows = {row[0].strip("`"): row[1] for row in table(README, "Outputs")}
    assert set(rows) == set(legacy.exports) | set(maintenance.exports) | set(packs.exports)
    assert set(packs.exports) - set(oci.exports) == {"packs"}
    assert set(oci.exports) - set(legacy.exports) == OCI_EXPORTS
    assert set(maintenance.exports) - set(oci.exports) == MAINTENANCE_EXPORTS
    assert PALETTE_EXPORTS <= set(legacy.exports) & set(oci.exports)
    for run in (legacy, oci, maintenance, packs):
        for key in run.exports:
            assert (rows[key] == "yes") == (key in run.secret_exports), key


def test_ci_runs_the_readme_test_command() -> None:
    run_the_tests = README.split("## Run the tests\n", 1)[1].split("\n## ", 1)[0]
    (block,) = re.findall(r"```bash\n(.*?)```", run_the_tests, re.S)
    test_command = block.strip()
    ci_lines = [line for line in (ROOT / ".ci" / "run").read_text().splitlines() if line and not line.startswith("#")]
    assert ci_lines[-1].strip() == test_command


def test_deploy_command_uses_the_local_backend_and_the_dev_stack() -> None:
    quick_start = README.split("## Quick start\n", 1)[1]
    deploy = re.findall(r"```bash\n(.*?)```", quick_start, re.S)[0]
    assert 'PULUMI_BACKEND_URL="file://' in deploy
    assert "PULUMI_CONFIG_PASSPHRASE=" in deploy
    assert "pulumi stack select dev --create" in deploy and deploy.strip().endswith("pulumi up")
    assert (ROOT / "Pulumi.dev.yaml").exists()
