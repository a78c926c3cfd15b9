"""Pack registry for Spectro Cloud Palette: typed config in, one component, outputs out."""

import pulumi

from components.config import load_settings
from components.kinds import LEGACY
from components.pack_registry import PackRegistry

settings = load_settings()
registry = PackRegistry("pack-registry", settings)
kind = settings.kind.kind

pulumi.export("endpoint", settings.endpoint)
pulumi.export("caCertificate", registry.ca_certificate)
pulumi.export("certificateExpiresAt", registry.certificate_expires_at)
pulumi.export("caExpiresAt", registry.ca_expires_at)
pulumi.export("adminUser", registry.push_user)
if registry.credentials is not None:
    passwords = registry.credentials.passwords
    pulumi.export("adminPassword", passwords[settings.admin_user])
    pulumi.export("readOnlyUsers", list(settings.read_only_users))
    pulumi.export("readOnlyPasswords", pulumi.Output.secret([passwords[u] for u in settings.read_only_users]))
    pulumi.export("containerName", settings.container_name)
pulumi.export("dataVolume", registry.data_location)
pulumi.export("instanceEndpoints", registry.instance_endpoints)
pulumi.export("instanceContainerNames", registry.container_names)
pulumi.export("registryKind", kind.name)
if kind is LEGACY:
    pulumi.export(
        "loginCommand",
        f"spectro registry login {settings.host_port}" + ("" if settings.https else " --insecure"),
    )
else:
    pack_repository = f"{settings.host_port}/{settings.kind.pack_repository_path}"
    pulumi.export("packRepository", pack_repository)
    pulumi.export("pushCommand", f"oras push {pack_repository}/<name>:<version> <name>-<version>.tar.gz")
    trust = "--ca-file ca.crt " if registry.ca_certificate is not None else ""
    pulumi.export(
        "loginCommand",
        f"oras login -u {registry.push_user} " + (trust if settings.https else "--plain-http ") + settings.host_port,
    )
pulumi.export(
    "curlCommand",
    ("curl --cacert ca.crt " if registry.ca_certificate is not None else "curl ")
    + f"-u {settings.read_only_users[0] if registry.credentials else registry.pull_user} "
    + f"{settings.endpoint}{settings.readiness.catalog_path}",
)
if registry.registration is not None:
    pulumi.export("paletteRegistrationUid", registry.registration.uid)
    pulumi.export("paletteRegistrationName", registry.registration.name)
    pulumi.export("paletteSyncStatus", registry.registration.sync_status)
