"""Golden files: what a released version of the program declared, to compare today's program against.

A golden file (``tests/data/golden/<name>.json``) holds, per URN, what the engine receives for a resource: its
type, parent, inputs, which inputs are secret, and the options that decide what the engine does with it
(provider, dependsOn, property dependencies, aliases, deleteBeforeReplace, replaceOnChanges, retainOnDelete,
additionalSecretOutputs, protect, ignoreChanges). Every value the mocks generate (passwords, bcrypt hashes,
keys, certificates, container ids, image ids) and every secret or generated value of the test's config is
replaced by a stable marker naming where it came from, such as ``<credentials-admin.result>`` or
``<config s3SecretKey>``, so the file is the same on every run and holds no secret.

The files are written once, from a release, and are never rewritten by an ordinary test run: only with
``UPDATE_GOLDEN=1`` (see docs/testing.md, Golden files), and then the test fails once, stating what changed.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Mapping
from typing import Any

from tests.support.harness import DYNAMIC, ProgramRun, Recorded
from tests.support.paths import DATA

GOLDEN_DIR = DATA / "golden"
UPDATE_VARIABLE = "UPDATE_GOLDEN"
_MIN_MARKED = 16
"""Shorter mock outputs (``Pending``, ``tcp``) are not generated secrets and are left alone: replacing
them inside other strings would hide real inputs."""


def _marker_table(run: ProgramRun, config_markers: Mapping[str, str]) -> dict[str, str]:
    """value -> marker, for everything the mock providers generated and the config values named."""
    table: dict[str, str] = {}
    # By URN, not registration order: a value several resources share (every host's image has the same
    # id) is named after the same one on every run.
    for record in sorted(run.resources, key=lambda r: r.urn):
        for key, value in record.outputs.items():
            if isinstance(value, str) and len(value) >= _MIN_MARKED and record.inputs.get(key) != value:
                table.setdefault(value, f"<{record.name}.{key}>")
        if record.id and record.id != f"{record.name}-id" and len(record.id) >= _MIN_MARKED:
            table.setdefault(record.id, f"<{record.name}.id>")
    for key, value in config_markers.items():
        # The config reader strips surrounding whitespace (a PEM's last newline) before use.
        for form in {value, value.strip()} - {""}:
            table.setdefault(form, f"<config {key}>")
    return table


def _provider_marker(pickled: str) -> str:
    import dill

    provider = dill.loads(base64.b64decode(pickled))
    return f"<dynamic provider {type(provider).__module__}.{type(provider).__qualname__}>"


def _substitute(value: Any, table: list[tuple[str, str]]) -> Any:
    if isinstance(value, str):
        for raw, marker in table:
            if raw in value:
                value = value.replace(raw, marker)
        return value
    if isinstance(value, dict):
        return {key: _substitute(item, table) for key, item in value.items()}
    if isinstance(value, list):
        return [_substitute(item, table) for item in value]
    return value


def _entry(record: Recorded, table: list[tuple[str, str]]) -> dict[str, Any]:
    inputs = dict(record.inputs)
    if record.type.startswith(DYNAMIC) and "__provider" in inputs:
        inputs["__provider"] = _provider_marker(inputs["__provider"])
    options = record.options
    provider = options.get("provider")
    return {
        "type": record.type,
        "parent": record.parent,
        # A provider reference is "<urn>::<id>"; the id is the mock's, the URN is what the program chose.
        "provider": provider.rsplit("::", 1)[0] if provider else None,
        "dependsOn": sorted(options["dependencies"]),
        "propertyDependencies": {key: sorted(urns) for key, urns in sorted(options["property_dependencies"].items())},
        "aliases": options["aliases"],
        "deleteBeforeReplace": options["delete_before_replace"],
        "replaceOnChanges": sorted(options["replace_on_changes"]),
        "retainOnDelete": options["retain_on_delete"],
        "additionalSecretOutputs": sorted(options["additional_secret_outputs"]),
        "protect": options["protect"],
        "ignoreChanges": sorted(options["ignore_changes"]),
        "secretInputs": sorted(record.secret_paths),
        "inputs": _substitute(inputs, table),
    }


def snapshot(run: ProgramRun, config_markers: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The golden form of a program run: resources by URN, generated and secret values as markers."""
    table = sorted(_marker_table(run, config_markers or {}).items(), key=lambda item: -len(item[0]))
    resources = {record.urn: _entry(record, table) for record in run.resources}
    return {"resources": dict(sorted(resources.items()))}


def render(snap: Mapping[str, Any]) -> str:
    return json.dumps(snap, indent=2, sort_keys=True) + "\n"


