"""The component package started as the engine starts it, then GetSchema and Construct over gRPC.

The Python language host runs a plugin directory that has a ``__main__.py`` as ``python <plugin dir> <engine
address> [flags]``, from the caller's working directory, with the plugin's virtualenv (pulumi/pulumi
sdk/python/cmd/pulumi-language-python/main.go ``RunPlugin``, ``parseOptions``); the plugin prints the port it
listens on as its first line of output (sdk/python/lib/pulumi/provider/server.py ``main``). ``Construct`` carries
the address of the resource monitor the component registers its children with, and the plugin logs through the
engine address; here both are one gRPC server of the test, whose monitor is the program harness's mock monitor
(tests/support/harness.py ``RecordingMonitor``), so the registrations can be compared with the program's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import empty_pb2
from pulumi.runtime import rpc
from pulumi.runtime.proto import (
    engine_pb2,
    engine_pb2_grpc,
    provider_pb2,
    provider_pb2_grpc,
    resource_pb2,
    resource_pb2_grpc,
)

from components.config import PROJECT, ConfigError
from components.pack_registry.package import TYPE_TOKEN
from tests.package.test_construct import PACKAGE_URN, STACK_URN, _same_as_program
from tests.support.config_values import parse
from tests.support.grpc_support import plain, struct
from tests.support.harness import MockState, RealisticMocks, RecordingMonitor, run_program
from tests.support.package_support import SNAPSHOT, package_state, stack_arguments
from tests.support.paths import ROOT

STACK = "dev"


class _Monitor(RecordingMonitor):
    """The harness's monitor, naming URNs after the test's stack (this process runs no Pulumi program)."""

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        qualified = type_
        if parent and parent.split("::")[2] != "pulumi:pulumi:Stack":
            qualified = f"{parent.split('::')[2]}${type_}"
        return "urn:pulumi:" + "::".join([STACK, PROJECT, qualified, name])


class _MonitorService(resource_pb2_grpc.ResourceMonitorServicer):
    def __init__(self, monitor: _Monitor) -> None:
        self.monitor = monitor
        self.lock = threading.Lock()
        self.outputs: dict[str, Any] = {}

    def SupportsFeature(self, request: Any, context: Any) -> Any:
        return resource_pb2.SupportsFeatureResponse(hasSupport=self.monitor.SupportsFeature(request).hasSupport)

    def GetDeploymentInfo(self, request: Any, context: Any) -> Any:
        return self.monitor.GetDeploymentInfo(request)

    def RegisterResource(self, request: Any, context: Any) -> Any:
        with self.lock:
            return self.monitor.RegisterResource(request)

    def RegisterResourceOutputs(self, request: Any, context: Any) -> Any:
        self.outputs[request.urn] = plain(request.outputs)
        return empty_pb2.Empty()

    def RegisterPackage(self, request: Any, context: Any) -> Any:
        return self.monitor.RegisterPackage(request)


class _EngineService(engine_pb2_grpc.EngineServicer):
    def __init__(self) -> None:
        self.logs: list[str] = []

    def Log(self, request: Any, context: Any) -> Any:
        self.logs.append(request.message)
        return empty_pb2.Empty()

    def GetRootResource(self, request: Any, context: Any) -> Any:
        return engine_pb2.GetRootResourceResponse(urn=STACK_URN)

    def SetRootResource(self, request: Any, context: Any) -> Any:
        return engine_pb2.SetRootResourceResponse()


class _Engine:
    """The engine's side: a resource monitor and an engine service on one 127.0.0.1 port."""

    def __init__(self, state: MockState) -> None:
        mocks = RealisticMocks(state)
        self.monitor = _MonitorService(_Monitor(mocks))
        self.engine = _EngineService()
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
        resource_pb2_grpc.add_ResourceMonitorServicer_to_server(self.monitor, self.server)
        engine_pb2_grpc.add_EngineServicer_to_server(self.engine, self.server)
        self.port = self.server.add_insecure_port("127.0.0.1:0")
        self.server.start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"


@pytest.fixture
def plugin(tmp_path: Path) -> Iterator[tuple[provider_pb2_grpc.ResourceProviderStub, _Engine]]:
    """The plugin directory run as the language host runs it, from another working directory and without the
    repository on PYTHONPATH; its first stdout line is its port."""
    engine = _Engine(MockState())
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "provider"), engine.address],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().decode().strip()
        if not line.isdigit():
            process.kill()
            _, stderr = process.communicate(timeout=30)
            raise AssertionError(f"the plugin printed {line!r} instead of its port:\n{stderr.decode()}")
        channel = grpc.insecure_channel(f"127.0.0.1:{line}")
        grpc.channel_ready_future(channel).result(timeout=60)
        yield provider_pb2_grpc.ResourceProviderStub(channel), engine
        channel.close()
    finally:
        process.kill()
        process.wait(timeout=30)
        engine.server.stop(grace=None)


def _construct(stub: Any, engine: _Engine, inputs: dict[str, Any]) -> Any:
    request = provider_pb2.ConstructRequest(
        project=PROJECT,
        stack=STACK,
        dryRun=False,
        parallel=4,
        monitorEndpoint=engine.address,
        type=TYPE_TOKEN,
        name="pack-registry",
        parent=STACK_URN,
        inputs=struct(inputs),
        accepts_output_values=True,
    )
    return stub.Construct(request, timeout=120)


def _secret(value: Any) -> dict[str, Any]:
    """A secret as the engine sends it."""
    return {rpc._special_sig_key: rpc._special_secret_sig, "value": value}


