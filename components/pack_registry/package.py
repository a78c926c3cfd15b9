"""The pack registry as a component package: ``palette-pack-registry:index:PackRegistry`` for any Pulumi language.

``provider/__main__.py`` serves this class with the SDK's component provider host, which infers the package schema
from it (pulumi/pulumi sdk/python/lib/pulumi/provider/experimental/analyzer.py):

- the arguments are the TypedDict annotation of ``__init__``'s ``args`` (``PackRegistryArgs``, generated from
  Pulumi.yaml: one argument per config key, with its name, type, description and default);
- the outputs are the class's annotated ``pulumi.Output[...]`` attributes, described by the string after each;
- the type token is ``<package>:index:<class name>`` (schema.py ``generate_schema``; component.py
  ``validate_resource_type`` refuses any other module than ``index``);
- annotations are read as objects at run time (``inspect.get_annotations``), so this module must not use
  ``from __future__ import annotations``; an output cannot be a local component (no ``pulumi_type``), and the
  schema has no ``secret`` or ``default``: the secret outputs are secret by their values (the program's
  passwords), the defaults are Pulumi.yaml's, applied by ``parse_settings`` and written in the descriptions.

The component builds the program's settings from its arguments with the program's own ``parse_settings`` (the same
defaults and checks; a bad argument fails with the config's one-line message, naming the argument; the host
re-raises it with a traceback, provider/server.py ``Construct``), then declares the program's
``components.pack_registry.PackRegistry`` as its only child. That child keeps its own type token
(``palette-pack-registry:registry:PackRegistry``) and children, so the program's URNs do not change; under this
component they form a new layout, used only by stacks that add the package.
"""

import asyncio
import json
from typing import Any

import pulumi
from pulumi.errors import RunError
from pulumi.provider.experimental.component import ComponentProvider
from pulumi.runtime.sync_await import _sync_await

from components.config import PROJECT, SECRET_KEYS, ConfigError, RegistrySettings, parse_settings
from components.pack_registry import component as pack_registry
from components.pack_registry.outputs import registry_outputs
from components.pack_registry.package_args import PackRegistryArgs

__all__ = [
    "PACKAGE",
    "TYPE_TOKEN",
    "ArgumentError",
    "PackRegistry",
    "PackRegistryArgs",
    "argument_values",
    "package_provider",
]

PACKAGE = PROJECT
"""The package name: the schema's ``name`` and the first part of every type token."""

TYPE_TOKEN = f"{PACKAGE}:index:PackRegistry"


