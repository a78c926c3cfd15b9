"""The whole pack registry as one component: credentials, certificates, one instance per Docker host, a
readiness gate per instance, and the Palette registration at the shared endpoint.

Another Pulumi program gets the same registry with ``PackRegistry("pack-registry", parse_settings(...))``.

Instances and rolling replacement
    Every instance runs the same image, port, users (one htpasswd), certificate and ``REGISTRY_HTTP_SECRET``
    (an upload started on one instance may finish on another). Instance *i+1*'s container depends on
    instance *i*'s readiness gate, so a change that replaces every container (rotation, a new certificate, a
    new image) replaces them one after another: the engine only registers instance *i+1* once gate *i* has
    seen instance *i* answer again, and each replacement deletes the old container first (its name and port
    are unique on its host). At no moment is every instance down. For the OCI kind an instance is two
    containers on a private network of their own, the registry and the nginx proxy in front of it; the gate
    waits for both, so both are replaced and ready before the next instance is touched.

Names and upgrades
    The first instance keeps the names the single-host program gave its resources (``registry``,
    ``readiness``), as do ``credentials``, ``tls`` and ``palette``; they moved under this component with an
    alias to their old parent (the stack), and the engine carries a matched parent alias to their children.
    So an existing single-host stack upgrades without replacing anything. Further instances are named after
    their Docker host (``registry-<host slug>``): adding or removing a host adds or removes only that one.
"""

from __future__ import annotations

import asyncio
import hashlib
import os

import pulumi
import pulumi_random as random

from components.config import PROJECT, DockerHostSettings, InstanceSettings, RegistrySettings
from components.credentials.certificates import Certificates
from components.credentials.passwords import Credentials
from components.instance.container import INSTANCE_TYPE, Instance, InstanceArgs
from components.instance.storage import storage_hint
from components.kinds.kind import ServedTls
from components.packs import Pack
from components.packs.archive import PackContent, pack_content
from components.packs.directory import PackSource
from components.packs.walker import PACKIGNORE, PackIgnoreError
from components.palette import PackProof, PaletteRegistration
from components.palette.proof import pack_key
from components.readiness import ReadinessGate
from components.readiness.probe import WRITE_ALLOWED

__all__ = ["PackRegistry"]


def _moved_from_stack() -> list[pulumi.Alias]:
    """Aliases of a resource that was the stack's own child before this component existed."""
    return [pulumi.Alias(parent=pulumi.ROOT_STACK_RESOURCE)]


def _single_host_aliases(name: str, instance: InstanceSettings) -> list[pulumi.Alias]:
    """Where earlier runs kept the instance that runs on ``dockerHost``: the single-host program's own
    child ``name`` of the stack, or, for the only instance of a single-host stack, the ``name-<host>`` a
    ``dockerHosts`` list gave it. The engine gives the instance's children the matching aliases (their names
    start with the instance's), so the instance takes its resources over and nothing is replaced."""
    if not instance.on_docker_host:
        return []
    aliases = [pulumi.Alias(name=name, parent=pulumi.ROOT_STACK_RESOURCE)]
    if not instance.key and instance.host_slug:
        aliases.append(pulumi.Alias(name=f"{name}-{instance.host_slug}"))
    return aliases


