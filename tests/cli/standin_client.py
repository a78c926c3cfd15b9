"""Calling a stand-in plugin as the engine does: started from its executable, configured, then Check before
Create, by URN, with what the engine sends (old inputs included)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

from tests.cli.plugins.environment import ROOT, plugin_command, plugin_env
from tests.support.grpc_support import plain, provider_host, struct

__all__ = ["Engine", "running"]


class Engine:
    """What the engine does with a plugin: configure it, then Check before Create and Diff, by URN."""

    def __init__(self, package: str, stub: provider_pb2_grpc.ResourceProviderStub) -> None:
        self.package = package
        self.stub = stub

    def configure(self, config: dict[str, Any] | None = None) -> provider_pb2.ConfigureResponse:
        return self.stub.Configure(
            provider_pb2.ConfigureRequest(
                args=struct(config or {}),
                acceptSecrets=True,
                acceptResources=True,
                sends_old_inputs=True,
                sends_old_inputs_to_delete=True,
                type=f"pulumi:providers:{self.package}",
                name="default",
            )
        )

    @staticmethod
    def urn(token: str, name: str) -> str:
        return f"urn:pulumi:test::palette-pack-registry::{token}::{name}"

    def check(self, token: str, name: str, news: dict[str, Any]) -> dict[str, Any]:
        request = provider_pb2.CheckRequest(urn=self.urn(token, name), type=token, name=name, news=struct(news))
        return plain(self.stub.Check(request).inputs)

    def create(self, token: str, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        checked = self.check(token, name, inputs)
        response = self.stub.Create(
            provider_pb2.CreateRequest(urn=self.urn(token, name), type=token, name=name, properties=struct(checked))
        )
        return response.id, plain(response.properties)

    def diff(
        self, token: str, name: str, id_: str, state: dict[str, Any], old_inputs: dict[str, Any], news: dict[str, Any]
    ) -> provider_pb2.DiffResponse:
        return self.stub.Diff(
            provider_pb2.DiffRequest(
                id=id_,
                urn=self.urn(token, name),
                type=token,
                name=name,
                olds=struct(state),
                old_inputs=struct(old_inputs),
                news=struct(news),
            )
        )

    def update(self, token: str, name: str, id_: str, state: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]:
        request = provider_pb2.UpdateRequest(
            id=id_, urn=self.urn(token, name), type=token, name=name, olds=struct(state), news=struct(news)
        )
        return plain(self.stub.Update(request).properties)

    def read(self, token: str, name: str, id_: str, state: dict[str, Any], inputs: dict[str, Any]) -> str:
        request = provider_pb2.ReadRequest(
            id=id_, urn=self.urn(token, name), type=token, name=name, properties=struct(state), inputs=struct(inputs)
        )
        return self.stub.Read(request).id

    def delete(self, token: str, name: str, id_: str, state: dict[str, Any]) -> None:
        request = provider_pb2.DeleteRequest(
            id=id_, urn=self.urn(token, name), type=token, name=name, properties=struct(state)
        )
        self.stub.Delete(request)


@contextmanager
def running(package: str, tmp_path: Path) -> Iterator[Engine]:
    """The plugin started from its executable in tests/cli/plugins/bin, the way the CLI starts it; what it
    wrote to stdout after its port is checked to be nothing once it has stopped."""
    command = plugin_command(package)
    with provider_host(ROOT, plugin_env(), tmp_path / f"{package}.stderr", command) as (process, stub):
        yield Engine(package, stub)
    assert process.stdout is not None
    assert process.stdout.read() == b"", "the plugin wrote to stdout after its port"
