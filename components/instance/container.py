"""One instance of the registry on one Docker host: Docker provider, pinned image, data volume, the registry
container, and the container the kind puts in front of it (``RegistryKind.server``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_docker as docker
import pulumi_random as random

from components.instance import docker_engine
from components.kinds import DRAIN_TIMEOUT_SECONDS, LEGACY, ContainerFile, FrontContainer, RegistryKind, ServerInputs

__all__ = ["INSTANCE_TYPE", "STOP_GRACE_SECONDS", "DockerHost", "Instance", "InstanceArgs"]

INSTANCE_TYPE = "palette-pack-registry:registry:Registry"
LOG_DRIVER = "json-file"
# Uploaded files are read-only inside the container (a bind mount would not travel to a remote host).
READ_ONLY_MODE = "0444"
STOP_GRACE_SECONDS = DRAIN_TIMEOUT_SECONDS + 5
"""destroy_grace_seconds: the provider stops the container with this timeout before removing it; without it
the stop timeout is 0, a SIGKILL (resource_docker_container_funcs.go resourceDockerContainerDelete)."""


@dataclass(frozen=True)
class DockerHost:
    """How Pulumi reaches the Docker engine that runs the registry."""

    host: str
    """unix://, tcp:// or ssh:// URL."""
    ssh_opts: tuple[str, ...] = ()
    ca_material: str | None = None
    cert_material: str | None = None
    key_material: pulumi.Input[str] | None = None
    reveal_key: Callable[[], str | None] | None = field(default=None, repr=False, compare=False)
    """The client key in plain text on demand, only to ask the engine what it keeps (instance/docker_engine.py)."""


@dataclass(frozen=True)
class InstanceArgs:
    """What one instance needs."""

    image: str
    """Registry image reference with a pinned tag."""
    container_name: str
    port: int
    """Host port mapped to container port 5000."""
    bind_address: str
    """Host address the port is published on."""
    data_volume: str | None
    """Named volume, or an absolute host path, mounted at /data; None when storage is not the filesystem."""
    log_level: str
    auth_realm: str
    htpasswd: pulumi.Input[str]
    """Content of the htpasswd file (secret)."""
    docker_host: DockerHost
    certificate: pulumi.Input[str] | None = None
    """PEM chain; None serves plain HTTP."""
    private_key: pulumi.Input[str] | None = None
    pull_username: str | None = None
    pull_password: pulumi.Input[str] | None = None
    labels: dict[str, str] = field(default_factory=dict)
    log_max_size: str = "10m"
    """The json-file log is rotated at this size (Docker's max-size, e.g. 10m)."""
    log_max_files: int = 3
    """Rotated json-file logs kept (Docker's max-file)."""
    memory_mb: int = 0
    """Memory limit in MB, swap included; 0 for none."""
    cpus: str | None = None
    """CPU limit as the docker provider reads it back (components.config.provider_cpus); None for none."""
    tls_min_version: str = "1.2"
    """Oldest TLS version served: 1.2 or 1.3 (ignored without a certificate)."""
    http_secret: pulumi.Input[str] | None = None
    """REGISTRY_HTTP_SECRET, the same on every instance (secret); None generates one for this registry alone."""
    rotation_keeper: str = "1"
    """With no ``http_secret``: changing it rotates the generated one."""
    storage_env: Sequence[pulumi.Input[str]] = ()
    """REGISTRY_STORAGE_* env for storage other than /data."""
    storage_files: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Files the storage needs in the container (path -> content, uploaded read-only and kept secret)."""
    after: Sequence[pulumi.Resource] = ()
    """What the container waits for: the previous instance's readiness gate, for a rolling replacement."""
    kind: RegistryKind = LEGACY
    """Which server runs, and what stands in front of it (see components.kinds)."""
    proxy_image: str | None = None
    """The image of the kind's front container, where it has one (the OCI kind's nginx proxy)."""
    admin_user: str = "admin"
    """The only user allowed to write, where the kind's front container decides that."""


