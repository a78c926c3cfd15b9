"""The program as released before PackRegistry (single host, resources at the stack), kept verbatim so the
upgrade test can evaluate it: an existing stack was deployed by exactly this code."""

import pulumi

from components.certificates import Certificates, CertificatesArgs
from components.config import load_settings
from components.credentials import Credentials, CredentialsArgs
from components.palette import PaletteRegistration
from components.readiness import ReadinessGate
from components.registry import DockerHost, Registry, RegistryArgs

settings = load_settings()

credentials = Credentials(
    "credentials",
    CredentialsArgs(
        admin_user=settings.admin_user,
        read_only_users=settings.read_only_users,
        password_length=settings.password_length,
        rotation_keeper=settings.rotation_keeper,
        admin_password=settings.admin_password,
        read_only_passwords=settings.read_only_passwords,
    ),
)

certificates = (
    Certificates(
        "tls",
        CertificatesArgs(
            tls_mode=settings.tls_mode,
            hosts=settings.hosts,
            ip_addresses=settings.ip_addresses,
            ca_common_name=f"{settings.container_name} {pulumi.get_stack()} CA",
            key_algorithm=settings.key_algorithm,
            ca_validity_hours=settings.ca_validity_hours,
            cert_validity_hours=settings.cert_validity_hours,
            cert_early_renewal_hours=settings.cert_early_renewal_hours,
            provided_certificate=settings.provided_certificate,
            provided_private_key=settings.provided_private_key,
        ),
    )
    if settings.https
    else None
)
if not settings.https:
    pulumi.log.warn(
        "tlsMode is 'http': credentials travel in clear text; Palette and `spectro registry login` "
        "need insecure mode (--insecure) to use this registry."
    )

registry = Registry(
    "registry",
    RegistryArgs(
        image=settings.image,
        container_name=settings.container_name,
        port=settings.port,
        bind_address=settings.bind_address,
        data_volume=settings.data_volume,
        log_level=settings.log_level,
        auth_realm=settings.auth_realm,
        htpasswd=credentials.htpasswd,
        rotation_keeper=settings.rotation_keeper,
        docker_host=DockerHost(
            host=settings.docker.host,
            ssh_opts=settings.docker.ssh_opts,
            ca_material=settings.docker.ca_material,
            cert_material=settings.docker.cert_material,
            key_material=settings.docker.key_material,
        ),
        certificate=certificates.certificate if certificates else None,
        private_key=certificates.private_key if certificates else None,
        pull_username=settings.pull_username,
        pull_password=settings.pull_password,
    ),
)

read_only_user = settings.read_only_users[0]
# `pulumi up` only succeeds (and only registers in Palette) once the registry really answers.
ready = (
    ReadinessGate(
        "readiness",
        url=settings.readiness.url,
        server_name=settings.primary_host,
        ca_certificate=certificates.ca_certificate if certificates else None,
        health_path=settings.readiness.health_path,
        catalog_path=settings.readiness.catalog_path,
        username=read_only_user,
        password=credentials.passwords[read_only_user],
        timeout_seconds=settings.readiness.timeout_seconds,
        triggers={"container": registry.container.id},
        opts=pulumi.ResourceOptions(depends_on=[registry.container]),
    )
    if settings.readiness.enabled
    else None
)

pulumi.export("endpoint", settings.endpoint)
pulumi.export("caCertificate", certificates.ca_certificate if certificates else None)
pulumi.export("adminUser", settings.admin_user)
pulumi.export("adminPassword", credentials.passwords[settings.admin_user])
pulumi.export("readOnlyUsers", list(settings.read_only_users))
pulumi.export("readOnlyPasswords", pulumi.Output.secret([credentials.passwords[u] for u in settings.read_only_users]))
pulumi.export("containerName", settings.container_name)
pulumi.export("dataVolume", settings.data_volume)
pulumi.export(
    "loginCommand",
    f"spectro registry login {settings.host_port}" + ("" if settings.https else " --insecure"),
)
pulumi.export(
    "curlCommand",
    ("curl --cacert ca.crt " if settings.https else "curl ")
    + f"-u {read_only_user} {settings.endpoint}{settings.readiness.catalog_path}",
)

if settings.palette.enabled:
    palette_user = settings.palette.user
    registration = PaletteRegistration(
        "palette",
        api_url=settings.palette.api_url,
        name=settings.palette.name,
        endpoint=settings.endpoint,
        username=palette_user,
        password=credentials.passwords[palette_user],
        ca_certificate=certificates.ca_certificate if certificates else None,
        tls_enabled=settings.https,
        insecure_skip_verify=settings.palette.insecure_skip_verify,
        allow_http=not settings.https,
        validate=settings.palette.validate,
        sync=settings.palette.sync,
        wait_for_sync=settings.palette.wait_for_sync,
        sync_timeout_seconds=settings.palette.sync_timeout_seconds,
        opts=pulumi.ResourceOptions(depends_on=[ready or registry.container]),
    )
    pulumi.export("paletteRegistrationUid", registration.uid)
    pulumi.export("paletteRegistrationName", registration.name)
    pulumi.export("paletteSyncStatus", registration.sync_status)
pulumi.log.info(settings.palette.reason)
