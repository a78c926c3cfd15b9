"""Evaluate the Pulumi program under mocks that behave like the real providers.

``pulumi.runtime.set_mocks`` is how Pulumi tests a program without its CLI. The mocks here do more than
echo inputs: like pulumi-random and pulumi-tls they return real passwords, real bcrypt hashes, real keys
and real certificates built from the inputs, so the tests can check the material with ``bcrypt``,
``htpasswd`` and ``cryptography`` and start the declared container on a real Docker engine.

A ``MockState`` remembers every resource's inputs and outputs by URN. Evaluating the program again with
the same state behaves like the engine on an unchanged stack: a resource whose inputs did not change gets
its old outputs back, without generating anything.
"""

from __future__ import annotations

import asyncio
import contextvars
import gc
import hashlib
import json
import re
import runpy
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

import pulumi
import yaml
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc
from pulumi.runtime.sync_await import _sync_await

from components.instance import docker_engine
from components.instance.docker_engine import EngineFacts
from tests.support.paths import ROOT
from tests.support.provider_material import (  # noqa: F401 - tests import the type tokens from here
    CERT_REQUEST,
    CONTAINER,
    IMAGE,
    LOCALLY_SIGNED,
    NETWORK,
    PASSWORD,
    PRIVATE_KEY,
    SELF_SIGNED,
    VOLUME,
    generate,
    replaces,
)

PROJECT = "palette-pack-registry"
PROGRAM = ROOT / "__main__.py"
DOCKER_PROVIDER = "pulumi:providers:docker"

DYNAMIC = "pulumi-python:dynamic"
"""Prefix of every dynamic resource type (pulumi-python:dynamic/<module>:<Name>)."""
BCRYPT_HASH = "pulumi-python:dynamic/registry:BcryptHash"
READINESS = "pulumi-python:dynamic/registry:ReadinessGate"
PALETTE = "pulumi-python:dynamic/palette:PackRegistry"


@dataclass
class Recorded:
    """One registered resource: what the program declared and what the mock provider returned."""

    type: str
    name: str
    urn: str
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    parent: str | None
    options: dict[str, Any]
    secret_inputs: set[str]
    """Top-level input keys whose value the program marked secret (wholly or in part)."""
    id: str = ""
    """The id the mock provider gave it."""
    secret_paths: set[str] = field(default_factory=set)
    """Paths (``envs[4]``, ``uploads[2].content``) of every value the program marked secret."""


@dataclass
class MockState:
    """What the engine would remember between two `pulumi up`s: inputs and outputs by URN."""

    resources: dict[str, tuple[dict[str, Any], dict[str, Any]]] = field(default_factory=dict)
    generated: int = 0
    """How many passwords, hashes, keys and certificates the mock providers generated."""


@dataclass
class ProgramRun:
    """The result of one evaluation of __main__.py."""

    resources: list[Recorded]
    exports: dict[str, Any]
    secret_exports: set[str]
    warnings: list[str]

    def all(self, type_: str) -> list[Recorded]:
        return [r for r in self.resources if r.type == type_]

    def one(self, type_: str) -> Recorded:
        found = self.all(type_)
        if len(found) != 1:
            raise AssertionError(f"expected one {type_}, found {[r.name for r in found]}")
        return found[0]

    def named(self, name: str) -> Recorded:
        found = [r for r in self.resources if r.name == name]
        if len(found) != 1:
            raise AssertionError(f"expected one resource named {name}, found {len(found)}")
        return found[0]

    def by_urn(self, urn: str) -> Recorded:
        return next(r for r in self.resources if r.urn == urn)


def _dynamic_outputs(inputs: dict[str, Any]) -> dict[str, Any]:
    """Dynamic resources: only the pure, local provider (bcrypt hashing) is run for real."""
    import base64

    import dill
    from pulumi.dynamic.dynamic import PROVIDER_KEY

    from components.credentials.bcrypt_hash import BcryptHashProvider

    provider = dill.loads(base64.b64decode(inputs[PROVIDER_KEY]))
    props = {k: v for k, v in inputs.items() if k != PROVIDER_KEY}
    if isinstance(provider, BcryptHashProvider):
        return {**inputs, **provider.create(props).outs}
    return dict(inputs)