class PackRegistry(pulumi.ComponentResource):
    """A Spectro Cloud Palette custom pack registry on Docker (one or more hosts), registered in Palette."""

    endpoint: pulumi.Output[str]
    """URL clients use (the load-balanced name when there are several instances)."""
    caCertificate: pulumi.Output[str] | None
    """PEM chain clients must trust (the private CA, or the provided chain). Absent in http mode."""
    certificateExpiresAt: pulumi.Output[str] | None
    """When the served certificate expires, RFC 3339. Absent in http mode."""
    caExpiresAt: pulumi.Output[str] | None
    """When the CA (or the provided chain's last certificate) expires, RFC 3339. Absent in http mode."""
    adminUser: pulumi.Output[str]
    """Name of the admin user (pushes packs)."""
    adminPassword: pulumi.Output[str] | None
    """Password of the admin user. Secret. Absent for an existing registry (ociEndpoint)."""
    readOnlyUsers: pulumi.Output[list[str]] | None
    """Names of the read-only users. Absent for an existing registry (ociEndpoint)."""
    readOnlyPasswords: pulumi.Output[list[str]] | None
    """Passwords of the read-only users, in the order of readOnlyUsers. Secret. Absent for an existing registry."""
    containerName: pulumi.Output[str] | None
    """Name of the registry container on each host. Absent for an existing registry (ociEndpoint)."""
    dataVolume: pulumi.Output[str]
    """Volume name, host path or s3://bucket/prefix holding the pack data."""
    instanceEndpoints: pulumi.Output[list[str]]
    """The URL each instance is reached at (its readiness URL), one per Docker host."""
    instanceContainerNames: pulumi.Output[list[str]]
    """The container name on each host, as Docker reports it."""
    registryKind: pulumi.Output[str]
    """legacy or oci, as configured."""
    packRepository: pulumi.Output[str] | None
    """registryKind oci: where packs are pushed, <host[:port]>/<baseContentPath>/spectro-packs/archive."""
    pushCommand: pulumi.Output[str] | None
    """registryKind oci: the `oras push` command for a pack archive."""
    loginCommand: pulumi.Output[str]
    """The `spectro registry login` command for this registry (`oras login` for registryKind oci)."""
    curlCommand: pulumi.Output[str]
    """A curl command that lists the registry's catalog as the first read-only user."""
    garbageCollectCommand: pulumi.Output[str] | None
    """registryKind oci with maintenanceReadOnly true: the `docker exec` command that collects garbage. Else absent."""
    paletteRegistrationUid: pulumi.Output[str] | None
    """UID of the pack registry in Palette. Absent when the registration is off."""
    paletteRegistrationName: pulumi.Output[str] | None
    """Name of the pack registry in Palette. Absent when the registration is off."""
    paletteSyncStatus: pulumi.Output[str] | None
    """Pack sync status Palette reported. Absent when the registration is off."""
    packs: pulumi.Output[dict[str, dict[str, str]]] | None
    """name:version -> name, version, packUid, registryUid (for cluster profiles). Absent without Palette sync."""

    def __init__(self, name: str, args: PackRegistryArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        # Checked before anything is registered, as the program checks its config.
        try:
            settings = _settings(dict(args))
        except ConfigError as error:
            raise ArgumentError(error) from None
        super().__init__(TYPE_TOKEN, name, None, opts)
        self.registry = pack_registry.PackRegistry(name, settings, opts=pulumi.ResourceOptions(parent=self))
        # Secret where the program's exports are (the passwords): the schema cannot say so, the values do.
        outputs = registry_outputs(self.registry, settings)
        for attribute in PackRegistry.__annotations__:
            value = outputs.get(attribute)
            setattr(self, attribute, None if value is None else pulumi.Output.from_input(value))
        self.register_outputs({key: value for key, value in outputs.items() if value is not None})


class ArgumentError(RunError, ValueError):
    """A bad argument: the config's one-line message (its problem and fix), naming the argument."""

    def __init__(self, error: ConfigError) -> None:
        self.key = error.key
        super().__init__(f"{TYPE_TOKEN} argument '{error.key}': {error.problem}. {error.fix}")


def _settings(args: dict[str, Any]) -> RegistrySettings:
    """The program's settings from the arguments, by the program's own parse_settings (defaults and checks)."""
    values, secret_keys = argument_values(args)
    plain_only = sorted(secret_keys - set(SECRET_KEYS))
    if plain_only:
        # Settings other than the secret keys end up in resource names, container settings and outputs.
        raise ConfigError(plain_only[0], "is a secret, but this setting is not kept secret", "Pass a plain value.")

    def get(key: str) -> str | None:
        return _config_text(values[key]) if key in values else None

    def secret(key: str) -> Any:
        if not get(key):
            return None
        # The caller's value itself (its dependencies kept), in the program's shape: the config text.
        return pulumi.Output.secret(pulumi.Output.from_input(args[key]).apply(_config_text))

    return parse_settings(
        get,
        stack=pulumi.get_stack(),
        secret=secret,
        reveal=get,
        # A secret argument may come as a plain string: `secret` makes it secret, so none is refused as plain.
        is_secret=lambda _key: True,
        # The caller's program directory is not known here: pack directories must be absolute.
        project_dir=None,
    )


def argument_values(args: dict[str, Any]) -> tuple[dict[str, Any], set[str]]:
    """The arguments' plain values, and the names of those that came as secrets.

    The checks need plain values now, while the component is constructed: an argument may arrive as an Output (a
    secret, or a value with dependencies), which the provider host has already resolved
    (pulumi/pulumi sdk/python/lib/pulumi/provider/server.py ``_select_value``). Awaiting it here uses the SDK's own
    synchronous wait, which pumps the host's running event loop. A value not known yet (a preview, with a resource
    not created yet) cannot be checked and is refused.
    """

    async def resolve() -> tuple[dict[str, Any], set[str], list[str]]:
        values: dict[str, Any] = {}
        secrets: set[str] = set()
        unknown: list[str] = []
        for key, value in args.items():
            if value is None:
                continue
            output = pulumi.Output.from_input(value)
            if not await output.is_known():
                unknown.append(key)
                continue
            if await output.is_secret():
                secrets.add(key)
            values[key] = await output.future()
        return values, secrets, unknown

    values, secrets, unknown = _sync_await(asyncio.ensure_future(resolve()))
    for key in unknown:
        raise ConfigError(
            key,
            "is not known yet (it comes from a resource that is not created yet)",
            "Pass a value known before the deployment, or create that resource in an earlier `pulumi up`.",
        )
    return values, secrets


def _config_text(value: Any) -> str:
    """An argument as the CLI hands a config value to the program: text, with lists as JSON (ints from the wire
    arrive as floats)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list | tuple | dict):
        return json.dumps(list(value) if isinstance(value, tuple) else value)
    return str(value)


def package_provider(version: str) -> ComponentProvider:
    """The SDK's component provider for PackRegistry, its inferred schema marking the secret config keys'
    arguments ``secret``. The analyzer cannot express it, and a caller's SDK wraps an input in a secret only
    when the schema says so (pulumi/pulumi pkg/codegen/nodejs/gen.go ``genResource``: ``if prop.Secret``): a
    password passed as a plain string would otherwise sit in the caller's state in plain text."""
    provider = ComponentProvider([PackRegistry], PACKAGE, version=version)
    schema = json.loads(provider.schema or "{}")
    inputs = schema["resources"][TYPE_TOKEN]["inputProperties"]
    for key in SECRET_KEYS:
        inputs[key]["secret"] = True
    provider.schema = json.dumps(schema)
    return provider