class Instance(pulumi.ComponentResource):
    """The pack registry on one Docker host (type ``palette-pack-registry:registry:Registry``), configured like the
    documented install."""

    container: docker.Container
    """The running registry container (with a front container: in its network namespace)."""
    front: docker.Container | None
    """The container the kind puts in front of the registry, owner of the namespace and the published port (the
    OCI kind's nginx proxy), or None."""
    serving: dict[str, docker.Container]
    """The containers that serve the instance, the registry's first: ``container``, then the front's by its role."""
    image_id: pulumi.Output[str]
    """Id (sha256) of the pulled image the container runs."""
    data_volume: str | None
    """Where pack data lives (None: not on this host's filesystem)."""
    http_secret: pulumi.Output[str]
    """REGISTRY_HTTP_SECRET of this instance (secret)."""

    def __init__(self, name: str, args: InstanceArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(INSTANCE_TYPE, name, None, opts)
        registry_auth = None
        if args.pull_username and args.pull_password is not None:
            registry_auth = [
                docker.ProviderRegistryAuthArgs(
                    address=_registry_of(args.image),
                    username=args.pull_username,
                    password=pulumi.Output.secret(args.pull_password),
                )
            ]
        provider = docker.Provider(
            f"{name}-docker",
            **provider_pins(args.docker_host),
            registry_auth=registry_auth,
            opts=pulumi.ResourceOptions(parent=self),
        )
        engine = docker_engine.engine_facts(args.docker_host, args.container_name)
        memory, memory_swap = docker_engine.declared_memory(engine, args.memory_mb, args.docker_host.host)
        on_host = pulumi.ResourceOptions(parent=self, provider=provider)

        image = docker.RemoteImage(f"{name}-image", name=args.image, keep_locally=True, opts=on_host)
        self.image_id = image.image_id

        self.data_volume = args.data_volume
        volumes: list[docker.ContainerVolumeArgs] = []
        if args.data_volume is not None and args.data_volume.startswith("/"):
            volumes.append(docker.ContainerVolumeArgs(container_path=args.kind.data_path, host_path=args.data_volume))
        elif args.data_volume is not None:
            volume = docker.Volume(
                f"{name}-data",
                name=args.data_volume,
                # Pack data outlives `pulumi destroy`: the volume is left on the host, not deleted.
                opts=pulumi.ResourceOptions.merge(on_host, volume_options()),
            )
            volumes.append(docker.ContainerVolumeArgs(container_path=args.kind.data_path, volume_name=volume.name))

        if args.http_secret is None:
            generated = random.RandomPassword(
                f"{name}-http-secret",
                length=48,
                special=False,
                keepers={"rotation": args.rotation_keeper},
                opts=pulumi.ResourceOptions(parent=self),
            )
            self.http_secret = pulumi.Output.secret(generated.result)
        else:
            self.http_secret = pulumi.Output.secret(args.http_secret)

        server = args.kind.server(
            ServerInputs(
                log_level=args.log_level,
                auth_realm=args.auth_realm,
                admin_user=args.admin_user,
                htpasswd=args.htpasswd,
                certificate=args.certificate,
                private_key=args.private_key,
                tls_min_version=args.tls_min_version,
                http_secret_env=self.http_secret.apply(lambda value: f"REGISTRY_HTTP_SECRET={value}"),
                storage_env=args.storage_env,
                proxy_image=args.proxy_image,
            )
        )
        envs = [*server.env, *args.storage_env]
        uploads = _uploads(server.files) + [
            docker.ContainerUploadArgs(file=path, content=pulumi.Output.secret(content), permissions=READ_ONLY_MODE)
            for path, content in sorted(args.storage_files.items())
        ]
        published = docker.ContainerPortArgs(
            internal=server.port,
            external=args.port,
            ip=args.bind_address,
            protocol="tcp",
        )
        self.front = self._front(name, args, server.front, provider, engine, published) if server.front else None
        self.container = docker.Container(
            f"{name}-container",
            name=args.container_name,
            # The image id, not its name: that is what Docker reports back, so a re-run sees no change.
            image=image.image_id,
            restart="always",
            must_run=True,
            # With a front container the registry lives in its network namespace, joined by the id Docker reports
            # back (container:<id>): a new front means a new registry container, which the engine deletes
            # first. Joined that way, a restarted registry rejoins the front's live namespace.
            network_mode=self.front.id.apply(lambda front_id: f"container:{front_id}") if self.front else "bridge",
            ports=None if self.front else [published],
            envs=envs,
            uploads=uploads,
            volumes=volumes or None,
            labels=[docker.ContainerLabelArgs(label=k, value=v) for k, v in sorted(args.labels.items())] or None,
            # Written the way the provider reads them back (resource_docker_container_funcs.go), so a
            # second `pulumi up` sees no change: the driver by name, the options as strings.
            log_driver=LOG_DRIVER,
            log_opts=docker_engine.declared_log_opts(
                engine, {"max-size": args.log_max_size, "max-file": str(args.log_max_files)}
            ),
            # What the host keeps of the limit (components/instance/docker_engine.py): swap is part of it, or -1
            # where the host has no swap accounting; a host without the memory cgroup is refused.
            memory=memory,
            memory_swap=memory_swap,
            cpus=args.cpus,
            # SIGTERM, then up to this long for the drain before SIGKILL (not stored in Docker: no replacement).
            destroy_grace_seconds=STOP_GRACE_SECONDS,
            opts=pulumi.ResourceOptions(
                parent=self,
                provider=provider,
                # The name and the host port are unique on the host: the old container must go first.
                delete_before_replace=True,
                # Docker takes a memory of 0 in an in-place update as "unchanged", so lifting a limit would
                # never reach the container (resourceDockerContainerUpdate): a new limit means a new container.
                replace_on_changes=["memory"],
                depends_on=[*args.after, *([self.front] if self.front else [])] or None,
            ),
        )
        self.serving = {"container": self.container}
        if self.front is not None and server.front is not None:
            self.serving[server.front.role] = self.front
        outputs: dict[str, pulumi.Input[str]] = {"containerId": self.container.id, "imageId": self.image_id}
        outputs.update({f"{role}ContainerId": c.id for role, c in self.serving.items() if c is not self.container})
        self.register_outputs(outputs)

    def _front(
        self,
        name: str,
        args: InstanceArgs,
        front: FrontContainer,
        provider: docker.Provider,
        engine: docker_engine.EngineFacts | None,
        published: docker.ContainerPortArgs,
    ) -> docker.Container:
        """The container in front of the registry, owner of the instance's network namespace and of its published
        port (the OCI kind's nginx proxy: it terminates TLS, checks the bcrypt htpasswd and lets only the admin user
        write, components.instance.proxy). The registry joins its namespace."""
        on_host = pulumi.ResourceOptions(parent=self, provider=provider)
        image = docker.RemoteImage(f"{name}-{front.role}-image", name=front.image, keep_locally=True, opts=on_host)
        return docker.Container(
            f"{name}-{front.role}-container",
            name=f"{args.container_name}-{front.role}",
            image=image.image_id,
            restart="always",
            must_run=True,
            network_mode="bridge",
            ports=[published],
            uploads=_uploads(front.files),
            labels=[docker.ContainerLabelArgs(label=k, value=v) for k, v in sorted(args.labels.items())] or None,
            log_driver=LOG_DRIVER,
            # The same daemon as the registry's: the log options it adds to every container are its too.
            log_opts=docker_engine.declared_log_opts(
                engine, {"max-size": args.log_max_size, "max-file": str(args.log_max_files)}
            ),
            # The image's STOPSIGNAL (SIGQUIT: nginx finishes the requests in flight), then up to this long.
            destroy_grace_seconds=STOP_GRACE_SECONDS,
            opts=pulumi.ResourceOptions(
                parent=self,
                provider=provider,
                # The name and the host port are unique on the host: the old container must go first.
                delete_before_replace=True,
                # The rolling chain: the instance is only (re)placed once the previous one is ready again.
                depends_on=list(args.after) or None,
            ),
        )


def _uploads(files: list[ContainerFile]) -> list[docker.ContainerUploadArgs]:
    return [
        docker.ContainerUploadArgs(
            file=file.path,
            content=pulumi.Output.secret(file.content) if file.secret else file.content,
            permissions=READ_ONLY_MODE,
        )
        for file in files
    ]


DOCKER_HUB_PULL_KEY = "registry-1.docker.io"


def provider_pins(host: DockerHost) -> dict[str, Any]:
    """Every provider attribute the provider would otherwise fill from the environment (its provider.go
    DefaultFuncs: DOCKER_CONTEXT, DOCKER_CERT_PATH, DOCKER_CA/CERT/KEY_MATERIAL, DOCKER_SSH_OPTS; DOCKER_HOST
    is the program's host), set explicitly: an explicit value, empty included, is what the provider reads."""
    return {
        "host": host.host,
        # DOCKER_CONTEXT would override host (provider.go configure); "" means no context.
        "context": "",
        "cert_path": "",
        "ssh_opts": list(host.ssh_opts),
        "ca_material": host.ca_material or "",
        "cert_material": host.cert_material or "",
        "key_material": pulumi.Output.secret(host.key_material) if host.key_material is not None else "",
    }


def volume_options() -> pulumi.ResourceOptions:
    """The data volume is retained on delete, and labels or driver options made outside (compose, an NFS
    ``local`` volume) are not a change: the provider reads both back and both are ForceNew
    (resource_docker_volume.go), which would "replace" the retained volume on every run."""
    return pulumi.ResourceOptions(retain_on_delete=True, ignore_changes=["labels", "driverOpts"])


def _registry_of(image: str) -> str:
    """The registry the provider looks pull credentials up under (resource_docker_image_funcs.go
    parseImageOptions): the first part when there are two or more slashes or it looks like a host, else
    Docker Hub as ``registry-1.docker.io`` (so ``org/repo:tag`` and ``docker.io/org/repo:tag`` differ)."""
    first, slash, _ = image.partition("/")
    if image.count("/") > 1 or (slash and ("." in first or ":" in first or first == "localhost")):
        return first
    return DOCKER_HUB_PULL_KEY