class PackRegistry(pulumi.ComponentResource):
    """A Palette pack registry on one or more Docker hosts, registered once in Palette."""

    endpoint: str
    """URL clients use (the load-balanced name when there are several instances)."""
    credentials: Credentials | None
    """None for an existing registry (its users are its own)."""
    certificates: Certificates | None
    """None in http mode."""
    ca_certificate: pulumi.Output[str] | None
    """PEM chain clients must trust (None in http mode)."""
    certificate_expires_at: pulumi.Output[str] | None
    """When the served certificate expires, RFC 3339 (None in http mode)."""
    ca_expires_at: pulumi.Output[str] | None
    """When the CA (or the provided chain's last certificate) expires, RFC 3339 (None in http mode)."""
    instances: list[Instance]
    """One per Docker host, in the order of ``settings.instances``."""
    gates: list[ReadinessGate]
    """One per instance (empty when the readiness check is off)."""
    instance_endpoints: list[str]
    """The URL each instance is reached at (its readiness URL)."""
    container_names: pulumi.Output[list[str]]
    """The container name on each host, as Docker reports it."""
    data_location: str
    """Volume name, host path or s3://bucket/prefix holding the pack data."""
    registration: PaletteRegistration | None
    """The Palette registration (None when registration is off)."""
    packs: list[Pack]
    """One per pack directory of the stack (``packs``)."""
    proof: PackProof | None
    """Palette lists every published pack with its values (None without packs, registration or sync)."""
    pull_user: str
    """The user Palette pulls as."""
    pull_password: pulumi.Output[str]
    """Its password (secret)."""
    push_user: str
    """The user packs are pushed as (the admin user, or ociPushUser for an existing registry)."""
    push_password: pulumi.Output[str]
    """Its password (secret)."""

    def __init__(self, name: str, settings: RegistrySettings, opts: pulumi.ResourceOptions | None = None) -> None:
        if not settings.instances:
            raise ValueError("settings.instances is empty: build the settings with components.config.parse_settings")
        super().__init__(f"{PROJECT}:registry:PackRegistry", name, None, opts)
        moved = pulumi.ResourceOptions(parent=self, aliases=_moved_from_stack())
        self.endpoint = settings.network.endpoint
        self.instances = []
        self.gates = []
        self.instance_endpoints = []
        # The one place the lifecycle asks which kind it serves: a registry the user runs has nothing to deploy
        # (its kind, components.kinds.EXISTING, deploys nothing); every other difference is read from the kind.
        if settings.existing is not None:
            self._use_existing(settings)
        else:
            self._deploy(name, settings, moved)

        self.packs = self._packs(settings)
        self.registration = None
        self.proof = None
        if settings.palette.enabled:
            self.registration = self._palette(settings, moved)
            if self.packs and settings.palette.sync:
                self.proof = self._proof(settings, self.registration)
        pulumi.log.info(settings.palette.reason)
        for warning in settings.palette.warnings:
            pulumi.log.warn(warning)
        self.register_outputs(
            {
                "endpoint": self.endpoint,
                "instanceEndpoints": self.instance_endpoints,
                "containerNames": self.container_names,
            }
        )

    def _deploy(self, name: str, settings: RegistrySettings, moved: pulumi.ResourceOptions) -> None:
        """Credentials, certificates and one instance per Docker host, each gated, in a rolling chain."""
        self.credentials = Credentials("credentials", settings.users, opts=moved)
        https = settings.network.https
        self.certificates = (
            Certificates(
                "tls",
                settings.network,
                settings.tls,
                ca_common_name=f"{settings.container.container_name} {pulumi.get_stack()} CA",
                opts=moved,
            )
            if https
            else None
        )
        if not https:
            pulumi.log.warn(
                "tlsMode is 'http': credentials travel in clear text; Palette and `spectro registry login` "
                "need insecure mode (--insecure) to use this registry."
            )
        self.ca_certificate = self.certificates.ca_certificate if self.certificates else None
        self.certificate_expires_at = self.certificates.expires_at if self.certificates else None
        self.ca_expires_at = self.certificates.ca_expires_at if self.certificates else None

        s3 = settings.storage.s3
        self.data_location = s3.location if s3 else settings.container.data_volume
        self.http_secret = self._http_secret(name, settings)
        previous: pulumi.Resource | None = None
        for instance in settings.instances:
            suffix = f"-{instance.key}" if instance.key else ""
            registry = Instance(
                f"registry{suffix}",
                self._instance_args(settings, instance.docker, previous),
                opts=pulumi.ResourceOptions(parent=self, aliases=_single_host_aliases("registry", instance)),
            )
            self.instances.append(registry)
            self.instance_endpoints.append(instance.readiness_url)
            previous = registry.container
            if settings.readiness.enabled:
                gate = self._gate(f"readiness{suffix}", settings, registry, instance)
                self.gates.append(gate)
                previous = gate
                if not settings.kind.kind.write_probe_must_refuse and len(self.gates) == 1:
                    # Every instance runs the same server: the first gate's probe speaks for all.
                    gate.write_probe_result.apply(lambda result: _warn_if_read_only_writes(result, settings))
        self.container_names = pulumi.Output.all(*(registry.container.name for registry in self.instances))

        self.pull_user = settings.palette.user
        self.pull_password = self.credentials.passwords[self.pull_user]
        self.push_user = settings.users.admin_user
        self.push_password = self.credentials.passwords[self.push_user]

    def _use_existing(self, settings: RegistrySettings) -> None:
        """A registry the user runs: nothing deployed, its endpoint gated once (TLS, the pull user lists)."""
        existing = settings.existing
        assert existing is not None
        self.credentials = None
        self.certificates = None
        self.ca_certificate = pulumi.Output.from_input(existing.ca_certificate) if existing.ca_certificate else None
        self.certificate_expires_at = None
        self.ca_expires_at = None
        self.data_location = existing.endpoint
        self.http_secret = None
        self.pull_user = existing.palette_user
        self.pull_password = pulumi.Output.secret(existing.palette_password)
        self.push_user = existing.push_user
        self.push_password = pulumi.Output.secret(existing.push_password)
        self.instance_endpoints.append(settings.readiness.url)
        self.container_names = pulumi.Output.from_input([])
        for warning in existing.warnings:
            pulumi.log.warn(warning)
        if settings.readiness.enabled:
            self.gates.append(
                ReadinessGate(
                    "readiness",
                    url=settings.readiness.url,
                    server_name=existing.host,
                    ca_certificate=existing.ca_certificate,
                    health_path=settings.readiness.health_path,
                    catalog_path=settings.readiness.catalog_path,
                    username=self.pull_user,
                    password=self.pull_password,
                    timeout_seconds=settings.readiness.timeout_seconds,
                    opts=pulumi.ResourceOptions(parent=self),
                )
            )

    def _ready(self) -> list[pulumi.Resource]:
        """What proves every instance ready: the gates, or the containers when the readiness check is off."""
        return list(self.gates) or [container for instance in self.instances for container in instance.serving.values()]

    def _packs(self, settings: RegistrySettings) -> list[Pack]:
        """One Pack per pack directory, pushed as the push user through the address this machine reaches the
        first instance at (one push serves every instance: their storage is shared), once every instance is
        ready. Named after the pack's name and version: a new version is a new resource, pushed first; the
        old one is deleted once every create and update of the run is done. A new data location (``store``)
        pushes every pack again."""
        for warning in settings.pack_warnings:
            pulumi.log.warn(warning)
        server_name = settings.existing.host if settings.existing else settings.network.primary_host
        packs = []
        self._contents: dict[str, pulumi.Output[PackContent]] = {}
        for source in settings.packs:
            content = _content_after_the_program(source)
            self._contents[pack_key(source.name, source.version)] = content
            packs.append(
                Pack(
                    # "@" is neither in a name nor in a tag: no two packs can share a resource name.
                    f"pack-{source.name}@{source.version}",
                    pack_dir=str(source.directory),
                    name=source.name,
                    version=source.version,
                    content_digest=content.apply(lambda c: c.content_digest),
                    files=content.apply(lambda c: c.files),
                    registry_url=self.instance_endpoints[0],
                    server_name=server_name,
                    ca_certificate=self.ca_certificate,
                    repository=settings.kind.pack_repository_path,
                    username=self.push_user,
                    password=self.push_password,
                    store=self.data_location,
                    delete_unreachable=settings.delete_unreachable,
                    read_only=settings.storage.maintenance.read_only,
                    allow_overwrite=settings.packs_allow_overwrite,
                    opts=pulumi.ResourceOptions(parent=self, depends_on=self._ready()),
                )
            )
        return packs

    def _http_secret(self, name: str, settings: RegistrySettings) -> pulumi.Output[str]:
        """One REGISTRY_HTTP_SECRET for every instance (an upload may start on one and finish on another).
        The single-host program generated it as a child of its ``registry`` component."""
        single_host_registry = f"urn:pulumi:{pulumi.get_stack()}::{pulumi.get_project()}::{INSTANCE_TYPE}::registry"
        secret = random.RandomPassword(
            "registry-http-secret",
            length=48,
            special=False,
            keepers={"rotation": settings.users.rotation_keeper},
            opts=pulumi.ResourceOptions(parent=self, aliases=[pulumi.Alias(parent=single_host_registry)]),
        )
        return pulumi.Output.secret(secret.result)

    def _instance_args(
        self, settings: RegistrySettings, docker: DockerHostSettings, previous: pulumi.Resource | None
    ) -> InstanceArgs:
        assert self.credentials is not None
        return InstanceArgs(
            container=settings.container,
            network=settings.network,
            users=settings.users,
            kind=settings.kind,
            storage=settings.storage,
            docker_host=docker,
            htpasswd=self.credentials.htpasswd,
            tls=(
                ServedTls(certificate=self.certificates.certificate, private_key=self.certificates.private_key)
                if self.certificates
                else None
            ),
            tls_min_version=settings.tls.min_version,
            http_secret=self.http_secret,
            # The rolling chain: this container is only (re)placed once the previous instance is ready again.
            after=[previous] if previous is not None else (),
        )

    def _gate(
        self, name: str, settings: RegistrySettings, registry: Instance, instance: InstanceSettings
    ) -> ReadinessGate:
        read_only_user = settings.users.read_only_users[0]
        s3 = settings.storage.s3
        kind = settings.kind.kind
        triggers: dict[str, pulumi.Input[str]] = {role: container.id for role, container in registry.serving.items()}
        return ReadinessGate(
            name,
            url=instance.readiness_url,
            server_name=settings.network.primary_host,
            ca_certificate=self.ca_certificate,
            health_path=settings.readiness.health_path,
            catalog_path=settings.readiness.catalog_path,
            username=read_only_user,
            password=self.credentials.passwords[read_only_user],
            timeout_seconds=settings.readiness.timeout_seconds,
            triggers=triggers,
            storage_hint=storage_hint(s3, PROJECT) if s3 else None,
            require_challenge=kind.require_challenge,
            write_probe_path=kind.write_probe_path(settings.kind.base_content_path),
            write_probe_must_refuse=kind.write_probe_must_refuse,
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=list(registry.serving.values()),
                aliases=_single_host_aliases("readiness", instance),
            ),
        )

    def _palette(self, settings: RegistrySettings, moved: pulumi.ResourceOptions) -> PaletteRegistration:
        optional: dict[str, pulumi.Input[str]] = settings.kind.kind.registration_inputs(settings.kind.base_content_path)
        if self.packs:
            # Palette syncs once after any pack was pushed again, added or removed: the trigger is what the
            # registry holds, known only once every Pack is done (and so the registration waits for them).
            published = [getattr(pack, output) for pack in self.packs for output in PUBLISHED]
            optional["sync_trigger"] = pulumi.Output.all(*published).apply(_digest_of)
        return PaletteRegistration(
            "palette",
            api_url=settings.palette.api_url,
            name=settings.palette.name,
            endpoint=settings.network.endpoint,
            username=self.pull_user,
            password=self.pull_password,
            ca_certificate=self.ca_certificate,
            tls_enabled=settings.network.https,
            insecure_skip_verify=settings.palette.insecure_skip_verify,
            allow_http=not settings.network.https,
            validate=settings.palette.validate,
            sync=settings.palette.sync,
            wait_for_sync=settings.palette.wait_for_sync,
            sync_timeout_seconds=settings.palette.sync_timeout_seconds,
            delete_unreachable=settings.delete_unreachable,
            **optional,
            # Registered once, at the shared endpoint, after every instance is ready.
            opts=pulumi.ResourceOptions.merge(moved, pulumi.ResourceOptions(depends_on=self._ready())),
        )

    def _proof(self, settings: RegistrySettings, registration: PaletteRegistration) -> PackProof:
        """After the sync that follows a publish, Palette must list every pack with the values pushed
        (components/palette/proof.py); proven again whenever what the packs published changes."""
        published = {
            pack_key(source.name, source.version): pulumi.Output.all(
                pack.manifest_digest, self._contents[pack_key(source.name, source.version)]
            ).apply(lambda args, source=source: _proof_entry(source, args[0], args[1]))
            for source, pack in zip(settings.packs, self.packs, strict=True)
        }
        return PackProof(
            "palette-packs",
            api_url=settings.palette.api_url,
            registration=settings.palette.name,
            registry_uid=registration.uid,
            timeout_seconds=settings.palette.sync_timeout_seconds,
            packs=published,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[registration, *self.packs]),
        )


