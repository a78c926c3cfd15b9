"""The docker stand-in on a real Docker engine: the objects it makes, reads back and removes."""

from __future__ import annotations

import http.client
import json
import os
import secrets
from pathlib import Path
from typing import Any

import grpc
import pytest
from pulumi.runtime import rpc
from pulumi.runtime.proto import provider_pb2

from tests.cli.plugins.docker_host import DockerHost
from tests.cli.plugins.server import StandinProvider
from tests.cli.standin_client import running
from tests.support.docker_support import (
    LABEL,
    DockerJanitor,
    docker,
    file_in_container,
    file_mode_in_container,
    inspect_container,
)
from tests.support.grpc_support import struct
from tests.support.harness import CONTAINER, IMAGE, NETWORK, VOLUME

# The engine the docker CLI of these tests talks to.
DOCKER_HOST = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
PROVIDER_CONFIG = {
    "host": DOCKER_HOST,
    "context": "",
    "certPath": "",
    "sshOpts": "[]",
    "caMaterial": "",
    "certMaterial": "",
    # Configure's args keep their secrets (provider_plugin.go Configure: KeepSecrets true), as the program's is.
    "keyMaterial": rpc.wrap_rpc_secret(""),
}


def test_docker_host_material_goes_to_private_files_for_one_command_only() -> None:
    host = DockerHost()
    config = {
        "host": "tcp://127.0.0.1:2376",
        "sshOpts": "[]",
        "caMaterial": "CA PEM",
        "certMaterial": "CERT PEM",
        "keyMaterial": rpc.wrap_rpc_secret("KEY PEM"),
    }
    # In process, through the service's Configure: the key arrives secret and is unwrapped.
    StandinProvider("docker", "0", [], configure=host.configure).Configure(
        provider_pb2.ConfigureRequest(args=struct(config)), None
    )
    assert "KEY PEM" not in repr(host)
    with host.flags() as flags:
        assert flags[:3] == ["--host", "tcp://127.0.0.1:2376", "--tlsverify"]
        files = {flag: Path(flags[flags.index(flag) + 1]) for flag in ("--tlscacert", "--tlscert", "--tlskey")}
        assert {flag: path.read_text() for flag, path in files.items()} == {
            "--tlscacert": "CA PEM",
            "--tlscert": "CERT PEM",
            "--tlskey": "KEY PEM",
        }
        assert all(path.stat().st_mode & 0o077 == 0 for path in files.values())
    assert not any(path.exists() for path in files.values())
    with pytest.raises(ValueError, match="sshOpts"):
        DockerHost().configure({"host": "ssh://user@host", "sshOpts": '["-p", "2222"]'})


def _container_inputs(janitor: DockerJanitor, image_id: str, volume: str, name: str) -> dict[str, Any]:
    return {
        "name": janitor.name(name),
        "image": image_id,
        "restart": "no",
        "mustRun": True,
        "networkMode": "bridge",
        # No external port: the engine picks a free one.
        "ports": [{"internal": 5000, "ip": "127.0.0.1", "protocol": "tcp"}],
        "envs": ["REGISTRY_LOG_LEVEL=debug", f"STANDIN_TOKEN={janitor.token}"],
        "uploads": [{"file": "/auth/htpasswd-basic", "content": "admin:not-a-hash\n", "permissions": "0440"}],
        "volumes": [{"containerPath": "/data", "volumeName": volume}],
        "labels": [{"label": LABEL, "value": janitor.token}],
        "logDriver": "json-file",
        "logOpts": {"max-size": "1m", "max-file": "2"},
        "destroyGraceSeconds": 5,
    }


def _container_exists(container_id: str) -> bool:
    return bool(docker("ps", "--all", "--quiet", "--no-trunc", "--filter", f"id={container_id}").strip())


def _volume_exists(name: str) -> bool:
    return name in docker("volume", "ls", "--quiet").split()


