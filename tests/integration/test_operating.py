"""Running for months, on a real Docker engine: bounded logs, resource limits, the TLS floor and an upgrade.

The program is evaluated under the realistic mocks and its recorded container is started from the stand-in
image with tests/support/registry_container.py ``deploy``, which passes the declared log driver and options,
memory, swap and CPU limits to ``docker create`` the way the docker provider does.
"""

from __future__ import annotations

import json
import re
import secrets
import socket
import ssl
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from components.config import MIN_MEMORY_LIMIT_MB
from tests.support.docker_readback import container_drift, container_state
from tests.support.docker_support import DockerJanitor, docker, inspect_container, remove_container
from tests.support.harness import CONTAINER, MockState, ProgramRun, run_program
from tests.support.registry_container import BASE_CONFIG, HOSTS, READ_ONLY_USERS, Deployed, deploy

IMAGE = "docker:index/remoteImage:RemoteImage"
LIMITS = {"memoryLimitMb": MIN_MEMORY_LIMIT_MB, "cpus": "0.5", "logMaxSize": "1k", "logMaxFiles": 2}
READ_BACK_KEYS = ("logDriver", "logOpts", "memory", "memorySwap", "cpus", "restart", "networkMode")


@pytest.fixture(scope="module")
def limited(janitor: DockerJanitor, standin_image: str) -> Deployed:
    run = run_program({**BASE_CONFIG, **LIMITS})
    return deploy(run, janitor, standin_image, "https", name=janitor.name("spectro-registry-it-limits"))


# --- bounded logs and limits, as Docker applies them and the provider reads them back ----------------------------


def test_second_up_sees_the_log_and_limit_fields_it_declared(limited: Deployed) -> None:
    """The docker provider diffs the next `pulumi up` against what it read back after create; its rules,
    restated from its source, are tests/support/docker_readback.py (resourceDockerContainerRead; log_driver,
    log_opts and cpus ForceNew in resource_docker_container.go). Put through them, the real container's
    `docker inspect` gives the program's declared inputs, which are these literals, and a second evaluation
    with the same state declares the same inputs: the second `pulumi up` neither replaces nor updates it."""
    state = MockState()
    first = run_program({**BASE_CONFIG, **LIMITS}, state=state)
    second = run_program({**BASE_CONFIG, **LIMITS}, state=state)
    declared = first.one(CONTAINER).inputs
    assert second.one(CONTAINER).inputs == declared
    inspect = inspect_container(limited.container.id)
    read = container_state(inspect, declared)
    assert {key: read.get(key) for key in READ_BACK_KEYS} == {
        "logDriver": "json-file",
        "logOpts": {"max-size": "1k", "max-file": "2"},
        "memory": MIN_MEMORY_LIMIT_MB,
        "memorySwap": MIN_MEMORY_LIMIT_MB,
        "cpus": "0.5",
        "restart": "always",
        "networkMode": "bridge",
    }
    # The same fields as the program declared them (name, image and ports are the test's own here).
    as_run = {**declared, "name": limited.container.name, "image": inspect["Config"]["Image"], "ports": []}
    assert container_drift(as_run, inspect) == {}


def test_docker_inspect_shows_the_bounded_log_and_the_limits(limited: Deployed) -> None:
    config = json.loads(docker("inspect", "--format", "{{json .HostConfig}}", limited.container.id))
    assert config["LogConfig"] == {"Type": "json-file", "Config": {"max-size": "1k", "max-file": "2"}}
    assert config["Memory"] == MIN_MEMORY_LIMIT_MB * 1024 * 1024
    assert config["MemorySwap"] == MIN_MEMORY_LIMIT_MB * 1024 * 1024
    assert config["NanoCpus"] == 500_000_000


