"""Shared fixtures: one evaluation of each committed stack under the realistic mocks."""

from __future__ import annotations

import pytest

from tests.harness import ProgramRun, run_program


@pytest.fixture(scope="session")
def dev_run() -> ProgramRun:
    """The dev stack as committed in Pulumi.dev.yaml."""
    return run_program(stack="dev")


@pytest.fixture(scope="session")
def http_run() -> ProgramRun:
    """The dev stack switched to plain HTTP (explicit opt-in)."""
    return run_program({"tlsMode": "http", "allowInsecureHttp": True, "port": 0}, stack="dev")
