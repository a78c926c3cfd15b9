"""Fixtures more than one layer takes: evaluations of the committed stack under the realistic mocks, a corpus of
packs, the Palette fake, and the real Docker engine with the stand-in images and moto's S3 server (the
integration, benchmark and CLI layers). A layer's own fixtures and markers are in its folder's conftest.py."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.docker_support import (
    STANDIN_IMAGE,
    DockerJanitor,
    build_standin_image,
    docker_available,
    docker_engine_decision,
)
from tests.support.harness import ProgramRun, run_program
from tests.support.oci_support import OCI_STANDIN_IMAGE, PROXY_STANDIN_IMAGE
from tests.support.pack_corpus import write_corpus
from tests.support.palette_fake import FakePalette
from tests.support.palette_support import FAST_HTTP_ENV
from tests.support.s3_support import S3Server, running_s3_server

CLI_LAYER = Path(__file__).resolve().parent / "cli"


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The real-CLI layer (tests/cli) runs first, the top layer before the ones below it; the rest keep their order.
    Once the layers have marked their tests: a test that takes the Docker engine is marked ``integration`` or
    ``cli``, so that ``-m "not integration and not cli"`` never needs Docker."""
    items.sort(key=lambda item: not item.path.is_relative_to(CLI_LAYER))
    unmarked = [
        item.nodeid
        for item in items
        if "docker_engine" in item.fixturenames
        and not (item.get_closest_marker("integration") or item.get_closest_marker("cli"))
    ]
    if unmarked:
        raise pytest.UsageError(
            "these tests take the Docker engine but are marked neither integration nor cli (the marker comes "
            "from the layer's conftest.py): " + ", ".join(unmarked)
        )


# --- the program under the mocks ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def dev_run() -> ProgramRun:
    """The dev stack as committed in Pulumi.dev.yaml."""
    return run_program(stack="dev")


@pytest.fixture(scope="session")
def http_run() -> ProgramRun:
    """The dev stack switched to plain HTTP (explicit opt-in)."""
    return run_program({"tlsMode": "http", "allowInsecureHttp": True, "port": 0}, stack="dev")


@pytest.fixture(scope="session")
def pack_corpus(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """220 generated pack directories shaped like real ones (tests/support/pack_corpus.py), written once."""
    return write_corpus(tmp_path_factory.mktemp("pack-corpus"), packs=220, seed=0)


# --- Palette -------------------------------------------------------------------------------------------------------


@pytest.fixture
def palette() -> Iterator[FakePalette]:
    """The fake Palette, a real HTTP server on 127.0.0.1 (tests/support/palette_fake.py)."""
    with FakePalette() as fake:
        yield fake


@pytest.fixture(autouse=True)
def own_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test's own cache folder (``PALETTE_PACK_REGISTRY_CACHE``: components/packs/accepted_values.py), so
    no test reads what another, or the machine's user, left there; the CLI layer's programs inherit it."""
    folder = tmp_path_factory.mktemp("cache")
    monkeypatch.setenv("PALETTE_PACK_REGISTRY_CACHE", str(folder))
    return folder


@pytest.fixture
def fast_http(monkeypatch: pytest.MonkeyPatch) -> None:
    """The Palette client's settings from the environment, made fast (``FAST_HTTP_ENV``), and no API key from
    the environment of the machine running the tests. A module takes it with ``usefixtures``."""
    for key, value in FAST_HTTP_ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("PALETTE_API_KEY", raising=False)


# --- the real Docker engine ---------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def docker_engine() -> None:
    """A Docker engine that answers. Missing: fails when REQUIRE_DOCKER or CI says so, else skips."""
    action, message = docker_engine_decision(docker_available(), os.environ)
    if action == "fail":
        pytest.fail(message, pytrace=False)
    if action == "skip":
        pytest.skip(message)


@pytest.fixture(scope="session")
def janitor(docker_engine: None) -> Iterator[DockerJanitor]:
    keeper = DockerJanitor()
    try:
        yield keeper
    finally:
        keeper.cleanup()


@pytest.fixture(scope="session")
def standin_image(docker_engine: None) -> str:
    """The stand-in registry image (scripts/build-standin-image.sh legacy; a no-op when up to date)."""
    return build_standin_image("legacy", STANDIN_IMAGE)


@pytest.fixture(scope="session")
def oci_standin_image(docker_engine: None) -> str:
    """The official registry image's stand-in (scripts/build-standin-image.sh oci; a no-op when up to date)."""
    return build_standin_image("oci", OCI_STANDIN_IMAGE)


@pytest.fixture(scope="session")
def proxy_standin_image(docker_engine: None) -> str:
    """The official nginx image's stand-in (scripts/build-standin-image.sh proxy; a no-op when up to date)."""
    return build_standin_image("proxy", PROXY_STANDIN_IMAGE)


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """moto's S3 server on a free 127.0.0.1 port for the whole session (its request log in a file)."""
    with running_s3_server(tmp_path_factory.mktemp("moto")) as server:
        yield server
