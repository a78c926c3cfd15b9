"""An OCI instance on the real engine: the registry stand-in and the nginx proxy stand-in on a private network.

The layout is the program's (components/instance/container.py): an internal network of the pair's own; the proxy
container publishes its port (on 127.0.0.1 only, a port the engine picks) and joins that network; the registry
container joins only that network, under the alias nginx looks up (components/instance/proxy.py REGISTRY_HOST),
and listens on :5000 there, where only nginx reaches it. Files go
in the way the docker provider uploads them (``docker cp`` before start), with the text ``proxy_config``
renders. Everything is labelled and removed by the ``DockerJanitor``.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import secrets
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import bcrypt
import requests

from components.instance import proxy as oci_proxy
from components.kinds.kind import DRAIN_ENV
from tests.support.docker_support import LABEL, DockerJanitor, _published_port, docker, upload_files
from tests.support.tls_support import Authority, LeafCertificate

__all__ = [
    "OCI_STANDIN_IMAGE",
    "PROXY_STANDIN_IMAGE",
    "REGISTRY_HTPASSWD",
    "Download",
    "OciPair",
    "download_in_flight",
    "htpasswd",
    "start_oci_pair",
    "wait_until_ready",
]

OCI_STANDIN_IMAGE = os.environ.get("OCI_STANDIN_IMAGE", "palette-pack-registry-oci-standin:test")
PROXY_STANDIN_IMAGE = os.environ.get("PROXY_STANDIN_IMAGE", "palette-pack-registry-proxy-standin:test")
REGISTRY_HTPASSWD = "/auth/htpasswd"
"""Where the registry container reads the same htpasswd file (its own auth stays on)."""
REGISTRY_DATA = "/var/lib/registry"
"""Where the official registry image keeps its data (a VOLUME)."""


def htpasswd(users: dict[str, str]) -> str:
    """An htpasswd file with a bcrypt entry per user, as the program writes it (``$2b$``, 10 rounds)."""
    return "".join(
        f"{name}:{bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=10)).decode()}\n"
        for name, password in users.items()
    )


@dataclass
class OciPair:
    """A started OCI instance."""

    registry: str
    """Id of the registry container (on the private network only)."""
    proxy: str
    """Id of the nginx container (publishes the port, on "bridge" and the private network)."""
    host_port: int
    """127.0.0.1 port that reaches nginx."""
    https: bool
    started_at: float
    """time.monotonic() right before the first `docker start`."""

    @property
    def url(self) -> str:
        return f"{'https' if self.https else 'http'}://127.0.0.1:{self.host_port}"

    def logs(self, tail: str = "40") -> str:
        """Both containers' logs, last ``tail`` lines each (or "all")."""
        out = []
        for role, container in (("registry", self.registry), ("proxy", self.proxy)):
            result = subprocess.run(
                ["docker", "logs", "--tail", tail, container], capture_output=True, timeout=30, check=False
            )
            out.append(f"--- {role}\n{(result.stdout + result.stderr).decode(errors='replace')}")
        return "\n".join(out)


def _create(janitor: DockerJanitor, args: list[str], envs: list[str], image: str) -> str:
    with tempfile.TemporaryDirectory() as directory:
        env_file = Path(directory, "env")
        env_file.write_text("".join(f"{entry}\n" for entry in envs))
        container = docker("create", "--label", f"{LABEL}={janitor.token}", *args, "--env-file", str(env_file), image)
    janitor.containers.append(container.strip())
    return container.strip()


def start_oci_pair(
    janitor: DockerJanitor,
    *,
    name: str,
    registry_image: str,
    proxy_image: str,
    config_text: str,
    htpasswd_text: str,
    realm: str,
    leaf: LeafCertificate | None,
    volume: str | None = None,
    start: bool = True,
    registry_auth: bool = False,
) -> OciPair:
    """Creates (and starts) the registry and the proxy of one instance; ``leaf`` None means plain HTTP.

    ``volume`` (a name, made per run) is mounted at /var/lib/registry and created when new.
    ``registry_auth`` True adds an htpasswd check by the registry itself behind nginx's (the program leaves
    it out): for the benchmark that shows what that second bcrypt check would cost.
    """
    # The proxy publishes the port; the registry is on the private network only (components/instance/container.py).
    proxy = _create(
        janitor,
        [
            "--name",
            janitor.name(f"{name}-proxy"),
            "--publish",
            f"127.0.0.1::{oci_proxy.PROXY_PORT}/tcp",
            "--stop-signal",
            oci_proxy.STOP_SIGNAL,
        ],
        [],
        proxy_image,
    )
    network = janitor.name(f"{name}-network-{secrets.token_hex(3)}")
    docker("network", "create", "--label", f"{LABEL}={janitor.token}", "--internal", network)
    janitor.networks.append(network)
    docker("network", "connect", network, proxy)
    args = ["--name", janitor.name(f"{name}-registry"), "--network", network]
    args += ["--network-alias", oci_proxy.REGISTRY_HOST]
    if volume:
        if volume not in janitor.volumes:
            docker("volume", "create", "--label", f"{LABEL}={janitor.token}", volume)
            janitor.volumes.append(volume)
        args += ["--volume", f"{volume}:{REGISTRY_DATA}"]
    envs = [*oci_proxy.registry_env(), DRAIN_ENV, "REGISTRY_LOG_LEVEL=info"]
    if registry_auth:
        envs += [
            "REGISTRY_AUTH=htpasswd",
            f"REGISTRY_AUTH_HTPASSWD_REALM={realm}",
            f"REGISTRY_AUTH_HTPASSWD_PATH={REGISTRY_HTPASSWD}",
        ]
    registry = _create(janitor, args, envs, registry_image)
    upload_files(registry, [{"file": REGISTRY_HTPASSWD, "content": htpasswd_text, "permissions": "0444"}])
    uploads = [
        {"file": oci_proxy.CONFIG_FILE, "content": config_text, "permissions": "0444"},
        {"file": oci_proxy.HTPASSWD_FILE, "content": htpasswd_text, "permissions": "0444"},
    ]
    if leaf is not None:
        uploads += [
            {"file": oci_proxy.CERT_FILE, "content": leaf.certificate_pem, "permissions": "0444"},
            {"file": oci_proxy.KEY_FILE, "content": leaf.private_key_pem, "permissions": "0444"},
        ]
    upload_files(proxy, uploads)
    pair = OciPair(registry, proxy, 0, leaf is not None, 0.0)
    return start_pair(pair) if start else pair