def test_the_log_stays_bounded_while_the_server_keeps_writing(limited: Deployed) -> None:
    client = limited.admin()
    for _ in range(150):  # every request writes an access-log line of a few hundred bytes
        assert client.get("/v2/_catalog").status == 200
    kept = limited.container.logs(tail="all").encode()
    # Written: far more than 2 files of 1 KiB; kept: at most those two files' worth (json-file wraps each
    # line in a JSON record, so the raw text is smaller than the files).
    assert len(kept) <= 2 * 1024
    assert b"_catalog" in kept


def test_the_registry_serves_within_the_memory_floor(limited: Deployed) -> None:
    content = b"pack " + secrets.token_bytes(1 << 20)
    digest = limited.admin().push_blob("packs/limited", content)
    reader = READ_ONLY_USERS[0]
    assert limited.client(reader, limited.users[reader]).get(f"/v2/packs/limited/blobs/{digest}").body == content
    state = docker("inspect", "--format", "{{.State.OOMKilled}} {{.RestartCount}}", limited.container.id).split()
    assert state == ["false", "0"], limited.container.logs()


# --- TLS floor --------------------------------------------------------------------------------------------------


def _handshake(deployed: Deployed, version: ssl.TLSVersion, *, legacy: bool = False) -> str:
    """Connects with exactly one TLS version and returns the version negotiated.

    ``legacy`` lowers OpenSSL's security level so this client can offer TLS 1.1 at all (OpenSSL 3 refuses
    it locally at the default level); a refusal then comes from the server as a protocol_version alert.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(cadata=deployed.ca)
    if legacy:
        context.set_ciphers("DEFAULT:@SECLEVEL=0")
    context.minimum_version = version
    context.maximum_version = version
    with (
        socket.create_connection(("127.0.0.1", deployed.container.host_port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname=HOSTS[0]) as tls,
    ):
        return str(tls.version())


@pytest.mark.filterwarnings("ignore:ssl.TLSVersion.TLSv1_1 is deprecated:DeprecationWarning")
def test_default_floor_refuses_tls_1_1_and_accepts_1_2_and_1_3(limited: Deployed) -> None:
    assert "REGISTRY_HTTP_TLS_MINIMUMTLS=tls1.2" in limited.container.spec["envs"]
    # The same legacy client settings connect with 1.2: the 1.1 refusal below is the version, not the ciphers.
    assert _handshake(limited, ssl.TLSVersion.TLSv1_2, legacy=True) == "TLSv1.2"
    assert _handshake(limited, ssl.TLSVersion.TLSv1_2) == "TLSv1.2"
    assert _handshake(limited, ssl.TLSVersion.TLSv1_3) == "TLSv1.3"
    with pytest.raises(ssl.SSLError, match=r"alert protocol version"):
        _handshake(limited, ssl.TLSVersion.TLSv1_1, legacy=True)
    # The server saw the offer and turned it down: 0x302 is TLS 1.1 (OpenSSL adds 1.0, 0x301), no 0x303.
    assert re.search(r"client offered only unsupported versions: \[302( 301)?\]", limited.container.logs(tail="20"))


def test_a_1_3_floor_refuses_tls_1_2(janitor: DockerJanitor, standin_image: str) -> None:
    run = run_program({**BASE_CONFIG, "tlsMinVersion": "1.3"})
    deployed = deploy(run, janitor, standin_image, "https", name=janitor.name("spectro-registry-it-tls13"))
    assert _handshake(deployed, ssl.TLSVersion.TLSv1_3) == "TLSv1.3"
    with pytest.raises(ssl.SSLError, match=r"alert protocol version"):
        _handshake(deployed, ssl.TLSVersion.TLSv1_2)
    assert re.search(r"client offered only unsupported versions: \[303[ \d]*\]", deployed.container.logs(tail="20"))
    assert "restricting TLS version to tls1.3 or higher" in deployed.container.logs(tail="all")
    admin = deployed.run.exports["adminUser"]
    assert deployed.client(admin, deployed.users[admin]).get("/v2/_catalog").status == 200
    remove_container(deployed.container, janitor)


# --- upgrading the server keeps every pack ----------------------------------------------------------------------

CURRENT_IMAGE = "gcr.io/spectro-images-public/release/spectro-registry:2.6.0"
NEXT_IMAGE = "gcr.io/spectro-images-public/release/spectro-registry:2.7.0"


@pytest.fixture(scope="module")
def next_standin(standin_image: str, janitor: DockerJanitor) -> Iterator[str]:
    """A second stand-in image with its own id and tag: the stand-in plus one label."""
    tag = f"{standin_image.split(':', 1)[0]}:next-{janitor.token}"
    with tempfile.TemporaryDirectory() as context:
        Path(context, "Dockerfile").write_text(
            f"FROM {standin_image}\nLABEL org.palette-pack-registry.standin.release=next\n"
        )
        result = subprocess.run(
            ["docker", "build", "--quiet", "--tag", tag, context],
            capture_output=True,
            timeout=300,
            check=False,
            env={"DOCKER_BUILDKIT": "0", "PATH": "/usr/bin:/bin:/usr/local/bin"},
        )
    if result.returncode != 0:
        pytest.fail(f"building {tag} failed: {result.stderr.decode(errors='replace')}", pytrace=False)
    try:
        yield tag
    finally:
        docker("rmi", "--force", tag, check=False)


def _image_id(reference: str) -> str:
    return docker("image", "inspect", "--format", "{{.Id}}", reference).strip()


def _running_image(deployed: Deployed) -> str:
    return docker("inspect", "--format", "{{.Image}}", deployed.container.id).strip()


def test_upgrading_the_image_keeps_packs_passwords_and_certificate(
    janitor: DockerJanitor, standin_image: str, next_standin: str
) -> None:
    state = MockState()
    before = run_program({**BASE_CONFIG, "image": CURRENT_IMAGE}, state=state)
    after = run_program({**BASE_CONFIG, "image": NEXT_IMAGE}, state=state)
    # The program's image ids stand for the two local stand-ins.
    local: dict[str, str] = {
        before.one(IMAGE).outputs["imageId"]: standin_image,
        after.one(IMAGE).outputs["imageId"]: next_standin,
    }
    assert len(local) == 2 and _image_id(standin_image) != _image_id(next_standin)

    name = janitor.name("spectro-registry-it-upgrade")
    first = deploy(before, janitor, local[before.one(CONTAINER).inputs["image"]], "https", name=name)
    assert _running_image(first) == _image_id(standin_image)
    content = b"pack archive " + secrets.token_bytes(4096)
    digest = first.admin().push_blob("packs/upgrade", content)

    # The replacement as `pulumi up` runs it (delete_before_replace): remove, then create with the new image.
    remove_container(first.container, janitor)
    volume = first.container.spec["volumes"][0]["volumeName"]
    second = deploy(after, janitor, local[after.one(CONTAINER).inputs["image"]], "https", name=name, volume=volume)
    assert _running_image(second) == _image_id(next_standin)
    _same_everything_but_the_image(before, after)

    # Read after, with the passwords and the CA from before the upgrade.
    reader = READ_ONLY_USERS[0]
    old_users = first.users
    fetched = second.client(reader, old_users[reader], ca_certificate=first.ca).get(f"/v2/packs/upgrade/blobs/{digest}")
    assert fetched.status == 200
    assert fetched.body == content
    admin = before.exports["adminUser"]
    catalog = second.client(admin, old_users[admin], ca_certificate=first.ca).get("/v2/_catalog")
    assert b"packs/upgrade" in catalog.body
    remove_container(second.container, janitor)


def _same_everything_but_the_image(before: ProgramRun, after: ProgramRun) -> None:
    old: dict[str, Any] = before.one(CONTAINER).inputs
    new: dict[str, Any] = after.one(CONTAINER).inputs
    assert {key for key in old.keys() | new.keys() if old.get(key) != new.get(key)} == {"image"}
    for key in ("adminPassword", "readOnlyPasswords", "caCertificate", "certificateExpiresAt", "dataVolume"):
        assert before.exports[key] == after.exports[key], key
