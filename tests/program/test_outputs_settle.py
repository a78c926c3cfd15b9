"""The program lets its outputs settle in one wait before the SDK's own wait (components/outputs_settle.py).

The SDK ends a run with ``wait_for_rpcs`` (pulumi sdk/python/lib/pulumi/runtime/stack.py): each outstanding RPC in
turn, then rounds of ``asyncio.wait(pending, return_when=FIRST_COMPLETED)`` over every tracked output
(``SETTINGS.outputs``, where each ``Output`` registers its task: sdk/python/lib/pulumi/output.py ``_track``). Here
outputs resolve one after another, as the engine's answers arrive, and the test counts the SDK's rounds with and
without the settle step, on the SDK's own ``wait_for_rpcs``."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pulumi
import pytest
from pulumi.runtime import stack as sdk_stack
from pulumi.runtime.settings import SETTINGS, _get_rpc_manager

from components.outputs_settle import settle_outputs

OUTPUTS = 200


@pytest.fixture
def rounds(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """The size of each FIRST_COMPLETED round the SDK's wait runs."""
    seen: list[int] = []
    real = asyncio.wait

    async def counting(tasks, *args, **kwargs):  # type: ignore[no-untyped-def]
        tasks = list(tasks)
        if kwargs.get("return_when") == asyncio.FIRST_COMPLETED:
            seen.append(len(tasks))
        return await real(tasks, *args, **kwargs)

    monkeypatch.setattr(sdk_stack.asyncio, "wait", counting)
    SETTINGS.outputs.clear()
    _get_rpc_manager().clear()
    yield seen
    SETTINGS.outputs.clear()
    _get_rpc_manager().clear()


def _run(settle: bool) -> None:
    async def program() -> None:
        gate = asyncio.Event()

        async def resolves_after(previous: asyncio.Future | None) -> None:
            # Each output resolves after the one before it, a turn of the loop later: the engine's answers.
            if previous is not None:
                await previous
            else:
                await gate.wait()
            await asyncio.sleep(0)

        async def known() -> bool:
            return True

        previous = None
        for _ in range(OUTPUTS):
            previous = asyncio.ensure_future(resolves_after(previous))
            pulumi.Output(set(), previous, known())  # tracked in SETTINGS.outputs, as the program's are
        if settle:
            settle_outputs()
        asyncio.get_running_loop().call_later(0.01, gate.set)
        await sdk_stack.wait_for_rpcs()
        assert not SETTINGS.outputs

    asyncio.run(program())


def test_without_the_settle_step_the_sdk_waits_in_a_round_per_output(rounds: list[int]) -> None:
    _run(settle=False)
    assert len(rounds) > OUTPUTS / 2, rounds[:5]


def test_with_it_the_sdk_finds_every_output_resolved(rounds: list[int]) -> None:
    _run(settle=True)
    assert rounds == [], rounds[:5]


def test_the_program_calls_it_last() -> None:
    from tests.support.paths import ROOT

    lines = [line for line in (ROOT / "__main__.py").read_text().splitlines() if line.strip()]
    assert lines[-1] == "settle_outputs()"
