"""Pack registry for Spectro Cloud Palette: typed config in, one component, outputs out."""

import pulumi

from components.config import load_settings
from components.kinds import OCI
from components.pack_registry import PackRegistry

settings = load_settings()
registry = PackRegistry("pack-registry", settings)

read_only_user = settings.read_only_users[0]
passwords = registry.credentials.passwords
pulumi.export("endpoint", settings.endpoint)
pulumi.export("caCertificate", registry.ca_certificate)
pulumi.export("certificateExpiresAt", registry.certificate_expires_at)
pulumi.export("caExpiresAt", registry.ca_expires_at)
pulumi.export("adminUser", settings.admin_user)
pulumi.export("adminPassword", passwords[settings.admin_user])
pulumi.export("readOnlyUsers", list(settings.read_only_users))
pulumi.export("readOnlyPasswords", pulumi.Output.secret([passwords[u] for u in settings.read_only_users]))
pulumi.export("containerName", settings.container_name)
pulumi.export("dataVolume", registry.data_location)
pulumi.export("instanceEndpoints", registry.instance_endpoints)
pulumi.export("instanceContainerNames", registry.container_names)
pulumi.export("registryKind", settings.kind.kind.name)
if settings.kind.kind is OCI:
    pack_repository = f"{settings.host_port}/{settings.kind.pack_repository_path}"
    pulumi.export("packRepository", pack_repository)
    pulumi.export("pushCommand", f"oras push {pack_repository}/<name>:<version> <name>-<version>.tar.gz")
    pulumi.export(
        "loginCommand",
        f"oras login -u {settings.admin_user} "
        + ("--ca-file ca.crt " if settings.https else "--plain-http ")
        + settings.host_port,
    )
else:
    pulumi.export(
        "loginCommand",
        f"spectro registry login {settings.host_port}" + ("" if settings.https else " --insecure"),
    )
pulumi.export(
    "curlCommand",
    ("curl --cacert ca.crt " if settings.https else "curl ")
    + f"-u {read_only_user} {settings.endpoint}{settings.readiness.catalog_path}",
)
if registry.registration is not None:
    pulumi.export("paletteRegistrationUid", registry.registration.uid)
    pulumi.export("paletteRegistrationName", registry.registration.name)
    pulumi.export("paletteSyncStatus", registry.registration.sync_status)