def differences(old: Any, new: Any, path: str = "") -> list[str]:
    """Every difference between two snapshots, in file order: ``<path>: <old> -> <new>``."""
    if isinstance(old, dict) and isinstance(new, dict):
        result = []
        for key in sorted(set(old) | set(new)):
            where = f"{path}[{key!r}]" if path else repr(key)
            if key not in new:
                result.append(f"{where}: removed (was {_short(old[key])})")
            elif key not in old:
                result.append(f"{where}: added {_short(new[key])}")
            else:
                result += differences(old[key], new[key], where)
        return result
    if isinstance(old, list) and isinstance(new, list):
        result = []
        for index in range(max(len(old), len(new))):
            where = f"{path}[{index}]"
            if index >= len(new):
                result.append(f"{where}: removed (was {_short(old[index])})")
            elif index >= len(old):
                result.append(f"{where}: added {_short(new[index])}")
            else:
                result += differences(old[index], new[index], where)
        return result
    if old != new:
        return [f"{path}: {_short(old)} -> {_short(new)}"]
    return []


def _short(value: Any, limit: int = 160) -> str:
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def compare_or_update(name: str, current: Mapping[str, Any]) -> list[str]:
    """The differences between the resources of ``tests/data/golden/<name>.json`` and ``current``'s.

    With ``UPDATE_GOLDEN=1`` the file's resources are rewritten first (its ``stack`` section, the config it
    was recorded with, stays); the differences it had are still returned, so the caller can fail once
    saying what changed.
    """
    path = GOLDEN_DIR / f"{name}.json"
    recorded = load(name)
    changes = differences(recorded["resources"], json.loads(render(current))["resources"], "resources")
    if updating() and changes:
        path.write_text(render({**recorded, "resources": current["resources"]}))
    return changes


def updating() -> bool:
    """Whether this run was asked to rewrite the golden files (``UPDATE_GOLDEN=1``)."""
    return os.environ.get(UPDATE_VARIABLE) == "1"


def load(name: str) -> dict[str, Any]:
    return json.loads((GOLDEN_DIR / f"{name}.json").read_text())


def evaluated_files() -> list[str]:
    """The golden files today's program is evaluated for (a ``frozen`` one records a layout that is gone)."""
    return sorted(path.stem for path in GOLDEN_DIR.glob("*.json") if not load(path.stem)["stack"].get("frozen"))


def _generated_material() -> dict[str, str]:
    """Fresh values for the ``<generated ...>`` config markers: TLS material for a tcp:// Docker daemon."""
    from tests.support.certs import make_ca, make_leaf

    ca, ca_key, ca_cert = make_ca("Docker daemon CA")
    client = make_leaf(ca_key, ca_cert, ["docker-client"], [])
    return {
        "<generated docker-ca-certificate>": ca.certificate_pem,
        "<generated docker-client-certificate>": client.certificate_pem,
        "<generated docker-client-key>": client.key_pem,
    }


def _fill(value: Any, generated: Mapping[str, str]) -> Any:
    return generated.get(value, value) if isinstance(value, str) else value


def evaluate(name: str) -> tuple[ProgramRun, dict[str, Any]]:
    """Today's program for the stack a golden file was recorded with, and its snapshot.

    The file's ``stack`` section holds that config (secret keys listed in ``secretKeys``; generated
    material as ``<generated ...>`` markers, made afresh here); every secret or generated config value is
    a marker in the snapshot, ``<config KEY>``.
    """
    from tests.support.harness import run_program

    stack = load(name)["stack"]
    generated = _generated_material()
    config = {key: _fill(value, generated) for key, value in stack["config"].items()}
    secret_keys = set(stack["secretKeys"])
    run = run_program(config, stack=stack["name"], secrets_=secret_keys, use_stack_file=stack["useStackFile"])
    marked = {key for key, value in stack["config"].items() if key in secret_keys or _fill(value, generated) != value}
    return run, snapshot(run, {key: config[key] for key in sorted(marked)})


def recorded_resources(snap: Mapping[str, Any]) -> list[Recorded]:
    """The golden file's resources as registrations the engine model can replay (aliases, parents)."""
    records = []
    for urn, entry in snap["resources"].items():
        records.append(
            Recorded(
                type=entry["type"],
                name=urn.split("::", 3)[3],
                urn=urn,
                inputs=entry["inputs"],
                outputs={},
                parent=entry["parent"],
                options={"aliases": entry["aliases"], "dependencies": entry["dependsOn"]},
                secret_inputs=set(),
            )
        )
    return records
