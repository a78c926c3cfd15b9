"""A program's Pack under the Pulumi mocks: its type, its inputs as the preview shows them, and secrecy."""

from __future__ import annotations

from components.packs.archive import pack_content
from tests.support.harness import run_program
from tests.support.paths import PROGRAMS, SAMPLE_PACK

PROGRAM = PROGRAMS / "one_pack.py"
PACK = "pulumi-python:dynamic/packs:Pack"


def test_a_pack_is_declared_with_its_files_and_a_secret_password() -> None:
    run = run_program({"adminPassword": "Adm1n-pw-for-mocks"}, secrets_={"adminPassword"}, program_file=PROGRAM)

    pack = run.one(PACK)
    assert pack.name == "pack-hello-universe-1.0.0"
    assert pack.inputs["files"] == pack_content(SAMPLE_PACK).files
    assert set(pack.inputs["files"]) == {
        "README.md",
        "logo.png",
        "manifests/hello-universe.yaml",
        "pack.json",
        "values.yaml",
    }
    assert pack.inputs["content_digest"] == pack_content(SAMPLE_PACK).content_digest
    # The SDK always marks the serialized provider secret (pulumi/dynamic/dynamic.py serialize_as_secret_always).
    assert pack.secret_inputs - {"__provider"} == {"password"}
    assert "password" in pack.options["additional_secret_outputs"]
