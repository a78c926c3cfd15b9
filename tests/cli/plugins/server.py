"""The gRPC side every stand-in plugin shares: started as ``<plugin> [flags] <engine address>``, it listens on
127.0.0.1, prints its port alone on a line (the engine reads that line, sdk/go/common/resource/plugin/plugin.go
newPlugin) and serves ``pulumirpc.ResourceProvider`` for the resource types it is given.

The engine speaks first through Handshake; a plugin that answers UNIMPLEMENTED (as this one does) gets its
protocol from ConfigureResponse instead (provider_plugin.go NewProvider and Configure). Configure answers
``acceptSecrets=False``: the engine then strips secrets from what it sends and marks as secret every output whose
input of the same name held one (provider_plugin.go ``annotateSecrets``, applied to what Check, Create, Read and
Update return), so a plugin never sees a secret marker. Configure's own ``args`` always keep them
(``KeepSecrets: true``): they are unwrapped here.

Values arrive as the wire shapes them: numbers as floats, unknowns (previews) as ``rpc.UNKNOWN``. Nothing but
the port goes to stdout, and no message names a secret value.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Callable, Iterable, Mapping
from concurrent import futures
from typing import Any

import grpc
from google.protobuf import empty_pb2, struct_pb2
from pulumi.runtime import rpc
from pulumi.runtime._grpc_settings import _GRPC_CHANNEL_OPTIONS
from pulumi.runtime.proto import plugin_pb2, provider_pb2, provider_pb2_grpc

from tests.support.grpc_support import struct

__all__ = [
    "UNKNOWN",
    "Props",
    "ResourceType",
    "StandinProvider",
    "UnknownType",
    "changed_keys",
    "plugin_version",
    "serve",
]

UNKNOWN = rpc.UNKNOWN
"""How the engine sends (and takes back) a value not known yet, in a preview."""

Props = dict[str, Any]


class ResourceType:
    """What one resource type does. The defaults are a bridged Terraform resource that lives only in the state
    and whose every input is ForceNew (pulumi-random, pulumi-tls): a changed input replaces it."""

    token: str = ""
    computed: tuple[str, ...] = ()
    """Outputs the provider computes: unknown in a preview."""
    in_place: frozenset[str] = frozenset()
    """Inputs whose change is an update in place rather than a replacement."""

    def check(self, news: Props) -> Props:
        return news

    def diff(self, state: Props, old_inputs: Props, news: Props) -> tuple[list[str], list[str]]:
        """(changed input keys, the keys among them that force a replacement)."""
        changed = changed_keys(old_inputs, news)
        return changed, [key for key in changed if key not in self.in_place]

    def create(self, inputs: Props) -> tuple[str, Props]:
        raise NotImplementedError

    def read(self, id_: str, state: Props, inputs: Props) -> tuple[str, Props, Props]:
        """(id, state, inputs); an empty id says the object is gone and the engine drops it."""
        return id_, state, inputs

    def update(self, id_: str, state: Props, news: Props) -> Props:
        return {**state, **news}

    def delete(self, id_: str, state: Props) -> None:
        return None


def changed_keys(olds: Mapping[str, Any], news: Mapping[str, Any]) -> list[str]:
    """Top-level keys whose value differs (an unknown new value always does)."""
    return sorted(key for key in set(olds) | set(news) if olds.get(key) != news.get(key) or news.get(key) == UNKNOWN)


def _props(message: struct_pb2.Struct) -> Props:
    return rpc.deserialize_properties(message, keep_unknowns=True) or {}


def _type_of(request: Any) -> str:
    """The request's resource type, from the URN when the engine left ``type`` empty."""
    if getattr(request, "type", ""):
        return str(request.type)
    qualified = str(request.urn).split("::")[2]
    return qualified.split("$")[-1]


class UnknownType(LookupError):
    """A resource type the plugin does not serve."""


def _failing(method: Callable[..., Any]) -> Callable[..., Any]:
    """An exception becomes the RPC's error, its message only: no traceback, no values."""

    def wrapper(self: StandinProvider, request: Any, context: grpc.ServicerContext) -> Any:
        try:
            return method(self, request, context)
        except UnknownType as error:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(error))
        except Exception as error:  # every failure goes back to the engine, as its message
            context.abort(grpc.StatusCode.UNKNOWN, f"{self.package} stand-in: {type(error).__name__}: {error}")

    wrapper.__name__ = method.__name__
    return wrapper


