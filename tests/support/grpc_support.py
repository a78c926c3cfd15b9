"""Talking to the SDK's own dynamic provider host (`python -m pulumi.dynamic`) the way the engine does."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import struct_pb2
from pulumi.runtime import rpc
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc


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
    cwd: Path, env: dict[str, str], stderr_path: Path, command: Sequence[str] | None = None
) -> Iterator[tuple[subprocess.Popen[bytes], provider_pb2_grpc.ResourceProviderStub]]:
    """A provider plugin started as the engine starts it: it prints its port, and answers gRPC there until it is
    terminated. By default the SDK's dynamic provider host, started as the SDK's plugin script starts it
    (``python3 -u -m pulumi.dynamic``, sdk/python/dist/pulumi-resource-pulumi-python: the host writes its port without
    flushing, so only an unbuffered stdout gets it to the engine); ``command`` starts another, such as a stand-in
    plugin of the CLI tests (its executable and the engine's address)."""
    with stderr_path.open("wb") as stderr:
        process = subprocess.Popen(
            list(command or [sys.executable, "-u", "-m", "pulumi.dynamic"]),
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=stderr,
        )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().decode().strip()
        if not line.isdigit():
            raise RuntimeError(f"the provider wrote {line!r} instead of its port (its stderr: {stderr_path})")
        with grpc.insecure_channel(f"127.0.0.1:{line}") as channel:
            grpc.channel_ready_future(channel).result(timeout=30)
            yield process, provider_pb2_grpc.ResourceProviderStub(channel)
    finally:
        process.terminate()
        process.wait(timeout=30)


@dataclass
class DynamicHost:
    """A started provider host, called the way the engine calls it for one dynamic resource: ``urn``, its
    serialized ``provider`` in the inputs, each call's inputs checked first."""

    stub: provider_pb2_grpc.ResourceProviderStub
    stderr: Path
    urn: str
    provider: str

    def checked(self, props: dict[str, Any]) -> Any:
        response = self.stub.Check(
            provider_pb2.CheckRequest(
                urn=self.urn, olds=struct({}), news=struct({**props, "__provider": self.provider})
            )
        )
        assert [(f.property, f.reason) for f in response.failures] == []
        return response.inputs

    def create(self, props: dict[str, Any]) -> provider_pb2.CreateResponse:
        return self.stub.Create(provider_pb2.CreateRequest(urn=self.urn, properties=self.checked(props)))

    def diff(self, id_: str, olds: Any, props: dict[str, Any]) -> provider_pb2.DiffResponse:
        return self.stub.Diff(provider_pb2.DiffRequest(id=id_, urn=self.urn, olds=olds, news=self.checked(props)))

    def update(self, id_: str, olds: Any, props: dict[str, Any]) -> provider_pb2.UpdateResponse:
        return self.stub.Update(provider_pb2.UpdateRequest(id=id_, urn=self.urn, olds=olds, news=self.checked(props)))

    def read(self, id_: str, state: Any) -> provider_pb2.ReadResponse:
        return self.stub.Read(provider_pb2.ReadRequest(id=id_, urn=self.urn, properties=state))

    def delete(self, id_: str, state: Any) -> None:
        self.stub.Delete(provider_pb2.DeleteRequest(id=id_, urn=self.urn, properties=state))

    def logs(self) -> str:
        return self.stderr.read_text()
