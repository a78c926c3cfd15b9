"""Let the program's outputs settle in one wait, before the SDK's own wait at the end of a run.

When the program returns, the Python SDK waits for what it started (pulumi sdk/python/lib/pulumi/runtime/stack.py
``wait_for_rpcs``): first each outstanding RPC in turn, then, in rounds, every output not resolved yet with
``asyncio.wait(pending, return_when=FIRST_COMPLETED)``. Each round registers and removes a callback on every
pending output, and a round ends as soon as one output resolves. The outputs resolve as the engine answers the
registrations, one resource after another, so with a few hundred packs (some 5,000 outputs) the rounds cost
seconds of CPU in a no-change ``pulumi up`` (docs/benchmarks.md "Packs at scale").

``settle_outputs`` adds one task to the SDK's list of outstanding RPCs (``RPCManager.rpcs``, which
``wait_for_rpcs`` empties before its rounds). It is added at once, while the program's registrations are not in
the list yet (each is appended when its task first runs, after the program returns); the SDK awaits the list last
in, first out, so the registrations' RPCs first, then this task. The task waits for the outputs pending at the
time with one ``asyncio.wait``, until all of them resolved, and again for any made meanwhile. When
``wait_for_rpcs`` reaches its rounds almost nothing is left. The SDK still waits for, and raises,
whatever it would have: an output that fails is not awaited here for its result, only for its end.
"""

from __future__ import annotations

import asyncio

from pulumi.runtime.settings import SETTINGS, _get_rpc_manager

__all__ = ["settle_outputs"]


async def _settled() -> None:
    while True:
        with SETTINGS.lock:
            pending = [output for output in SETTINGS.outputs if not output.done()]
        if not pending:
            return
        await asyncio.wait(pending)


def settle_outputs() -> None:
    """Called last by the program (from inside the SDK's running event loop)."""
    _get_rpc_manager().rpcs.append(asyncio.ensure_future(_settled()))
