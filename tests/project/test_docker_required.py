"""When a missing Docker engine fails the run and when it only skips (tests/support/docker_support.py)."""

from __future__ import annotations

import pytest

from tests.support.docker_support import docker_engine_decision, docker_required


@pytest.mark.parametrize(
    ("env", "required"),
    [
        ({}, None),
        ({"REQUIRE_DOCKER": "1"}, "REQUIRE_DOCKER=1"),
        ({"REQUIRE_DOCKER": "yes"}, "REQUIRE_DOCKER=yes"),
        ({"REQUIRE_DOCKER": "0"}, None),
        ({"REQUIRE_DOCKER": ""}, None),
        ({"CI": "true"}, "CI=true"),
        ({"CI": "TRUE"}, "CI=TRUE"),
        ({"CI": "1"}, "CI=1"),
        ({"CI": "woodpecker"}, "CI=woodpecker"),
        ({"CI": "false"}, None),
        ({"CI": "0"}, None),
        ({"REQUIRE_DOCKER": "1", "CI": "false"}, "REQUIRE_DOCKER=1"),
        ({"REQUIRE_DOCKER": "0", "CI": "1"}, "CI=1"),
    ],
)
def test_which_environments_require_docker(env: dict[str, str], required: str | None) -> None:
    assert docker_required(env) == required


def test_a_missing_engine_fails_when_required_and_skips_otherwise() -> None:
    action, message = docker_engine_decision(False, {"REQUIRE_DOCKER": "1"})
    assert action == "fail"
    assert message.startswith("REQUIRE_DOCKER=1 requires Docker, but no Docker engine answers `docker info`")
    assert docker_engine_decision(False, {"CI": "1"})[0] == "fail"
    assert docker_engine_decision(False, {})[0] == "skip"
    assert docker_engine_decision(True, {"REQUIRE_DOCKER": "1"}) == ("use", "")


def test_the_test_script_requires_docker_for_pytest() -> None:
    """scripts/test.sh (the README's test command) exports its own variable before pytest, whatever CI holds."""
    from tests.support.paths import ROOT

    script = (ROOT / "scripts" / "test.sh").read_text().splitlines()
    test_command = next(n for n, line in enumerate(script) if line.startswith('.venv/bin/python -m pytest "$@"'))
    assert "export REQUIRE_DOCKER=1" in script[:test_command]
