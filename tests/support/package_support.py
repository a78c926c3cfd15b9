"""Running the package component as the component provider host does, under the program harness's mocks.

``ComponentProvider`` is the provider ``component_provider_host`` serves (pulumi/pulumi
sdk/python/lib/pulumi/provider/experimental/host.py): its schema is what ``GetSchema`` returns, its ``construct`` is
what ``Construct`` calls once the host has deserialized the inputs (provider/server.py ``_construct``).
"""

from __future__ import annotations

import json
from typing import Any

import pulumi
from pulumi.provider.experimental.component import ComponentProvider

from components.pack_registry.package import TYPE_TOKEN, package_provider
from tests.support.harness import MockState, ProgramRun, load_yaml, run_program, stack_config
from tests.support.paths import DATA, ROOT

SNAPSHOT = DATA / "snapshots" / "package_schema.json"
VERSION = "0.1.0"
"""pyproject.toml's version, which provider/__main__.py gives the host."""


def provider() -> ComponentProvider:
    return package_provider(VERSION)


def schema() -> dict[str, Any]:
    """The schema as GetSchema returns it (the provider's JSON text), parsed."""
    return json.loads(provider().schema)


def declared() -> dict[str, Any]:
    """Pulumi.yaml's `config:` block, as the CLI reads it."""
    return load_yaml((ROOT / "Pulumi.yaml").read_text())["config"]


def as_argument(key: str, value: Any) -> Any:
    """A config value (as a stack file holds it) as the argument another program passes: typed by its declaration."""
    kind = declared()[key]["type"]
    if kind == "integer":
        return int(value)
    if kind == "boolean":
        return value if isinstance(value, bool) else str(value).lower() == "true"
    return value


def stack_arguments(stack: str) -> dict[str, Any]:
    """The committed Pulumi.<stack>.yaml config as arguments."""
    return {key: as_argument(key, value) for key, value in stack_config(stack).items()}


def package_urn(urn: str) -> str:
    """Where a resource of the program sits under the package component: its type is qualified by the component's
    (the program's PackRegistry, a child of the stack, becomes the package component's child)."""
    parts = urn.split("::")
    if parts[2] == "pulumi:pulumi:Stack":
        return urn
    parts[2] = f"{TYPE_TOKEN}${parts[2]}"
    return "::".join(parts)


def package_state(state: MockState) -> MockState:
    """The program's remembered resources, moved under the package component: a construct with the same inputs gets
    the same generated passwords, keys and certificates back (and generates nothing)."""
    return MockState(resources={package_urn(urn): value for urn, value in state.resources.items()})


def run_package(
    arguments: dict[str, Any],
    *,
    name: str = "pack-registry",
    stack: str = "dev",
    state: MockState | None = None,
    preview: bool = False,
) -> ProgramRun:
    """Construct the package component under the mocks; its outputs are the run's exports."""

    def main() -> None:
        result = provider().construct(name, TYPE_TOKEN, arguments, None)
        for key, value in result.state.items():
            pulumi.export(key, value)

    return run_program(stack=stack, state=state, use_stack_file=False, preview=preview, main=main)
