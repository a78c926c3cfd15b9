"""One instance of the registry on one Docker host: Docker provider, pinned image, data volume, the registry
container, and the container the kind puts in front of it (``RegistryKind.server``) with the private network the
two share.

The front and the registry are paired by a Docker network of the instance's own, not by one network namespace: a
container that joins another's namespace (``network_mode: container:<id>``) stays in the old one when the other
restarts and gets a new one, and after a daemon restart Docker does not order such joins, so a registry started
before its front fails for good (docs/oci.md, Restarts). On the network the registry has an alias the front looks
up again while it runs; either container, or the daemon, may restart in any order."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_docker as docker

from components.config import DockerHostSettings, KindSettings
from components.config.container import Container
from components.config.network import Network
from components.config.storage import StorageSettings
from components.config.users import Users
from components.instance import docker_engine
from components.instance.storage import s3_env, s3_files
from components.kinds.kind import DRAIN_TIMEOUT_SECONDS, ContainerFile, FrontContainer, ServedTls, ServerInputs

__all__ = ["INSTANCE_TYPE", "PRIVATE_NETWORK_OPTIONS", "STOP_GRACE_SECONDS", "Instance", "InstanceArgs"]

INSTANCE_TYPE = "palette-pack-registry:registry:Registry"
LOG_DRIVER = "json-file"
# Uploaded files are read-only inside the container (a bind mount would not travel to a remote host).
READ_ONLY_MODE = "0444"
PRIVATE_NETWORK_OPTIONS = {"com.docker.network.bridge.inhibit_ipv4": "true"}
"""The bridge driver's options of an internal private network: the host's end of the bridge gets no address (moby
libnetwork drivers/bridge ``InhibitIPv4``), so no process on the Docker host has a route to the registry's address
either; the containers on the network still reach each other. Docker reports the options back as given
(resource_docker_network_funcs.go reads ``options`` back; every attribute of the network is ForceNew)."""
BRIDGE = "bridge"
"""Docker's default network: the front stays on it, where its published port is."""
STOP_GRACE_SECONDS = DRAIN_TIMEOUT_SECONDS + 5
"""destroy_grace_seconds: the provider stops the container with this timeout before removing it; without it
the stop timeout is 0, a SIGKILL (resource_docker_container_funcs.go resourceDockerContainerDelete)."""


@dataclass(frozen=True)
class InstanceArgs:
    """What one instance needs: the config groups it reads, and what the other components made for it."""

    container: Container
    """The image, the container's name, where its data lives, its logs and limits, the image pull credentials."""
    network: Network
    """The port published and the address it is published on."""
    users: Users
    """The basic-auth realm, and the admin user (the only one allowed to write, where the kind's front decides)."""
    kind: KindSettings
    """Which server runs and what stands in front of it (see components.kinds)."""
    storage: StorageSettings
    """The container's filesystem, or the bucket shared by every instance; its maintenance (read-only mode, upload
    purge)."""
    docker_host: DockerHostSettings
    """The Docker engine the instance runs on."""
    htpasswd: pulumi.Input[str]
    """Content of the htpasswd file (secret)."""
    tls: ServedTls | None
    """The certificate chain and key served; None serves plain HTTP."""
    tls_min_version: str
    """Oldest TLS version served: 1.2 or 1.3 (ignored without ``tls``)."""
    http_secret: pulumi.Input[str]
    """REGISTRY_HTTP_SECRET, the same on every instance (secret): an upload may start on one and end on another."""
    after: Sequence[pulumi.Resource] = ()
    """What the container waits for: the previous instance's readiness gate, for a rolling replacement."""


