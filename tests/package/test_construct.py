"""The package component's construct under Pulumi mocks: the program's resources and outputs, the config's refusals.

``ComponentProvider.construct`` is what the host's ``Construct`` runs once it has deserialized the inputs: it maps
the schema names onto the TypedDict (integers from the wire become ``int``) and calls the class with them
(pulumi/pulumi sdk/python/lib/pulumi/provider/experimental/component.py ``construct``, ``map_input_properties``); an
exception from the class comes out wrapped in ``ComponentInitError`` (pulumi/provider/server.py).

The program's resources move under the package component (a new layout, for new stacks only), each with the same
type, name and inputs; the program itself keeps its URNs (tests/program/test_pack_registry_upgrades.py).
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pulumi
import pytest
from pulumi.provider.server import ComponentInitError

from components.config import PROJECT, SECRET_KEYS, ConfigError
from components.pack_registry.package import TYPE_TOKEN
from tests.config.test_refusals import BAD
from tests.support.config_values import BASE, parse
from tests.support.harness import MockState, ProgramRun, as_config_string, run_program
from tests.support.package_support import (
    as_argument,
    declared,
    package_state,
    package_urn,
    run_package,
    stack_arguments,
)

STACK_URN = f"urn:pulumi:dev::{PROJECT}::pulumi:pulumi:Stack::{PROJECT}-dev"
PACKAGE_URN = f"urn:pulumi:dev::{PROJECT}::{TYPE_TOKEN}::pack-registry"


def _moved(urn: str | None) -> str | None:
    """The parent a program resource has under the package: the program's top component hangs off the package's."""
    if urn == STACK_URN:
        return PACKAGE_URN
    return package_urn(urn) if urn else urn


def _same_as_program(program: ProgramRun, package: ProgramRun) -> list[str]:
    differences = []
    extra = {r.urn for r in package.resources} - {package_urn(r.urn) for r in program.resources}
    if extra != {PACKAGE_URN}:
        differences.append(f"resources only the package declares: {sorted(extra - {PACKAGE_URN})}")
    for resource in program.resources:
        urn = package_urn(resource.urn)
        found = [r for r in package.resources if r.urn == urn]
        if not found:
            differences.append(f"{resource.type} {resource.name}: not declared by the package")
            continue
        twin = found[0]
        if twin.inputs != resource.inputs:
            keys = sorted(k for k in {*twin.inputs, *resource.inputs} if twin.inputs.get(k) != resource.inputs.get(k))
            differences.append(f"{resource.type} {resource.name}: inputs differ in {keys}")
        if twin.parent != _moved(resource.parent):
            differences.append(f"{resource.type} {resource.name}: parent {twin.parent}, expected {resource.parent}")
        if twin.secret_paths != resource.secret_paths:
            differences.append(
                f"{resource.type} {resource.name}: secret {twin.secret_paths} != {resource.secret_paths}"
            )
        expected_options = {
            "dependencies": sorted(package_urn(urn) for urn in resource.options["dependencies"]),
            # A provider reference is <provider URN>::<id>.
            "provider": package_urn(resource.options["provider"]) if resource.options["provider"] else None,
        }
        for option, expected in expected_options.items():
            got = sorted(twin.options[option]) if option == "dependencies" else twin.options[option]
            if got != expected:
                differences.append(f"{resource.type} {resource.name}: {option} {got} != {expected}")
    return differences


def _program_and_package(
    config: dict[str, Any], secrets: set[str] | None = None
) -> tuple[ProgramRun, ProgramRun, MockState]:
    state = MockState()
    program = run_program(config, stack="dev", state=state, secrets_=secrets)
    arguments = {**stack_arguments("dev"), **{key: as_argument(key, value) for key, value in config.items()}}
    moved = package_state(state)
    package = run_package(arguments, state=moved)
    return program, package, moved


def test_construct_declares_the_programs_resources_with_the_same_inputs_for_the_dev_stack() -> None:
    """The dev stack's config as arguments: every resource of the program, same type, name, inputs, parent chain,
    secrets and dependencies, under one more component; given the program's remembered outputs, nothing new is
    generated (the generated material's inputs are the same too)."""
    program, package, moved = _program_and_package({})
    assert _same_as_program(program, package) == []
    assert moved.generated == 0
    component = package.by_urn(PACKAGE_URN)
    assert component.type == TYPE_TOKEN and component.parent == STACK_URN


def test_construct_outputs_are_the_programs_exports_secret_where_they_are() -> None:
    program, package, _ = _program_and_package({})
    assert package.exports == {key: value for key, value in program.exports.items() if value is not None}
    assert package.secret_exports == program.secret_exports == {"adminPassword", "readOnlyPasswords"}


def test_construct_with_registration_and_secrets_matches_the_program() -> None:
    """Palette on, an API key and a supplied admin password: the same registration and outputs; a secret argument
    passed as a plain string is kept secret like the program's --secret config."""
    config = {
        "hosts": ["registry.example.com", "localhost"],
        "paletteApiKey": "palette-api-key-0123456789abcdef",
        "adminPassword": "supplied-admin-password-0123456789",
    }
    program, package, _ = _program_and_package(config, secrets={"paletteApiKey", "adminPassword"})
    assert _same_as_program(program, package) == []
    assert {"paletteRegistrationUid", "paletteRegistrationName", "paletteSyncStatus"} <= set(package.exports)
    assert package.exports["adminPassword"] == config["adminPassword"]
    assert "adminPassword" in package.secret_exports
    for resource in package.resources:
        assert config["adminPassword"] not in repr(
            {k: v for k, v in resource.inputs.items() if k not in resource.secret_inputs}
        )


def test_unset_arguments_take_the_config_defaults() -> None:
    """No argument but a host: the program with only that key set (Pulumi.yaml's defaults for the rest)."""
    state = MockState()
    program = run_program({"hosts": ["registry.example.com"]}, stack="dev", state=state, use_stack_file=False)
    package = run_package({"hosts": ["registry.example.com"]}, state=package_state(state))
    assert _same_as_program(program, package) == []


def _typed(overrides: dict[str, Any]) -> dict[str, Any] | None:
    """The overrides as typed arguments, or None when one cannot be one (a string for a list, a word for a number):
    the schema's types refuse those before the component runs."""
    arguments = {}
    for key, value in overrides.items():
        kind = declared()[key]["type"]
        if kind == "integer":
            if isinstance(value, str) and re.fullmatch(r"[+-]?[0-9]+", value):
                value = int(value)
            if not isinstance(value, int) or isinstance(value, bool):
                return None
        elif kind == "boolean" and not isinstance(value, bool):
            return None
        elif (kind == "array") != isinstance(value, list):
            return None
        arguments[key] = as_config_string(value) if kind == "string" else value
    return arguments


REFUSALS = [row for row in BAD if _typed(row[1]) is not None]


def _refusal(arguments: dict[str, Any]) -> Exception:
    with pytest.raises(ComponentInitError) as caught:
        run_package(arguments)
    return caught.value.inner


@pytest.mark.parametrize(("overrides", "key", "words"), [row[1:] for row in REFUSALS], ids=[row[0] for row in REFUSALS])
def test_a_bad_argument_is_refused_with_the_configs_message_naming_it(
    overrides: dict[str, Any], key: str, words: str
) -> None:
    """Every refusal of tests/config/test_refusals.py's table that typed arguments can express: the same one-line
    message, its problem and fix, naming the argument instead of the config key; nothing registered; no secret
    echoed."""
    with pytest.raises(ConfigError) as program:
        parse(overrides)
    typed = _typed({**BASE, **overrides})
    assert typed is not None
    error = _refusal(typed)
    expected = str(program.value).replace(f"config key '{PROJECT}:{key}':", f"{TYPE_TOKEN} argument '{key}':", 1)
    assert str(error) == expected
    assert isinstance(error, pulumi.RunError) and "\n" not in str(error) and words in str(error)
    for secret_key in SECRET_KEYS:
        value = overrides.get(secret_key)
        if isinstance(value, str) and len(value) > 8:
            assert value not in str(error)


def test_most_of_the_configs_refusals_are_covered() -> None:
    assert len(REFUSALS) >= 0.8 * len(BAD), [row[0] for row in BAD if row not in REFUSALS]


def test_a_secret_for_a_setting_that_is_not_kept_secret_is_refused() -> None:
    """A secret hostname would land in plain text in resource inputs and outputs."""

    def hosts() -> Any:
        return pulumi.Output.secret(["registry.example.com"])

    error = _refusal_with(lambda: {"hosts": hosts()})
    assert str(error).startswith(f"{TYPE_TOKEN} argument 'hosts': is a secret")


def test_an_argument_not_known_yet_is_refused() -> None:
    """During a preview an argument from a resource not created yet has no value: it cannot be checked."""

    def unknown() -> Any:
        loop = asyncio.get_event_loop()
        value, known = loop.create_future(), loop.create_future()
        value.set_result(None)
        known.set_result(False)
        return pulumi.Output(set(), value, known)

    error = _refusal_with(lambda: {"hosts": ["registry.example.com"], "containerName": unknown()})
    assert str(error).startswith(f"{TYPE_TOKEN} argument 'containerName': is not known yet")


def _refusal_with(arguments: Any) -> Exception:
    """Arguments built inside the run (Outputs need its event loop)."""
    from pulumi.provider.experimental.component import ComponentProvider

    from components.pack_registry.package import PACKAGE, PackRegistry

    def main() -> None:
        ComponentProvider([PackRegistry], PACKAGE).construct("pack-registry", TYPE_TOKEN, arguments(), None)

    with pytest.raises(ComponentInitError) as caught:
        run_program(stack="dev", use_stack_file=False, main=main)
    return caught.value.inner


@pytest.mark.parametrize("entry", ["tests/data/packs/hello-universe", "packs/hello-universe"])
def test_a_relative_pack_directory_from_another_program_is_refused_asking_for_an_absolute_path(entry: str) -> None:
    """A relative ``packs`` entry passed to the package component from another Pulumi program. The component
    resolves ``packs`` against ``PROJECT_FILE.parent`` (components/config/__init__.py ``parse_settings``:
    ``project_dir or PROJECT_FILE.parent``), which in the package is the package's own checkout (where `pulumi
    package add` put this repository), not the calling program's directory. docs/package.md ("Pack directories by
    absolute path") tells users to pass absolute paths: a relative entry that happens to exist in the package's checkout
    (here the repository's own sample, ``tests/data/packs/hello-universe``) would be published into the user's
    registry without a word, and one that does not exist would be refused with the program's fix ("List pack
    directories relative to the project"), which points at the wrong project."""
    arguments = {**stack_arguments("dev"), "registryKind": "oci", "packs": [entry]}
    with pytest.raises(ComponentInitError) as caught:
        run_package(arguments)
    message = str(caught.value.inner)
    assert message.startswith(f"{TYPE_TOKEN} argument 'packs':"), message
    assert "absolute" in message, message