def start_pair(pair: OciPair) -> OciPair:
    """Starts a created pair: the proxy first, then the registry."""
    started_at = time.monotonic()
    docker("start", pair.proxy)
    docker("start", pair.registry)
    port = _published_port(pair.proxy, oci_proxy.PROXY_PORT)
    return OciPair(pair.registry, pair.proxy, port, pair.https, started_at)


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def wait_until_ready(
    pair: OciPair,
    *,
    reader: tuple[str, str],
    ca_file: str | None,
    timeout: float = 30.0,
    interval: float = 0.1,
    repository: str = "ready/probe",
) -> float:
    """Polls like the OCI readiness gate: ``/v2/`` 401 without credentials, the read-only user's
    ``/v2/_catalog`` 200 and its blob-upload start refused (403). Returns time.monotonic() when all hold."""
    deadline = time.monotonic() + timeout
    last = "nothing tried"
    # verify on each call: a session's verify loses to REQUESTS_CA_BUNDLE (psf/requests#3829).
    verify: str | bool = ca_file if ca_file else True
    with requests.Session() as session:
        while time.monotonic() < deadline:
            try:
                anonymous = session.get(f"{pair.url}/v2/", verify=verify, timeout=2)
                catalog = session.get(f"{pair.url}/v2/_catalog", headers=basic(*reader), verify=verify, timeout=2)
                push = session.post(
                    f"{pair.url}/v2/{repository}/blobs/uploads/", headers=basic(*reader), verify=verify, timeout=2
                )
                last = f"/v2/ {anonymous.status_code}, catalog {catalog.status_code}, push {push.status_code}"
                if (anonymous.status_code, catalog.status_code, push.status_code) == (401, 200, 403):
                    return time.monotonic()
            except requests.RequestException as error:
                last = repr(error)
            time.sleep(interval)
    raise TimeoutError(f"{pair.url} not ready within {timeout}s ({last}):\n{pair.logs()}")


def write_ca(authority: Authority, path: Path) -> str:
    path.write_text(authority.certificate_pem)
    return str(path)


@dataclass
class Download:
    """A blob being read slowly in a thread (``download_in_flight``)."""

    digest: str
    received: io.BytesIO = field(default_factory=io.BytesIO)
    errors: list[BaseException] = field(default_factory=list)


@contextmanager
def download_in_flight(
    url: str, admin: tuple[str, str], reader: tuple[str, str], ca_file: str, repository: str, join_seconds: float
) -> Iterator[Download]:
    """Pushes a 32 MiB blob to ``repository`` as ``admin`` and reads it back as ``reader`` in a thread, 256 KiB
    at a time, the first 20 chunks slowly; enters once the first chunk arrived, so that the body can stop a
    container while the download is in flight, and leaves once the reader finished (or ``join_seconds``)."""
    blob = os.urandom(32 * 1024 * 1024)
    download = Download("sha256:" + hashlib.sha256(blob).hexdigest())
    started = requests.post(f"{url}/v2/{repository}/blobs/uploads/", auth=admin, verify=ca_file, timeout=60)
    assert started.status_code == 202, started.text
    done = requests.put(
        started.headers["Location"],
        params={"digest": download.digest},
        data=blob,
        auth=admin,
        verify=ca_file,
        timeout=120,
    )
    assert done.status_code == 201, done.text
    first_chunk = threading.Event()

    def read_slowly() -> None:
        try:
            with requests.get(
                f"{url}/v2/{repository}/blobs/{download.digest}", auth=reader, verify=ca_file, stream=True, timeout=60
            ) as answer:
                assert answer.status_code == 200
                for index, chunk in enumerate(answer.iter_content(256 * 1024)):
                    download.received.write(chunk)
                    first_chunk.set()
                    if index < 20:
                        time.sleep(0.05)
        except BaseException as error:
            download.errors.append(error)
            first_chunk.set()

    thread = threading.Thread(target=read_slowly)
    thread.start()
    try:
        assert first_chunk.wait(30)
        yield download
    finally:
        thread.join(join_seconds)
