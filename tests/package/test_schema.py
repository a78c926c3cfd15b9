"""The package schema: one argument per config key (type, description, default), one output per program export.

The schema is the one the SDK's component provider host infers and returns from ``GetSchema``, which is what
``pulumi package add`` / ``pulumi package get-schema`` receive (pulumi/pulumi
sdk/python/lib/pulumi/provider/experimental/component.py ``ComponentProvider.__init__``: ``Analyzer.analyze`` then
``generate_schema``; provider/server.py ``GetSchema``). The analyzer reads the argument types from the ``args``
annotation of ``__init__`` (a TypedDict), the outputs from the class's annotations, and each description from the
string after the annotation, parsed from the source (analyzer.py ``analyze_component``, ``get_docstring``). Its
schema has no ``default`` (schema.py ``Property.to_json``), so each description ends with the default.

To accept a deliberate schema change, regenerate the snapshot: ``UPDATE_SNAPSHOTS=1 .venv/bin/python -m pytest
tests/package/test_schema.py``.
"""

from __future__ import annotations

import difflib
import json
import os
from typing import Any

from components.config import SECRET_KEYS
from components.pack_registry.outputs import PACK_OUTPUTS, PALETTE_OUTPUTS, SECRET_OUTPUTS
from components.pack_registry.package import TYPE_TOKEN
from components.pack_registry.package_args import PackRegistryArgs
from components.project import declared_config
from scripts.generate_package_args import SECRET_NOTE, TARGET, render
from tests.program.test_oci_kind import EXISTING_CONFIG, EXISTING_SECRETS
from tests.support.harness import ProgramRun, run_program
from tests.support.package_support import SNAPSHOT, declared, schema
from tests.support.paths import ROOT, SAMPLE_PACK

SCHEMA_TYPES = {"string": "string", "integer": "integer", "boolean": "boolean", "array": "array"}


def _resource() -> dict[str, Any]:
    return schema()["resources"][TYPE_TOKEN]


def _missing(label: str, names: set[str]) -> str:
    return f"{label}: {', '.join(sorted(names))}" if names else ""


def test_schema_matches_the_committed_snapshot() -> None:
    actual = json.dumps(schema(), indent=2, sort_keys=True) + "\n"
    if os.environ.get("UPDATE_SNAPSHOTS"):
        SNAPSHOT.parent.mkdir(exist_ok=True)
        SNAPSHOT.write_text(actual, encoding="utf-8")
    expected = SNAPSHOT.read_text(encoding="utf-8")
    if actual != expected:
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(keepends=True),
                actual.splitlines(keepends=True),
                fromfile=str(SNAPSHOT.relative_to(ROOT)),
                tofile="schema the host generates now",
            )
        )
        raise AssertionError(f"the package schema changed (UPDATE_SNAPSHOTS=1 to accept it):\n{diff}")


def test_the_schema_names_the_package_and_its_one_component() -> None:
    generated = schema()
    assert generated["name"] == "palette-pack-registry"
    assert generated["version"] == "0.1.0"
    assert list(generated["resources"]) == [TYPE_TOKEN]
    assert generated["resources"][TYPE_TOKEN]["isComponent"] is True
    assert generated.get("types", {}) == {}, "every argument is a string, number, boolean or list of strings"


def test_the_packs_output_maps_name_version_to_what_a_cluster_profile_references() -> None:
    """``packs``: a map (keyed ``name:version``) of maps of strings (name, version, packUid, registryUid), optional."""
    resource = _resource()
    packs = resource["properties"]["packs"]
    assert packs["type"] == "object"
    assert packs["additionalProperties"]["type"] == "object"
    assert packs["additionalProperties"]["additionalProperties"]["type"] == "string"
    assert "packUid" in packs["description"] and "registryUid" in packs["description"]
    assert "packs" not in resource["required"]


def test_every_config_key_is_an_argument_and_every_argument_a_config_key() -> None:
    """Fails after a key is added to Pulumi.yaml until `scripts/generate_package_args.py` has run."""
    keys = set(declared())
    arguments = set(_resource()["inputProperties"])
    problems = [
        _missing("config keys without an argument (run scripts/generate_package_args.py)", keys - arguments),
        _missing("arguments without a config key (run scripts/generate_package_args.py)", arguments - keys),
    ]
    assert not any(problems), "\n".join(p for p in problems if p)


def test_the_arguments_module_is_generated_from_the_current_pulumi_yaml() -> None:
    expected = render(declared_config(), SECRET_KEYS)
    actual = TARGET.read_text(encoding="utf-8")
    if actual != expected:
        stale = sorted(set(declared()) ^ set(PackRegistryArgs.__annotations__))
        changed = [line for line in difflib.unified_diff(actual.splitlines(), expected.splitlines(), lineterm="")]
        raise AssertionError(
            f"{TARGET.relative_to(ROOT)} is out of date with Pulumi.yaml (keys added or removed: {stale or 'none'}); "
            "run `.venv/bin/python scripts/generate_package_args.py`:\n" + "\n".join(changed)
        )