def _proof_entry(source: PackSource, manifest_digest: str, content: PackContent) -> dict[str, str]:
    """What the proof holds of one published pack."""
    return {
        "name": source.name,
        "version": source.version,
        "manifest_digest": manifest_digest,
        "values_sha256": content.files["values.yaml"],
        "values_file": str(source.directory / "values.yaml"),
    }


PUBLISHED = ("reference", "manifest_digest", "push_id")
"""The Pack outputs the registration's sync trigger is made of: what each pack published, and when again."""


def _warn_if_read_only_writes(result: str | None, settings: RegistrySettings) -> None:
    """The legacy kind's least privilege, flagged: a warning when the readiness gate's push as the read-only user was
    not refused (components/readiness/probe.py ``WRITE_ALLOWED``), naming the user Palette holds."""
    if result != WRITE_ALLOWED:
        return
    tried = settings.users.read_only_users[0]
    palette = settings.palette.user
    holder = "the user Palette holds" if settings.palette.enabled else "the user Palette would hold (paletteUser)"
    pulumi.log.warn(
        f"registryKind legacy: the registry let read-only user '{tried}' start a push (the readiness gate tried one "
        f"and cancelled it), so every user of its htpasswd file can push, overwrite and delete packs, '{palette}' "
        f"included, {holder}. Spectro documents no roles for spectro-registry: use registryKind oci, whose proxy "
        "lets only adminUser write (docs/oci.md)."
    )


