"""Shared fixtures: one evaluation of each committed stack under the realistic mocks, and a corpus of packs."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.harness import ProgramRun, run_program
from tests.support.pack_corpus import write_corpus

CLI_LAYER = Path(__file__).resolve().parent / "cli"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The real-CLI layer (tests/cli) runs first, the top layer before the ones below it; the rest keep their order."""
    items.sort(key=lambda item: not item.path.is_relative_to(CLI_LAYER))


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