READINESS_WRITE_PROBE_RESULT = "refused"
"""What the mock readiness gate's push as the read-only user met (components/readiness/probe.py ``WRITE_*``): a test
sets another to see what the program makes of it."""


class RealisticMocks(pulumi.runtime.Mocks):
    """Mock providers that return real secrets, hashes, keys and certificates."""

    def __init__(self, state: MockState) -> None:
        self.state = state
        self.urns: dict[tuple[str, str], str] = {}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        urn = self.urns.get((args.typ, args.name), f"{args.typ}::{args.name}")
        inputs = _unwrap(args.inputs)
        remembered = self.state.resources.get(urn)
        if remembered is not None and remembered[0] == inputs:
            outputs = remembered[1]
        elif remembered is not None and not replaces(args.typ, remembered[0], inputs):
            outputs = {**remembered[1], **inputs}
            self.state.resources[urn] = (inputs, outputs)
        else:
            outputs = self._create(args.typ, inputs)
            self.state.resources[urn] = (inputs, outputs)
        return outputs.get("__id", f"{args.name}-id"), {k: v for k, v in outputs.items() if k != "__id"}

    def _create(self, typ: str, inputs: dict[str, Any]) -> dict[str, Any]:
        material = generate(typ, inputs)
        if material is not None:
            self.state.generated += 1
            return material
        if typ == IMAGE:
            digest = hashlib.sha256(inputs["name"].encode()).hexdigest()
            return {**inputs, "imageId": f"sha256:{digest}", "repoDigest": f"{inputs['name']}@sha256:{digest}"}
        if typ == CONTAINER:
            return {**inputs, "__id": secrets.token_hex(32)}
        if typ == NETWORK:
            return {**inputs, "__id": secrets.token_hex(32)}
        if typ == VOLUME:
            return {**inputs, "mountpoint": f"/var/lib/docker/volumes/{inputs['name']}/_data"}
        if typ == PALETTE:
            uid = secrets.token_hex(12)
            return {**inputs, "uid": uid, "sync_status": "Pending", "__id": uid}
        if typ == READINESS:
            outputs = {**inputs, "ready_seconds": 0.1, "attempts": 1, "health_status": 200}
            if inputs.get("write_probe_path"):
                outputs["write_probe_result"] = READINESS_WRITE_PROBE_RESULT
            return outputs
        if typ.startswith(DYNAMIC):
            outputs = _dynamic_outputs(inputs)
            if "hash" in outputs and outputs["hash"] != inputs.get("hash"):
                self.state.generated += 1
            return outputs
        return dict(inputs)

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        return {}, None


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """The SDK's mock monitor, also keeping each registration's parent, options and secret inputs."""

    def __init__(self, mocks: RealisticMocks) -> None:
        super().__init__(mocks)
        self.recorded: list[Recorded] = []

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        """The URN the engine gives a resource (pulumi/pulumi pkg/resource/deploy/deployment.go ``generateURN``).

        Its type is prefixed with the parent's whole qualified type (``Outer$Inner$type``), except when the
        parent is the root stack (``pulumi:pulumi:Stack``), whose children carry no prefix. The SDK's mock
        monitor keeps only the parent's last type and prefixes the stack's: an upgrade test compares URNs
        with the engine's, so they must be built the same way.
        """
        qualified = type_
        if parent:
            parent_type = parent.split("::")[2]
            if parent_type != "pulumi:pulumi:Stack":
                qualified = f"{parent_type}${type_}"
        return "urn:pulumi:" + "::".join([pulumi.get_stack(), pulumi.get_project(), qualified, name])

    def RegisterResource(self, request: Any) -> Any:
        urn = self.make_urn(request.parent, request.type, request.name)
        assert isinstance(self.mocks, RealisticMocks)
        self.mocks.urns[(request.type, request.name)] = urn
        response = super().RegisterResource(request)
        if request.type == "pulumi:pulumi:Stack":
            return response
        raw = rpc.deserialize_properties(request.object, keep_unknowns=True)
        secret_inputs = {key for key, value in raw.items() if _contains_secret(value)}
        inputs = {key: _unwrap(value) for key, value in raw.items()}
        outputs = self.mocks.state.resources[urn][1]
        self.recorded.append(
            Recorded(
                type=request.type,
                name=request.name,
                urn=urn,
                inputs=inputs,
                outputs={k: v for k, v in outputs.items() if k != "__id"},
                parent=request.parent or None,
                options={
                    "provider": request.provider or None,
                    "dependencies": list(request.dependencies),
                    "delete_before_replace": request.deleteBeforeReplace,
                    "retain_on_delete": request.retainOnDelete,
                    "protect": request.protect,
                    "additional_secret_outputs": list(request.additionalSecretOutputs),
                    "replace_on_changes": list(request.replaceOnChanges),
                    "ignore_changes": list(request.ignoreChanges),
                    "property_dependencies": {
                        key: list(deps.urns) for key, deps in request.propertyDependencies.items()
                    },
                    "aliases": [_alias(alias) for alias in request.aliases],
                },
                secret_inputs=secret_inputs,
                id=response.id,
                secret_paths={path for key, value in raw.items() for path in _secret_paths(value, key)},
            )
        )
        return response


