"""Talking to the SDK's own dynamic provider host (`python -m pulumi.dynamic`) the way the engine does."""

from __future__ import annotations

import asyncio
from typing import Any

from google.protobuf import struct_pb2
from pulumi.runtime import rpc


def struct(props: dict[str, Any]) -> struct_pb2.Struct:
    """Properties as the engine sends them."""
    # A private loop, as the SDK's provider host does: asyncio.run would unset the thread's current loop,
    # which the Pulumi runtime (and the program harness) rely on later in the same process.
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(rpc.serialize_properties(props, {}))
    finally:
        loop.close()


def plain(message: struct_pb2.Struct) -> dict[str, Any]:
    """Properties as the engine reads them back."""
    return rpc.deserialize_properties(message)