class Instance(pulumi.ComponentResource):
    """The pack registry on one Docker host (type ``palette-pack-registry:registry:Registry``), configured like the
    documented install."""

    container: docker.Container
    """The running registry container (with a front container: on the private network only)."""
    front: docker.Container | None
    """The container the kind puts in front of the registry, holder of the published port (the OCI kind's nginx
    proxy), or None."""
    network: docker.Network | None
    """The private network of the front and the registry (None without a front)."""
    egress: docker.Network | None
    """The registry's network out to its S3 bucket (None without a front or without S3)."""
    serving: dict[str, docker.Container]
    """The containers that serve the instance, the registry's first: ``container``, then the front's by its role."""
    image_id: pulumi.Output[str]
    """Id (sha256) of the pulled image the container runs."""
    data_volume: str | None
    """Where pack data lives (None: not on this host's filesystem)."""

    def __init__(self, name: str, args: InstanceArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(INSTANCE_TYPE, name, None, opts)
        container = args.container
        registry_auth = None
        if container.pull_username and container.pull_password is not None:
            registry_auth = [
                docker.ProviderRegistryAuthArgs(
                    address=_registry_of(container.image),
                    username=container.pull_username,
                    password=pulumi.Output.secret(container.pull_password),
                )
            ]
        provider = docker.Provider(
            f"{name}-docker",
            **provider_pins(args.docker_host),
            registry_auth=registry_auth,
            opts=pulumi.ResourceOptions(parent=self),
        )
        engine = docker_engine.engine_facts(args.docker_host, container.container_name)
        memory, memory_swap = docker_engine.declared_memory(engine, container.limits.memory_mb, args.docker_host.host)
        on_host = pulumi.ResourceOptions(parent=self, provider=provider)

        image = docker.RemoteImage(f"{name}-image", name=container.image, keep_locally=True, opts=on_host)
        self.image_id = image.image_id

        s3 = args.storage.s3
        # With S3 the data is in the bucket, not on this host's filesystem.
        self.data_volume = None if s3 else container.data_volume
        data_path = args.kind.kind.data_path
        volumes: list[docker.ContainerVolumeArgs] = []
        if self.data_volume is not None and container.is_bind_mount:
            volumes.append(docker.ContainerVolumeArgs(container_path=data_path, host_path=self.data_volume))
        elif self.data_volume is not None:
            volume = docker.Volume(
                f"{name}-data",
                name=self.data_volume,
                # Pack data outlives `pulumi destroy`: the volume is left on the host, not deleted.
                opts=pulumi.ResourceOptions.merge(on_host, volume_options()),
            )
            volumes.append(docker.ContainerVolumeArgs(container_path=data_path, volume_name=volume.name))

        storage_env = s3_env(s3) if s3 else []
        server = args.kind.kind.server(
            ServerInputs(
                log_level=container.log_level,
                auth_realm=args.users.auth_realm,
                admin_user=args.users.admin_user,
                htpasswd=args.htpasswd,
                tls=args.tls,
                tls_min_version=args.tls_min_version,
                http_secret_env=pulumi.Output.secret(args.http_secret).apply(
                    lambda value: f"REGISTRY_HTTP_SECRET={value}"
                ),
                storage_env=storage_env,
                proxy_image=args.kind.proxy_image,
                read_only=args.storage.maintenance.read_only,
                upload_purge_hours=args.storage.maintenance.upload_purge_hours,
                egress=s3 is not None,
            )
        )
        envs = [*server.env, *storage_env]
        uploads = _uploads(server.files) + [
            docker.ContainerUploadArgs(file=path, content=pulumi.Output.secret(content), permissions=READ_ONLY_MODE)
            for path, content in sorted((s3_files(s3) if s3 else {}).items())
        ]
        published = docker.ContainerPortArgs(
            internal=server.port,
            external=args.network.port,
            ip=args.network.bind_address,
            protocol="tcp",
        )
        self.network = self._network(name, args, on_host) if server.front else None
        # A registry behind a front that must reach a bucket gets a network of its own for that, which nothing
        # else joins and where it does not listen (components/instance/proxy.py registry_env).
        self.egress = self._egress(name, args, on_host) if server.front and s3 else None
        self.front = self._front(name, args, server.front, provider, engine, published) if server.front else None
        self.container = docker.Container(
            f"{name}-container",
            name=container.container_name,
            # The image id, not its name: that is what Docker reports back, so a re-run sees no change.
            image=image.image_id,
            restart="always",
            must_run=True,
            # With a front container the registry joins only the private network, under the alias the front
            # reaches it by, and publishes nothing. The provider creates the container on network_mode, then
            # disconnects it from "bridge" and connects it to each of networks_advanced
            # (resource_docker_container_funcs.go resourceDockerContainerCreate); it reads network_mode back as
            # HostConfig.NetworkMode, which stays "bridge", and never reads networks_advanced back.
            network_mode=BRIDGE,
            networks_advanced=(
                [
                    _joined(self.network, alias=server.front.registry_alias),
                    *([_joined(self.egress)] if self.egress is not None else []),
                ]
                if self.network is not None and server.front
                else None
            ),
            ports=None if self.front else [published],
            envs=envs,
            uploads=uploads,
            volumes=volumes or None,
            # Written the way the provider reads them back (resource_docker_container_funcs.go), so a
            # second `pulumi up` sees no change: the driver by name, the options as strings.
            log_driver=LOG_DRIVER,
            log_opts=_log_opts(engine, container),
            # What the host keeps of the limit (components/instance/docker_engine.py): swap is part of it, or -1
            # where the host has no swap accounting; a host without the memory cgroup is refused.
            memory=memory,
            memory_swap=memory_swap,
            cpus=container.limits.cpus,
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

    def _network(self, name: str, args: InstanceArgs, on_host: pulumi.ResourceOptions) -> docker.Network:
        """The private network of the front and the registry, named after the instance's container (unique on its
        host, as the container's name is): internal (no route out, no port published on it) and the host without
        an address on it. It takes one subnet from the daemon's default-address-pools."""
        return docker.Network(
            f"{name}-network",
            name=f"{args.container.container_name}-network",
            driver=BRIDGE,
            internal=True,
            options=dict(PRIVATE_NETWORK_OPTIONS),
            opts=pulumi.ResourceOptions.merge(on_host, _unique_name()),
        )

    def _egress(self, name: str, args: InstanceArgs, on_host: pulumi.ResourceOptions) -> docker.Network:
        """The registry's way out to an S3 bucket: an ordinary bridge network only the registry joins (so its
        default route), where it does not listen. It takes a second subnet from the daemon's pools."""
        return docker.Network(
            f"{name}-egress-network",
            name=f"{args.container.container_name}-egress",
            driver=BRIDGE,
            opts=pulumi.ResourceOptions.merge(on_host, _unique_name()),
        )

    def _front(
        self,
        name: str,
        args: InstanceArgs,
        front: FrontContainer,
        provider: docker.Provider,
        engine: docker_engine.EngineFacts | None,
        published: docker.ContainerPortArgs,
    ) -> docker.Container:
        """The container in front of the registry, holder of the instance's published port (the OCI kind's nginx
        proxy: it terminates TLS, checks the bcrypt htpasswd and lets only the admin user write,
        components.instance.proxy). It reaches the registry on the private network."""
        on_host = pulumi.ResourceOptions(parent=self, provider=provider)
        image = docker.RemoteImage(f"{name}-{front.role}-image", name=front.image, keep_locally=True, opts=on_host)
        return docker.Container(
            f"{name}-{front.role}-container",
            name=f"{args.container.container_name}-{front.role}",
            image=image.image_id,
            restart="always",
            must_run=True,
            # The default network, where its port is published, and the private one, where it reaches the registry
            # (the provider disconnects a container with networks_advanced from "bridge" first, so it is listed).
            network_mode=BRIDGE,
            networks_advanced=[docker.ContainerNetworksAdvancedArgs(name=BRIDGE), _joined(self.network)]
            if self.network is not None
            else None,
            ports=[published],
            uploads=_uploads(front.files),
            log_driver=LOG_DRIVER,
            # The same daemon as the registry's: the log options it adds to every container are its too.
            log_opts=_log_opts(engine, args.container),
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


def _unique_name() -> pulumi.ResourceOptions:
    """A network's name is unique on its host: a new network means the old one goes first, with the containers
    on it (their networks_advanced names its id, ForceNew)."""
    return pulumi.ResourceOptions(delete_before_replace=True)


def _joined(network: docker.Network | None, alias: str | None = None) -> docker.ContainerNetworksAdvancedArgs:
    """A container's place on the private network, named by its id: a new network (ForceNew) means a new
    container, which the engine deletes before the network it is on."""
    assert network is not None
    return docker.ContainerNetworksAdvancedArgs(name=network.id, aliases=[alias] if alias else None)


def _log_opts(engine: docker_engine.EngineFacts | None, container: Container) -> dict[str, str]:
    """The json-file options declared for a container: the program's, and those the engine adds (docker_engine)."""
    limits = container.limits
    options = {"max-size": limits.log_max_size, "max-file": str(limits.log_max_files)}
    return docker_engine.declared_log_opts(engine, options)


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


def provider_pins(host: DockerHostSettings) -> dict[str, Any]:
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