def _alias(alias: Any) -> dict[str, Any]:
    """An alias as sent to the engine: a full URN, or a spec (name/type/parent or no parent) to resolve."""
    if alias.HasField("urn"):
        return {"urn": alias.urn}
    spec = alias.spec
    return {
        "name": spec.name,
        "type": spec.type,
        "stack": spec.stack,
        "project": spec.project,
        "parent_urn": spec.parentUrn,
        "no_parent": spec.noParent,
    }


def _secret_paths(value: Any, path: str) -> list[str]:
    if rpc.is_rpc_secret(value):
        return [path]
    if isinstance(value, dict):
        return [p for key, item in value.items() for p in _secret_paths(item, f"{path}.{key}")]
    if isinstance(value, list):
        return [p for index, item in enumerate(value) for p in _secret_paths(item, f"{path}[{index}]")]
    return []


def _contains_secret(value: Any) -> bool:
    if rpc.is_rpc_secret(value):
        return True
    if isinstance(value, dict):
        return any(_contains_secret(v) for v in value.values())
    if isinstance(value, list):
        return any(_contains_secret(v) for v in value)
    return False


def _unwrap(value: Any) -> Any:
    value = rpc.unwrap_rpc_secret(value)
    if isinstance(value, dict):
        return {k: _unwrap(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unwrap(v) for v in value]
    return value


class _WarningLog:
    """Collects what the program says through pulumi.log (the mock engine's logger)."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def debug(self, message: str, *args: Any, **kwargs: Any) -> None:
        return None

    def __getattr__(self, level: str) -> Any:
        return lambda message, *args, **kwargs: self.messages.append(f"{level}: {message}")


# ---------------------------------------------------------------------------------------------------------
# Running the program.


class _Yaml12Loader(yaml.SafeLoader):
    """PyYAML's safe loader with YAML 1.2 booleans, as the CLI's gopkg.in/yaml.v3 resolves them (go-yaml
    ``resolve.go``: true/True/TRUE, false/False/FALSE; ``yes``, ``on`` and ``off`` stay strings)."""


_Yaml12Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def load_yaml(text: str) -> Any:
    """YAML as the Pulumi CLI reads Pulumi.yaml and stack files."""
    return yaml.load(text, Loader=_Yaml12Loader)  # noqa: S506 - a SafeLoader subclass


def declared_defaults() -> dict[str, Any]:
    """The defaults Pulumi.yaml declares, key -> value (a null default is none, as for the CLI)."""
    declared = load_yaml((ROOT / "Pulumi.yaml").read_text())["config"]
    return {key: spec["default"] for key, spec in declared.items() if spec.get("default") is not None}


def stack_config(stack: str) -> dict[str, Any]:
    """The committed Pulumi.<stack>.yaml config, project namespace stripped."""
    path = ROOT / f"Pulumi.{stack}.yaml"
    data = load_yaml(path.read_text()) if path.exists() else {}
    prefix = f"{PROJECT}:"
    return {k.removeprefix(prefix): v for k, v in ((data or {}).get("config") or {}).items()}


def as_config_string(value: Any) -> str:
    """How the CLI hands config values to a program: strings, with lists and maps as JSON."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return json.dumps(value)
    return str(value)


def _every_limit_kept(host: str, container_name: str, **_: Any) -> EngineFacts:
    return EngineFacts()


def _close_loop(loop: asyncio.AbstractEventLoop) -> None:
    """Ends a run's loop: a failed run leaves tasks pending and outputs whose exception nobody reads, which asyncio
    reports when they are collected. Cancelled, closed and collected here, the report lands in the test's own captured
    output instead of after the session's summary (where it hid pytest's list of failures)."""
    pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
    for task in pending:
        task.cancel()
    if pending:
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
    loop.close()
    asyncio.set_event_loop(None)
    gc.collect()


def run_program(
    config: dict[str, Any] | None = None,
    *,
    stack: str = "dev",
    state: MockState | None = None,
    secrets_: set[str] | None = None,
    use_stack_file: bool = True,
    preview: bool = False,
    program_file: Path = PROGRAM,
    main: Callable[[], Any] | None = None,
    engine: Callable[..., EngineFacts] | None = None,
) -> ProgramRun:
    """Evaluate __main__.py for ``stack`` with its committed config, overridden by ``config``.

    ``engine`` stands in for ``components.instance.docker_engine.ask_engine`` (what each Docker engine answers before
    deploying); by default every engine keeps memory and swap limits and adds no log options. Pass
    ``docker_engine.ask_engine`` itself to ask the real engines the config names.

    Keys in ``secrets_`` are passed as secret config, as `pulumi config set --secret` would. As the CLI
    does, every key the stack leaves unset gets its declared default, as a plain value (pulumi/pulumi
    ``pkg/workspace/config.go`` ``mergeConfig``). ``main``, when given, runs instead of the program file.
    """
    values = {
        **declared_defaults(),
        **(stack_config(stack) if use_stack_file else {}),
        **(config or {}),
    }
    state = state if state is not None else MockState()
    mocks = RealisticMocks(state)
    monitor = RecordingMonitor(mocks)
    log = _WarningLog()

    def evaluate() -> ProgramRun:
        # A loop of its own: a test that ran asyncio.run() earlier leaves this thread without one.
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        pulumi.runtime.set_all_config(
            {f"{PROJECT}:{k}": as_config_string(v) for k, v in values.items()},
            [f"{PROJECT}:{k}" for k in (secrets_ or set())],
        )
        pulumi.runtime.settings.ROOT.set(None)
        pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=stack, preview=preview, monitor=monitor, logger=log)  # type: ignore[arg-type]

        outputs: dict[str, pulumi.Output[Any]] = {}

        @pulumi.runtime.test
        def program() -> Any:
            if main is not None:
                main()
            else:
                runpy.run_path(str(program_file), run_name="__main__")
            root = pulumi.runtime.settings.get_root_resource()
            outputs.update({k: pulumi.Output.from_input(v) for k, v in (getattr(root, "outputs", {}) or {}).items()})
            return pulumi.Output.all(*outputs.values())

        try:
            with mock.patch.object(docker_engine, "ask_engine", engine or _every_limit_kept):
                program()
            exports = {key: _sync_await(output.future()) for key, output in outputs.items()}
            secret_exports = {key for key, output in outputs.items() if _sync_await(output.is_secret())}
        finally:
            # The loop made above, not whichever is current now (the program may have set or unset one).
            _close_loop(loop)
        return ProgramRun(monitor.recorded, exports, secret_exports, log.messages)

    return contextvars.Context().run(evaluate)