class StandinProvider(provider_pb2_grpc.ResourceProviderServicer):
    """The ResourceProvider service for one package's resource types."""

    def __init__(
        self,
        package: str,
        version: str,
        types: Iterable[ResourceType],
        configure: Callable[[Props], None] | None = None,
    ) -> None:
        self.package = package
        self.version = version
        self.types = {resource_type.token: resource_type for resource_type in types}
        self._configure = configure

    def _resource(self, request: Any) -> ResourceType:
        token = _type_of(request)
        if token not in self.types:
            served = ", ".join(sorted(self.types))
            raise UnknownType(
                f"the {self.package} stand-in provider has no resource type '{token}' (it serves {served})"
            )
        return self.types[token]

    def GetPluginInfo(self, request: Any, context: grpc.ServicerContext) -> plugin_pb2.PluginInfo:
        return plugin_pb2.PluginInfo(version=self.version)

    def CheckConfig(self, request: Any, context: grpc.ServicerContext) -> provider_pb2.CheckResponse:
        return provider_pb2.CheckResponse(inputs=request.news)

    def DiffConfig(self, request: Any, context: grpc.ServicerContext) -> provider_pb2.DiffResponse:
        # A changed setting reconfigures the provider; none replaces it (and with it every resource it manages).
        changed = changed_keys(_props(request.olds), _props(request.news))
        changes = provider_pb2.DiffResponse.DIFF_SOME if changed else provider_pb2.DiffResponse.DIFF_NONE
        return provider_pb2.DiffResponse(changes=changes, diffs=changed)

    @_failing
    def Configure(self, request: Any, context: grpc.ServicerContext) -> provider_pb2.ConfigureResponse:
        if self._configure is not None:
            config, _ = rpc.deserialize_properties_unwrap_secrets(request.args, keep_unknowns=True)
            self._configure({key: value for key, value in (config or {}).items() if key != "version"})
        return provider_pb2.ConfigureResponse(acceptSecrets=False, acceptResources=False, supportsPreview=True)

    @_failing
    def Check(self, request: Any, context: grpc.ServicerContext) -> provider_pb2.CheckResponse:
        resource_type = self._resource(request)
        return provider_pb2.CheckResponse(inputs=struct(resource_type.check(_props(request.news))))

    @_failing
    def Diff(self, request: Any, context: grpc.ServicerContext) -> provider_pb2.DiffResponse:
        resource_type = self._resource(request)
        state, news = _props(request.olds), _props(request.news)
        old_inputs = _props(request.old_inputs) or {k: v for k, v in state.items() if k not in resource_type.computed}
        changed, replaces = resource_type.diff(state, old_inputs, news)
        changes = provider_pb2.DiffResponse.DIFF_SOME if changed else provider_pb2.DiffResponse.DIFF_NONE
        # deleteBeforeReplace is left to the engine: the program asks for it where it must.
        return provider_pb2.DiffResponse(changes=changes, replaces=replaces, diffs=changed)

    @_failing
    def Create(self, request: Any, context: grpc.ServicerContext) -> provider_pb2.CreateResponse:
        resource_type = self._resource(request)
        inputs = _props(request.properties)
        if request.preview:
            preview = {**inputs, **dict.fromkeys(resource_type.computed, UNKNOWN)}
            return provider_pb2.CreateResponse(id="", properties=struct(preview))
        id_, outputs = resource_type.create(inputs)
        return provider_pb2.CreateResponse(id=id_, properties=struct(outputs))

    @_failing
    def Read(self, request: Any, context: grpc.ServicerContext) -> provider_pb2.ReadResponse:
        resource_type = self._resource(request)
        id_, state, inputs = resource_type.read(request.id, _props(request.properties), _props(request.inputs))
        if not id_:
            return provider_pb2.ReadResponse(id="")
        return provider_pb2.ReadResponse(id=id_, properties=struct(state), inputs=struct(inputs))

    @_failing
    def Update(self, request: Any, context: grpc.ServicerContext) -> provider_pb2.UpdateResponse:
        resource_type = self._resource(request)
        state, news = _props(request.olds), _props(request.news)
        outputs = {**state, **news} if request.preview else resource_type.update(request.id, state, news)
        return provider_pb2.UpdateResponse(properties=struct(outputs))

    @_failing
    def Delete(self, request: Any, context: grpc.ServicerContext) -> empty_pb2.Empty:
        resource_type = self._resource(request)
        resource_type.delete(request.id, _props(request.properties))
        return empty_pb2.Empty()

    def Cancel(self, request: Any, context: grpc.ServicerContext) -> empty_pb2.Empty:
        return empty_pb2.Empty()


def plugin_version(package: str) -> str:
    """The plugin version the installed SDK package asks the engine for. The package asks with the version in its
    metadata made semver (``pulumi_random/_utilities.py`` ``get_version``: ``importlib.metadata.version``); its
    ``pulumi-plugin.json`` holds the same (the file the SDK's plugin discovery reads, sdk/python/lib/pulumi/
    provider/experimental/analyzer.py; tests/cli/test_standin_plugins.py holds the two equal). Read from the file:
    each stand-in starts within a ``pulumi up``, and importing ``importlib.metadata`` costs it a sixth of a second."""
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise RuntimeError(f"the stand-in plugin needs the {package} package installed")
    with open(spec.origin.rsplit("/", 1)[0] + "/pulumi-plugin.json", encoding="utf-8") as handle:
        return str(json.load(handle)["version"])


def serve(provider: StandinProvider) -> None:
    """Serves until the engine kills the process. The command line (``[--logtostderr] [-v=N] [--tracing URL]
    <engine address>``, plugin.go buildPluginArguments) is not needed: this plugin calls the engine for nothing."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8), options=_GRPC_CHANNEL_OPTIONS)
    provider_pb2_grpc.add_ResourceProviderServicer_to_server(provider, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    sys.stdout.write(f"{port}\n")
    sys.stdout.flush()
    try:
        server.wait_for_termination()
    except KeyboardInterrupt:
        server.stop(0)
