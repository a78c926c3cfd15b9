"""Fixtures of the real-CLI layer: the built Pulumi CLI, and stacks of the project in the test's own folders."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.cli.pulumi_cli import CliStack, CliUnavailable, cli_environment, cli_root, project_copy
from tests.support import docker_support
from tests.support.docker_support import DockerJanitor, docker_required
from tests.support.palette_fake import FakePalette

docker_engine = docker_support.docker_engine
janitor = docker_support.janitor
standin_image = docker_support.standin_image


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).resolve().parent
    for item in items:
        if Path(str(item.fspath)).resolve().is_relative_to(here):
            item.add_marker(pytest.mark.cli)


@pytest.fixture(scope="session")
def pulumi_cli() -> Path:
    """The real CLI's folder. Missing: fails when REQUIRE_DOCKER or CI says so (as .ci/run does), else skips."""
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
    janitor.cleanup()


@pytest.fixture
def palette() -> Iterator[FakePalette]:
    with FakePalette() as fake:
        yield fake