def test_every_argument_has_the_keys_type_description_and_default() -> None:
    """The type of the config key, its description (a secret key's says the value is kept secret instead of how to
    set it with --secret) and its default, for every argument; all optional, as every key has a default."""
    resource = _resource()
    assert resource["requiredInputs"] == []
    wrong = []
    for key, spec in declared().items():
        argument = resource["inputProperties"].get(key)
        if argument is None:
            continue  # reported by the test above
        kind = SCHEMA_TYPES[spec["type"]]
        if argument.get("type") != kind:
            wrong.append(f"{key}: type {argument.get('type')!r}, config type {kind!r}")
        if kind == "array" and argument.get("items", {}).get("type") != spec["items"]["type"]:
            wrong.append(f"{key}: items {argument.get('items')!r}, config items {spec['items']!r}")
        description = argument.get("description") or ""
        default = f" Default: `{json.dumps(spec.get('default'))}`."
        if not description.endswith(default):
            wrong.append(f"{key}: description does not end with{default} ({description!r})")
        text = description.removesuffix(default)
        if key in SECRET_KEYS:
            if SECRET_NOTE not in text or "--secret" in text:
                wrong.append(
                    f"{key}: a secret argument's description must say {SECRET_NOTE!r}, not how to use --secret"
                )
            continue
        if text != spec["description"].strip():
            wrong.append(f"{key}: description {text!r} is not the config key's {spec['description']!r}")
    assert not wrong, "\n".join(wrong)


PALETTE_ON = {"hosts": ["registry.example.com", "localhost"], "paletteApiKey": "palette-api-key-0123456789abcdef"}
"""Registration on: an API key, and an endpoint Palette can reach (the dev stack's localhost keeps it off)."""


def _palette_run() -> ProgramRun:
    return run_program(PALETTE_ON, secrets_={"paletteApiKey"}, stack="dev")


def _packs_run() -> ProgramRun:
    """Packs published and proven in Palette (the ``packs`` output)."""
    packs = {"registryKind": "oci", "packs": [str(SAMPLE_PACK)]}
    return run_program({**PALETTE_ON, **packs}, secrets_={"paletteApiKey"}, stack="dev")


def test_every_output_is_a_program_export_with_a_description(dev_run: ProgramRun) -> None:
    """The outputs are what __main__.py exports, the Palette ones included (off in the dev stack); those the
    program always exports with a value (the certificate ones are none in http mode) are required."""
    resource = _resource()
    outputs = resource["properties"]
    maintenance = run_program({"registryKind": "oci", "maintenanceReadOnly": True}, stack="dev")
    exported = set(_palette_run().exports) | set(maintenance.exports) | set(_packs_run().exports)
    problems = [
        _missing("program exports without a package output", exported - set(outputs)),
        _missing("package outputs the program does not export", set(outputs) - exported),
    ]
    assert not any(problems), "\n".join(p for p in problems if p)
    assert set(PALETTE_OUTPUTS) <= exported and not set(PALETTE_OUTPUTS) & set(dev_run.exports)
    assert set(PACK_OUTPUTS) <= exported and not set(PACK_OUTPUTS) & set(dev_run.exports)
    http = run_program({"tlsMode": "http", "allowInsecureHttp": True}, stack="dev")
    http_exports = {name for name, value in http.exports.items() if value is not None}
    existing = run_program(EXISTING_CONFIG, stack="existing", use_stack_file=False, secrets_=EXISTING_SECRETS)
    assert sorted(resource["required"]) == sorted(set(dev_run.exports) & http_exports & set(existing.exports))
    for name, output in outputs.items():
        assert output.get("description"), f"output {name} has no description"
    for name in SECRET_OUTPUTS:
        assert "Secret" in outputs[name]["description"]


def test_every_secret_config_key_is_a_secret_input_of_the_schema() -> None:
    """The component makes a secret argument secret once it runs (components/package.py ``_settings``), but the
    value has already travelled: the caller's SDK registers the component with its inputs (Construct carries
    them), and the engine records them in the caller's state as the component's inputs. Pulumi's code generators
    wrap an input only when the schema says ``secret: true``: pkg/codegen/nodejs/gen.go ``genResource``,
    ``if prop.Secret { arg = "args?.x ? pulumi.secret(args.x) : undefined" }`` (the same for the other
    languages). The schema the host infers has no ``secret`` (the pinned SDK's analyzer cannot express it), so a
    TypeScript or YAML program that passes ``ociPushPassword``, ``palettePassword``, ``dockerKey``... as a plain
    string (as docs/package.md's examples pass ``port`` or ``hosts``) would keep it in plain text in its own state.
    The schema GetSchema returns (and the snapshot, tests/data/snapshots/package_schema.json) marks every config
    key of ``SECRET_KEYS`` as a ``secret`` input (the outputs are secret by their values at run time, which is
    enough)."""
    inputs = schema()["resources"][TYPE_TOKEN]["inputProperties"]
    not_secret = sorted(key for key in SECRET_KEYS if not inputs[key].get("secret"))
    assert not_secret == [], f"the schema lets callers pass these in plain text: {not_secret}"
