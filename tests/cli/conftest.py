"""Fixtures and markers of the real-CLI layer: the built Pulumi CLI, and stacks of the project in the test's own
folders."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.cli.pulumi_cli import CliStack, CliUnavailable, cli_environment, cli_root, project_copy
from tests.support.docker_support import DockerJanitor, docker_required
from tests.support.layers import items_in_layer


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test here is marked ``cli``; one that takes the Docker engine without the CLI (a stand-in plugin
    against the engine) is marked ``integration`` too."""
    for item in items_in_layer(items, __file__):
        item.add_marker(pytest.mark.cli)
        if "docker_engine" in item.fixturenames and "pulumi_cli" not in item.fixturenames:
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def pulumi_cli() -> Path:
    """The real CLI's folder. Missing: fails when REQUIRE_DOCKER or CI says so (as scripts/test.sh does), else skips."""
    try:
        return cli_root()
    except CliUnavailable as error:
        required = docker_required(os.environ)
        if required:
            pytest.fail(f"{required} requires the real Pulumi CLI: {error}", pytrace=False)
        pytest.skip(str(error))


StackFactory = Callable[..., CliStack]


@pytest.fixture
def cli_stack(tmp_path: Path, pulumi_cli: Path, docker_engine: None, janitor: DockerJanitor) -> Iterator[StackFactory]:
    """Makes stacks of the project (``project_copy``) run by the real CLI; at the end each is destroyed and
    what it left on the Docker engine (the retained data volume too) is removed."""
    made: list[CliStack] = []

    def make(stack: str = "dev", *, project_dir: Path | None = None, env: dict[str, str] | None = None) -> CliStack:
        folder = tmp_path / f"cli-{len(made)}"
        home, backend = folder / "home", folder / "state"
        home.mkdir(parents=True)
        backend.mkdir()
        directory = project_dir or project_copy(folder / "project")
        made.append(CliStack(directory, stack, pulumi_cli, cli_environment(pulumi_cli, home, backend, env or {})))
        return made[-1]

    yield make
    for stack in made:
        if stack.state_file.exists() and stack.resources():
            stack.destroy(env={"PALETTE_PACK_REGISTRY_DELETE_UNREACHABLE": "true"})
        for resource in stack.resources() if stack.state_file.exists() else []:
            if resource["type"] == "docker:index/container:Container":
                janitor.remove_container(resource["id"])
            elif resource["type"] == "docker:index/network:Network":
                janitor.networks.append(resource["id"])
    janitor.cleanup()
