"""How long evaluating the dev stack takes under mocks, against an empty program under the same mocks.

Measured with a warm MockState (the engine's view of an unchanged stack), so the mock providers generate
nothing and the numbers are the program's own cost plus Pulumi's registration of each resource.
"""

from __future__ import annotations

import pytest

from tests.data import programs
from tests.support.harness import MockState, run_program
from tests.support.paths import PROGRAMS

EMPTY = PROGRAMS / "empty.py"
REPLAY = PROGRAMS / "replay.py"


@pytest.fixture(scope="module")
def warm_state() -> MockState:
    state = MockState()
    run_program(state=state)
    return state


def test_evaluate_empty_program(benchmark, warm_state: MockState) -> None:
    run = benchmark(run_program, state=warm_state, program_file=EMPTY)
    assert run.resources == [] and run.exports == {}


def test_evaluate_dev_stack(benchmark, warm_state: MockState) -> None:
    generated = warm_state.generated
    run = benchmark(run_program, state=warm_state)
    assert run.exports["endpoint"] == "https://localhost:5443"
    assert warm_state.generated == generated, "a warm re-run generates nothing"


def test_evaluate_the_same_resources_declared_literally(benchmark, warm_state: MockState) -> None:
    dev = run_program(state=warm_state)
    programs.REPLAY[:] = [(r.type, r.name, r.inputs, not r.type.startswith("palette-")) for r in dev.resources]
    replay_state = MockState()
    run_program(state=replay_state, program_file=REPLAY)
    run = benchmark(run_program, state=replay_state, program_file=REPLAY)
    assert len(run.resources) == len(dev.resources)