def test_get_schema_over_grpc_is_the_snapshot(plugin: Any) -> None:
    stub, _ = plugin
    response = stub.GetSchema(provider_pb2.GetSchemaRequest(version=0), timeout=60)
    assert json.loads(response.schema) == json.loads(SNAPSHOT.read_text())
    info = stub.GetPluginInfo(empty_pb2.Empty(), timeout=60)
    assert info.version == "0.1.0"


def test_construct_over_grpc_registers_the_programs_resources_and_returns_its_outputs(plugin: Any) -> None:
    """The dev stack's config as Construct inputs, the admin password as a secret: the program's resources (the
    monitor remembers the program's generated material, moved under the component), the program's exports as the
    component's state, secret where the program's are."""
    stub, engine = plugin
    password = "supplied-admin-password-0123456789"
    state = MockState()
    program = run_program({"adminPassword": password}, stack=STACK, state=state, secrets_={"adminPassword"})
    engine.monitor.monitor.mocks.state.resources.update(package_state(state).resources)  # type: ignore[attr-defined]

    response = _construct(stub, engine, {**stack_arguments(STACK), "adminPassword": _secret(password)})

    assert response.urn == PACKAGE_URN
    recorded = engine.monitor.monitor.recorded
    package = type(program)(recorded, {}, set(), [])
    assert _same_as_program(program, package) == []
    outputs = rpc.deserialize_properties(response.state, keep_unknowns=True)
    assert set(outputs) == {key for key, value in program.exports.items() if value is not None}
    secret = {key for key, value in outputs.items() if rpc.is_rpc_secret(value)}
    assert secret == {"adminPassword", "readOnlyPasswords"}
    assert rpc.unwrap_rpc_secret(outputs["adminPassword"]) == password
    assert outputs["endpoint"] == program.exports["endpoint"] == "https://localhost:5443"
    assert any("Palette registration is off" in message for message in engine.engine.logs)
    assert engine.monitor.outputs[PACKAGE_URN]["loginCommand"] == program.exports["loginCommand"]


def test_construct_over_grpc_refuses_a_bad_argument_with_the_configs_message(plugin: Any) -> None:
    """The component's one-line message reaches the engine in the error's first line. The host adds to it: it
    re-raises the component's exception as ``Exception(f"{message}:\n{stack}")`` (provider/server.py ``Construct``)
    and gRPC prefixes an unhandled exception with ``Unexpected <class 'Exception'>: ``."""
    stub, engine = plugin
    with pytest.raises(ConfigError) as program:
        parse({"port": 70000})
    expected = str(program.value).replace(f"config key '{PROJECT}:port':", f"{TYPE_TOKEN} argument 'port':", 1)
    with pytest.raises(grpc.RpcError) as caught:
        _construct(stub, engine, {**stack_arguments(STACK), "port": 70000})
    first_line = (caught.value.details() or "").splitlines()[0]
    assert first_line == f"Unexpected <class 'Exception'>: {expected}:"
    assert engine.monitor.monitor.recorded == [], "nothing is registered before the arguments are checked"


def test_the_dynamic_providers_load_elsewhere_only_with_the_repository_on_the_path(tmp_path: Path) -> None:
    """What docs/package.md asks of a program in another language: the engine starts the Python dynamic provider host in
    that program's directory (pulumi/pulumi#5455; sdk/python/dist/pulumi-resource-pulumi-python runs
    ``python -m pulumi.dynamic`` from $PULUMI_RUNTIME_VIRTUALENV), which unpickles each provider
    (sdk/python/lib/pulumi/dynamic/__main__.py ``get_provider``); the pickles refer to this repository's modules."""
    from tests.support.harness import READINESS
    from tests.support.package_support import run_package

    blob = run_package(stack_arguments(STACK)).one(READINESS).inputs["__provider"]
    (tmp_path / "provider.b64").write_text(blob)
    load = "import base64, dill; print(type(dill.loads(base64.b64decode(open('provider.b64').read()))).__module__)"
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    alone = subprocess.run([sys.executable, "-c", load], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert alone.returncode != 0 and "No module named 'components'" in alone.stderr
    env["PYTHONPATH"] = str(ROOT)
    with_path = subprocess.run([sys.executable, "-c", load], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert with_path.returncode == 0, with_path.stderr
    assert with_path.stdout.strip() == "components.readiness"


def test_construct_over_grpc_declares_each_pack_with_its_digest(plugin: Any) -> None:
    """Packs given to the package component by absolute path: the component runs inside the plugin's Construct
    (provider/server.py ``_construct``), where no program returns and the host waits only for the outstanding RPCs
    (``wait_for_rpcs(await_all_outstanding_tasks=False)``). The pack digests, worked out in the event loop after
    the component is declared (components/pack_registry/component.py ``_content_after_the_program``), must still
    reach the Pack's registration before Construct answers."""
    from components.packs.archive import pack_content
    from tests.program.test_packs_wiring import PACK
    from tests.support.paths import SAMPLE_PACK

    stub, engine = plugin
    _construct(stub, engine, {**stack_arguments(STACK), "registryKind": "oci", "packs": [str(SAMPLE_PACK)]})
    packs = [r for r in engine.monitor.monitor.recorded if r.type == PACK]
    assert len(packs) == 1
    content = pack_content(SAMPLE_PACK)
    assert packs[0].inputs["content_digest"] == content.content_digest
    assert packs[0].inputs["files"] == content.files
