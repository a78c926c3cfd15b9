"""What the registry exposes: the stack outputs of the program, which the package component also returns.

One place for their names and values, so the program (``__main__.py``) and the package component
(``pack_registry/package.py``) cannot drift apart. The keys are the export names (camelCase).
"""

from __future__ import annotations

import shlex
from typing import Any

import pulumi

from components.config import RegistrySettings
from components.config.network import is_loopback
from components.pack_registry.component import PackRegistry

__all__ = [
    "DEPLOYED_OUTPUTS",
    "MAINTENANCE_OUTPUTS",
    "OCI_OUTPUTS",
    "PACK_OUTPUTS",
    "PALETTE_OUTPUTS",
    "SECRET_OUTPUTS",
    "garbage_collect_command",
    "registry_outputs",
]

PALETTE_OUTPUTS = ("paletteRegistrationUid", "paletteRegistrationName", "paletteSyncStatus")
"""Present only when the registration in Palette is on."""

PACK_OUTPUTS = ("packs",)
"""Present only when the stack publishes packs and Palette registers and syncs them (the proof's outputs: per
``name:version``, the pack's name, version, packUid and registryUid, what a cluster profile references)."""

OCI_OUTPUTS = ("packRepository", "pushCommand")
"""Present only for registryKind oci."""

DEPLOYED_OUTPUTS = ("adminPassword", "readOnlyUsers", "readOnlyPasswords", "containerName")
"""Present only when the program deploys the registry (not for an existing one, ociEndpoint)."""

MAINTENANCE_OUTPUTS = ("garbageCollectCommand",)
"""Present only while a registry the program runs is read-only for maintenance (maintenanceReadOnly): garbage
collection is safe only then, and a command that is absent cannot be run by mistake."""

SECRET_OUTPUTS = ("adminPassword", "readOnlyPasswords")
"""Outputs whose values are secret (the package schema cannot say so: the component marks them at run time)."""


def registry_outputs(registry: PackRegistry, settings: RegistrySettings) -> dict[str, Any]:
    """Export name -> value (a plain value or an Output), in the order the README's outputs table lists them."""
    kind = settings.kind.kind
    network = settings.network
    outputs: dict[str, Any] = {
        "endpoint": network.endpoint,
        "caCertificate": registry.ca_certificate,
        "certificateExpiresAt": registry.certificate_expires_at,
        "caExpiresAt": registry.ca_expires_at,
        "adminUser": registry.push_user,
    }
    if registry.credentials is not None:
        passwords = registry.credentials.passwords
        outputs.update(
            adminPassword=passwords[settings.users.admin_user],
            readOnlyUsers=list(settings.users.read_only_users),
            readOnlyPasswords=pulumi.Output.secret([passwords[u] for u in settings.users.read_only_users]),
            containerName=settings.container.container_name,
        )
    outputs.update(
        dataVolume=registry.data_location,
        instanceEndpoints=registry.instance_endpoints,
        instanceContainerNames=registry.container_names,
        registryKind=kind.name,
    )
    outputs.update(
        kind.client_outputs(
            host_port=network.host_port,
            https=network.https,
            push_user=registry.push_user,
            private_ca=registry.ca_certificate is not None,
            loopback=is_loopback(network.primary_host),
            pack_repository=f"{network.host_port}/{settings.kind.pack_repository_path}",
        )
    )
    catalog_user = settings.users.read_only_users[0] if registry.credentials is not None else registry.pull_user
    outputs["curlCommand"] = (
        "curl --cacert ca.crt " if registry.ca_certificate is not None else "curl "
    ) + f"-u {catalog_user} {network.endpoint}{settings.readiness.catalog_path}"
    collect = garbage_collect_command(settings)
    if collect is not None:
        outputs["garbageCollectCommand"] = collect
    if registry.registration is not None:
        outputs["paletteRegistrationUid"] = registry.registration.uid
        outputs["paletteRegistrationName"] = registry.registration.name
        outputs["paletteSyncStatus"] = registry.registration.sync_status
    if registry.proof is not None:
        outputs["packs"] = registry.proof.packs_proven
    return outputs


def garbage_collect_command(settings: RegistrySettings) -> str | None:
    """The ``docker`` command that collects the registry's garbage, while it is read-only (else None).

    It runs the kind's command in the first instance's registry container, on the engine the program deployed it
    to (``-H``: not whatever DOCKER_HOST or context the shell has). Once is enough: every instance serves the same
    storage (components.config.docker_hosts ``check_shared_data``), and every one is read-only.
    """
    command = settings.kind.kind.garbage_collect_command()
    if command is None or settings.existing is not None or not settings.storage.maintenance.read_only:
        return None
    host = settings.instances[0].docker.host
    return f"docker -H {shlex.quote(host)} exec {shlex.quote(settings.container.container_name)} {command}"
