"""Talking to the SDK's own dynamic provider host (`python -m pulumi.dynamic`) the way the engine does."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import struct_pb2
from pulumi.runtime import rpc
from pulumi.runtime.proto import provider_pb2_grpc


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


@contextmanager
def provider_host(
    cwd: Path, env: dict[str, str], stderr_path: Path
) -> Iterator[tuple[subprocess.Popen[bytes], provider_pb2_grpc.ResourceProviderStub]]:
    """The SDK's dynamic provider host (``python -m pulumi.dynamic``) started as the engine starts it: it
    prints its port, and answers gRPC there until it is terminated."""
    with stderr_path.open("wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "pulumi.dynamic"], cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=stderr
        )
    try:
        assert process.stdout is not None
        port = int(process.stdout.readline().decode().strip())
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            grpc.channel_ready_future(channel).result(timeout=30)
            yield process, provider_pb2_grpc.ResourceProviderStub(channel)
    finally:
        process.terminate()
        process.wait(timeout=30)
