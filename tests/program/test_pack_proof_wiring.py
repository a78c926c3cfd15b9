"""The Palette proof in the program, under Pulumi mocks: one PackProof after the registration and every pack, with
what each pack published and where its values.yaml is; none without packs, registration or sync; its proven packs
exported as ``packs`` (components/palette/proof.py, docs/packs.md "Palette proves every pack")."""

from __future__ import annotations

from typing import Any

from components.packs.archive import pack_content
from tests.program.test_packs_wiring import OCI, PACK, PALETTE_ON
from tests.support.harness import PALETTE, run_program
from tests.support.paths import SAMPLE_PACK

PROOF = "pulumi-python:dynamic/palette:PackProof"


def _run(**config: Any):
    return run_program({**OCI, **PALETTE_ON, **config}, stack="dev", secrets_={"paletteApiKey"})


def test_the_proof_follows_the_registration_and_every_pack_with_what_each_published() -> None:
    run = _run(paletteSyncTimeoutSeconds=120)
    proof, pack, registration = run.one(PROOF), run.one(PACK), run.one(PALETTE)
    assert proof.name == "palette-packs"
    assert {pack.urn, registration.urn} <= set(proof.options["dependencies"])
    assert proof.options["property_dependencies"]["registry_uid"] == [registration.urn]
    assert proof.options["property_dependencies"]["packs"] == [pack.urn]
    assert proof.inputs["registry_uid"] == registration.outputs["uid"]
    assert proof.inputs["registration"] == registration.inputs["name"]
    assert proof.inputs["api_url"] == registration.inputs["api_url"]
    assert proof.inputs["timeout_seconds"] == 120
    assert proof.inputs["packs"] == {
        "hello-universe:1.0.0": {
            "name": "hello-universe",
            "version": "1.0.0",
            # The mocks give the pack no manifest digest: on the engine it is the Pack's output.
            "values_sha256": pack_content(SAMPLE_PACK).files["values.yaml"],
            "values_file": str(SAMPLE_PACK / "values.yaml"),
        }
    }
    assert "packs" in run.exports


def test_no_proof_and_no_packs_output_without_packs_registration_or_sync() -> None:
    for run in (
        run_program({"registryKind": "oci", **PALETTE_ON}, stack="dev", secrets_={"paletteApiKey"}),
        run_program(OCI, stack="dev"),
        _run(paletteSync=False),
    ):
        assert run.all(PROOF) == []
        assert "packs" not in run.exports
