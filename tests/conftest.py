"""Shared fixtures: one evaluation of each committed stack under the realistic mocks, and a corpus of packs."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.harness import ProgramRun, run_program
from tests.pack_corpus import write_corpus


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
    """220 generated pack directories shaped like real ones (tests/pack_corpus.py), written once."""
    return write_corpus(tmp_path_factory.mktemp("pack-corpus"), packs=220, seed=0)