def _digest_of(values: list[object]) -> str:
    """One sha256 for what the packs published (order-independent)."""
    return hashlib.sha256("\n".join(sorted(str(value) for value in values)).encode()).hexdigest()


class PackUnreadable(pulumi.RunError):
    """A pack that passed its checks could not be read for its digest: one line (a ``RunError``, printed without a
    traceback by the language host) naming ``packs``, the pack directory and the file. Not a ``ValueError``: the SDK
    wraps one raised while it prepares a registration in a multi-line ``ValueError`` naming the resources
    (pulumi sdk/python/lib/pulumi/runtime/resource.py ``register_resource``)."""


def _content_after_the_program(source: PackSource) -> pulumi.Output[PackContent]:
    """The pack's content digest and files, worked out in the SDK's event loop once the program has returned.

    Nothing the program declares reaches the engine before the program returns: the SDK sends each registration
    from a task of its event loop (pulumi sdk/python/lib/pulumi/runtime/resource.py ``register_resource``:
    ``asyncio.ensure_future``). Reading and hashing a few hundred packs in the program would keep the engine
    waiting, with nothing to do, for that long; as tasks of the loop, each pack's digest is one turn among the
    registrations, and the engine works on those (starting its plugins, diffing) meanwhile. The pack was checked
    already (``components.packs.directory``), before anything was declared; what the checks do not open (a file
    the user cannot read) or what changed since fails that pack's registration with ``PackUnreadable``."""
    directory = source.directory

    async def content() -> PackContent:
        await asyncio.sleep(0)  # the registrations declared before it go first
        try:
            return pack_content(directory)
        except PackIgnoreError as error:
            problem, fix = f"{PACKIGNORE} {error.problem}", error.fix
        except OSError as error:
            name = os.path.relpath(error.filename, directory) if error.filename else "a file"
            problem = f"{name} cannot be read ({error.strerror})"
            fix = "Make every file in it readable by this user, and leave it unchanged while pulumi up runs."
        raise PackUnreadable(f"config key '{PROJECT}:packs': pack directory '{source.entry}': {problem}. {fix}")

    return pulumi.Output.from_input(content())
