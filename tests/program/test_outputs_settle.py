"""The program lets its outputs settle in one wait before the SDK's own wait (components/outputs_settle.py).

The SDK ends a run with ``wait_for_rpcs`` (pulumi sdk/python/lib/pulumi/runtime/stack.py): each outstanding RPC in
turn, then rounds of ``asyncio.wait(pending, return_when=FIRST_COMPLETED)`` over every tracked output
(``SETTINGS.outputs``, where each ``Output`` registers its task: sdk/python/lib/pulumi/output.py ``_track``). Here
outputs resolve one after another, as the engine's answers arrive, and the test counts the SDK's rounds with and
without the settle step, on the SDK's own ``wait_for_rpcs``."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator

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


def _ends(program: Callable[[], None]) -> BaseException | None:
    """Runs ``program`` as the SDK runs one (pulumi sdk/python/lib/pulumi/runtime/stack.py ``run_pulumi_func``:
    the program, then ``wait_for_rpcs``, re-raising the program's own exception last), with the settle step
    called as __main__.py calls it; what it raised, within 10 s (a hang fails the test)."""

    async def run() -> None:
        await asyncio.wait_for(sdk_stack.run_pulumi_func(program), 10)

    try:
        asyncio.run(run())
    except BaseException as error:  # what the SDK raised, compared by the test
        return error
    return None


def _failing_rpc() -> asyncio.Future[tuple[None, Exception]]:
    async def refused() -> None:
        await asyncio.sleep(0.01)
        raise RuntimeError("the engine refused the registration")

    return asyncio.ensure_future(_get_rpc_manager().do_rpc("register resource", refused)())


@pytest.mark.parametrize("settle", [False, True])
def test_a_failing_output_or_rpc_is_still_raised_and_nothing_hangs(rounds: list[int], settle: bool) -> None:
    """An output whose apply fails is left in ``SETTINGS.outputs`` when it ends (output.py ``_track``: only a
    successful one removes itself), so the SDK's rounds still await it and raise its error after the settle step;
    a failed RPC is raised by ``wait_for_rpcs`` from the RPC list as before; the program's own exception comes last.
    Each is what the SDK raises without the step."""

    def failing_output() -> None:
        pulumi.Output.from_input(1).apply(lambda _: 1 / 0)
        if settle:
            settle_outputs()

    def failing_rpc() -> None:
        _failing_rpc()
        pulumi.Output.from_input(1).apply(lambda value: value + 1)
        if settle:
            settle_outputs()

    def raising_program() -> None:
        pulumi.Output.from_input(1).apply(lambda value: value + 1)
        if settle:
            settle_outputs()
        raise ValueError("the program failed")

    assert isinstance(_ends(failing_output), ZeroDivisionError)
    SETTINGS.outputs.clear()
    _get_rpc_manager().clear()
    error = _ends(failing_rpc)
    assert isinstance(error, RuntimeError) and "refused" in str(error), repr(error)
    SETTINGS.outputs.clear()
    _get_rpc_manager().clear()
    error = _ends(raising_program)
    assert isinstance(error, ValueError) and "program failed" in str(error), repr(error)
