"""What the registry exposes: the stack outputs of the program, which the package component also returns.

One place for their names and values, so the program (``__main__.py``) and the package component
(``components/package.py``) cannot drift apart. The keys are the export names (camelCase).
"""

from __future__ import annotations

from typing import Any

import pulumi

from components.config import RegistrySettings
from components.pack_registry import PackRegistry

__all__ = ["PALETTE_OUTPUTS", "SECRET_OUTPUTS", "registry_outputs"]

PALETTE_OUTPUTS = ("paletteRegistrationUid", "paletteRegistrationName", "paletteSyncStatus")
"""Present only when the registration in Palette is on."""

SECRET_OUTPUTS = ("adminPassword", "readOnlyPasswords")
"""Outputs whose values are secret (the package schema cannot say so: the component marks them at run time)."""


def registry_outputs(registry: PackRegistry, settings: RegistrySettings) -> dict[str, Any]:
    """Export name -> value (a plain value or an Output), in the order the README's outputs table lists them."""
    read_only_user = settings.read_only_users[0]
    passwords = registry.credentials.passwords
    outputs: dict[str, Any] = {
        "endpoint": settings.endpoint,
        "caCertificate": registry.ca_certificate,
        "certificateExpiresAt": registry.certificate_expires_at,
        "caExpiresAt": registry.ca_expires_at,
        "adminUser": settings.admin_user,
        "adminPassword": passwords[settings.admin_user],
        "readOnlyUsers": list(settings.read_only_users),
        "readOnlyPasswords": pulumi.Output.secret([passwords[u] for u in settings.read_only_users]),
        "containerName": settings.container_name,
        "dataVolume": registry.data_location,
        "instanceEndpoints": registry.instance_endpoints,
        "instanceContainerNames": registry.container_names,
        "loginCommand": f"spectro registry login {settings.host_port}" + ("" if settings.https else " --insecure"),
        "curlCommand": ("curl --cacert ca.crt " if settings.https else "curl ")
        + f"-u {read_only_user} {settings.endpoint}{settings.readiness.catalog_path}",
    }
    if registry.registration is not None:
        outputs["paletteRegistrationUid"] = registry.registration.uid
        outputs["paletteRegistrationName"] = registry.registration.name
        outputs["paletteSyncStatus"] = registry.registration.sync_status
    return outputs