def test_docker_volume_and_container_live_on_the_configured_host(
    tmp_path: Path, janitor: DockerJanitor, standin_image: str
) -> None:
    with running("docker", tmp_path) as engine:
        engine.configure(PROVIDER_CONFIG)
        image_id, image = engine.create(IMAGE, "image", {"name": standin_image, "keepLocally": True})
        local_id = docker("image", "inspect", "--format", "{{.Id}}", standin_image).strip()
        assert image["imageId"] == local_id
        assert image_id == local_id + standin_image

        volume_name = janitor.name("standin-data")
        janitor.volumes.append(volume_name)
        volume_id, volume = engine.create(VOLUME, "data", {"name": volume_name})
        assert volume_id == volume_name
        assert volume["mountpoint"]

        inputs = _container_inputs(janitor, image["imageId"], volume_name, "standin-registry")
        container_id, state = engine.create(CONTAINER, "registry", inputs)
        janitor.containers.append(container_id)
        assert state == inputs

        info = inspect_container(container_id)
        assert info["State"]["Running"]
        assert info["Name"] == "/" + inputs["name"]
        assert info["Image"] == local_id
        assert f"STANDIN_TOKEN={janitor.token}" in info["Config"]["Env"]
        assert info["Config"]["Labels"][LABEL] == janitor.token
        assert info["HostConfig"]["LogConfig"] == {"Type": "json-file", "Config": {"max-size": "1m", "max-file": "2"}}
        assert [(m["Type"], m["Name"], m["Destination"]) for m in info["Mounts"]] == [("volume", volume_name, "/data")]
        [binding] = info["NetworkSettings"]["Ports"]["5000/tcp"]
        assert binding["HostIp"] == "127.0.0.1"
        connection = http.client.HTTPConnection("127.0.0.1", int(binding["HostPort"]), timeout=10)
        connection.request("GET", "/v2/")
        assert connection.getresponse().status == 200
        assert file_in_container(container_id, "/auth/htpasswd-basic") == b"admin:not-a-hash\n"
        assert file_mode_in_container(container_id, "/auth/htpasswd-basic") == 0o440

        # restart changes in place (not ForceNew); an env is ForceNew.
        restart = engine.diff(CONTAINER, "registry", container_id, state, inputs, {**inputs, "restart": "always"})
        assert restart.changes == provider_pb2.DiffResponse.DIFF_SOME
        assert not restart.replaces
        state = engine.update(CONTAINER, "registry", container_id, state, {**inputs, "restart": "always"})
        assert inspect_container(container_id)["HostConfig"]["RestartPolicy"]["Name"] == "always"
        envs = engine.diff(CONTAINER, "registry", container_id, state, inputs, {**inputs, "envs": ["A=1"]})
        assert list(envs.replaces) == ["envs"]

        assert engine.read(CONTAINER, "registry", container_id, state, inputs) == container_id
        engine.delete(CONTAINER, "registry", container_id, state)
        assert not _container_exists(container_id)

        # A container removed behind the engine's back reads as gone.
        other_inputs = {**inputs, "name": janitor.name("standin-gone"), "uploads": []}
        other_id, other = engine.create(CONTAINER, "gone", other_inputs)
        janitor.containers.append(other_id)
        docker("rm", "--force", "--volumes", other_id)
        assert engine.read(CONTAINER, "gone", other_id, other, other_inputs) == ""

        engine.delete(VOLUME, "data", volume_id, volume)
        assert not _volume_exists(volume_name)
        assert engine.read(VOLUME, "data", volume_id, volume, {"name": volume_name}) == ""


def test_docker_refuses_a_missing_image_and_a_container_that_does_not_stay_up(
    tmp_path: Path, janitor: DockerJanitor, standin_image: str
) -> None:
    missing = f"palette-pack-registry-missing:{secrets.token_hex(4)}"
    with running("docker", tmp_path) as engine:
        engine.configure(PROVIDER_CONFIG)
        with pytest.raises(grpc.RpcError, match="never pulls"):
            engine.create(IMAGE, "missing", {"name": missing, "keepLocally": True})
        inputs = {
            **_container_inputs(janitor, standin_image, janitor.name("standin-crash-data"), "standin-crash"),
            # The registry exits at start-up on a storage driver it does not know.
            "envs": ["REGISTRY_STORAGE=nonexistent"],
            "volumes": [],
        }
        with pytest.raises(grpc.RpcError, match="not running"):
            engine.create(CONTAINER, "crash", inputs)
    # Nothing is left for the engine not to know about.
    assert not docker("ps", "--all", "--quiet", "--filter", f"name={inputs['name']}").strip()


