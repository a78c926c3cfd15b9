"""Harness self-tests of tests/support/engine_model.py ``execute``: it runs steps when their waits are done."""

from __future__ import annotations

import time

import pytest

from tests.support.engine_model import execute
from tests.support.harness import Recorded


def _record(urn: str, *deps: str) -> Recorded:
    return Recorded(
        type="t", name=urn, urn=urn, inputs={}, outputs={}, parent=None,
        options={"dependencies": list(deps)}, secret_inputs=set(),
    )  # fmt: skip


def _slow(_: Recorded) -> None:
    time.sleep(0.05)


def test_harness_execute_runs_a_chain_one_step_after_another() -> None:
    records = [_record("a"), _record("b", "a"), _record("c", "b")]
    ran = {step.urn: step for step in execute(records, {"a", "b", "c"}, _slow)}
    assert ran["b"].started >= ran["a"].finished and ran["c"].started >= ran["b"].finished


def test_harness_execute_runs_independent_steps_at_the_same_time() -> None:
    records = [_record("a"), _record("b"), _record("c", "a", "b")]
    ran = {step.urn: step for step in execute(records, {"a", "b", "c"}, _slow)}
    assert ran["b"].started < ran["a"].finished and ran["a"].started < ran["b"].finished
    assert ran["c"].started >= max(ran["a"].finished, ran["b"].finished)


def test_harness_execute_stops_what_waits_for_a_failed_step() -> None:
    called: list[str] = []

    def act(record: Recorded) -> None:
        called.append(record.urn)
        if record.urn == "a":
            raise RuntimeError("a failed")

    with pytest.raises(RuntimeError, match="a failed"):
        execute([_record("a"), _record("b", "a"), _record("x")], {"a", "b", "x"}, act)
    assert sorted(called) == ["a", "x"]