def _networks_of(container_id: str) -> dict[str, Any]:
    return inspect_container(container_id)["NetworkSettings"]["Networks"]


def test_docker_network_and_networks_advanced_as_the_provider_makes_them(
    tmp_path: Path, janitor: DockerJanitor, standin_image: str
) -> None:
    """kreuzwerker/terraform-provider-docker: every attribute of a network is ForceNew and is read back from
    Docker (internal/provider/resource_docker_network{,_funcs}.go); a container with ``networks_advanced`` is
    created on ``network_mode``, disconnected from "bridge" and connected to each listed network with its
    aliases (resource_docker_container_funcs.go resourceDockerContainerCreate); ``networks_advanced`` is a
    ForceNew set (resource_docker_container.go), so another order is no change."""
    with running("docker", tmp_path) as engine:
        engine.configure(PROVIDER_CONFIG)
        network_name = janitor.name("standin-private")
        declared = {
            "name": network_name,
            "driver": "bridge",
            "internal": True,
            "options": {"com.docker.network.bridge.inhibit_ipv4": "true"},
        }
        network_id, network = engine.create(NETWORK, "private", declared)
        janitor.networks.append(network_id)
        found = json.loads(docker("network", "inspect", network_id))[0]
        assert (found["Name"], found["Internal"], found["Options"]) == (network_name, True, declared["options"])
        assert network["options"] == declared["options"] and network["ipamConfig"]
        assert engine.read(NETWORK, "private", network_id, network, declared) == network_id
        assert list(
            engine.diff(NETWORK, "private", network_id, network, declared, {**declared, "internal": False}).replaces
        ) == ["internal"]
        with pytest.raises(grpc.RpcError, match="ipv6"):
            engine.create(NETWORK, "other", {**declared, "name": janitor.name("standin-other"), "ipv6": True})

        joined = [{"name": "bridge"}, {"name": network_id, "aliases": ["standin-alias", "second"]}]
        inputs = {
            **_container_inputs(janitor, standin_image, janitor.name("standin-net-data"), "standin-joined"),
            "networksAdvanced": joined,
            "volumes": [],
        }
        container_id, state = engine.create(CONTAINER, "joined", inputs)
        janitor.containers.append(container_id)
        networks = _networks_of(container_id)
        assert set(networks) == {"bridge", network_name}
        assert {"standin-alias", "second"} <= set(networks[network_name]["Aliases"])
        reordered = [{"name": network_id, "aliases": ["second", "standin-alias"]}, {"name": "bridge"}]
        same = engine.diff(CONTAINER, "joined", container_id, state, inputs, {**inputs, "networksAdvanced": reordered})
        assert same.changes == provider_pb2.DiffResponse.DIFF_NONE
        other = engine.diff(
            CONTAINER, "joined", container_id, state, inputs, {**inputs, "networksAdvanced": joined[1:]}
        )
        assert list(other.replaces) == ["networksAdvanced"]

        only = {**inputs, "name": janitor.name("standin-only"), "networksAdvanced": joined[1:], "ports": []}
        only_id, _ = engine.create(CONTAINER, "only", only)
        janitor.containers.append(only_id)
        assert set(_networks_of(only_id)) == {network_name}, "disconnected from bridge, joined the listed network"

        engine.delete(CONTAINER, "only", only_id, only)
        engine.delete(CONTAINER, "joined", container_id, state)
        engine.delete(NETWORK, "private", network_id, network)
        assert engine.read(NETWORK, "private", network_id, network, declared) == ""
