"""The nginx proxy in front of the OCI registry, on the real engine: every rule of the method split.

The registry stand-in (Debian's CNCF distribution 2.8.2 in the official ``registry`` image's layout) and
the proxy stand-in (Debian's nginx 1.22 in the official ``nginx`` image's layout) share a private network as
the program runs them (tests/support/oci_support.py); the config is ``proxy_config``'s text, the
htpasswd file bcrypt (``$2b$``), the certificate from a test CA, verified by every client here.

Why the proxy exists: distribution's htpasswd access controller grants every authenticated user every
action (distribution ``registry/auth/htpasswd/access.go``, ``Authorized`` returns the user for any
access list), so the read-only user could push without it.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import oras.client
import pytest
import requests

from components.instance import proxy as oci_proxy
from components.instance.proxy import ProxyConfigArgs, proxy_config
from tests.support import docker_support, oci_support
from tests.support.docker_support import DockerJanitor, docker
from tests.support.oci_support import OciPair, basic, htpasswd, start_oci_pair, wait_until_ready
from tests.support.tls_support import Authority

ADMIN = "admin"
READER = "spectro"
# A read-only user whose name differs from the admin's only in case: nginx's exact map keys compare
# case-insensitively, so a rule written with them would let this user write.
CASE_TWIN = "Admin"
USERS = {ADMIN: "it-Admin-Password-0001", READER: "it-Reader-Password-002", CASE_TWIN: "it-Twin-Password-00003"}
# A realm with what nginx's syntax, its variables and the HTTP quoted-string all treat specially.
REALM = 'Pack "Registry" \\ $host; {x}'
CHALLENGE = 'Basic realm="Pack \\"Registry\\" \\\\ $host; {x}"'
MIB = 1024 * 1024


@dataclass
class Instance:
    pair: OciPair
    ca_file: str
    volume: str
    config_text: str
    htpasswd_text: str

    @property
    def url(self) -> str:
        return self.pair.url

    def get(
        self, path: str, user: str | None = None, password: str | None = None, **kwargs: object
    ) -> requests.Response:
        return self.request("GET", path, user, password, **kwargs)

    def request(
        self, method: str, path: str, user: str | None = None, password: str | None = None, **kwargs: object
    ) -> requests.Response:
        headers = dict(kwargs.pop("headers", {}) or {})  # type: ignore[call-overload]
        if user is not None:
            headers.update(basic(user, password if password is not None else USERS[user]))
        return requests.request(
            method,
            self.url + path,
            headers=headers,
            verify=self.ca_file,
            timeout=60,
            **kwargs,  # type: ignore[arg-type]
        )


@pytest.fixture(scope="module")
def authority() -> Authority:
    return Authority.create()


@pytest.fixture(scope="module")
def instance(
    tmp_path_factory: pytest.TempPathFactory,
    authority: Authority,
    janitor: DockerJanitor,
    oci_standin_image: str,
    proxy_standin_image: str,
) -> Iterator[Instance]:
    ca_file = tmp_path_factory.mktemp("ca") / "ca.crt"
    ca_file.write_text(authority.certificate_pem)
    config_text = proxy_config(ProxyConfigArgs(realm=REALM))
    htpasswd_text = htpasswd(USERS)
    volume = janitor.name("oci-proxy-data")
    pair = start_oci_pair(
        janitor,
        name="oci-proxy",
        registry_image=oci_standin_image,
        proxy_image=proxy_standin_image,
        config_text=config_text,
        htpasswd_text=htpasswd_text,
        realm="Pack Registry",
        leaf=authority.issue(["registry.test"], ["127.0.0.1"]),
        volume=volume,
    )
    wait_until_ready(pair, reader=(READER, USERS[READER]), ca_file=str(ca_file))
    yield Instance(pair, str(ca_file), volume, config_text, htpasswd_text)


def test_anonymous_request_gets_401_with_the_basic_challenge(instance: Instance) -> None:
    answer = instance.get("/v2/")
    assert answer.status_code == 401, answer.text
    assert answer.headers["WWW-Authenticate"] == CHALLENGE
    assert answer.headers["Docker-Distribution-Api-Version"] == "registry/2.0"


def test_read_only_user_lists_the_catalog(instance: Instance) -> None:
    answer = instance.get("/v2/_catalog", READER)
    assert answer.status_code == 200, answer.text
    assert "repositories" in answer.json()
    # The registry's own header comes through once, not doubled by nginx's fallback.
    assert answer.headers["Docker-Distribution-Api-Version"] == "registry/2.0"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/v2/packs/spectro-packs/archive/demo/blobs/uploads/"),
        ("PUT", "/v2/packs/spectro-packs/archive/demo/manifests/1.0.0"),
        ("PATCH", "/v2/packs/spectro-packs/archive/demo/blobs/uploads/0f2c6c9e-0000-4000-8000-000000000000"),
        ("DELETE", "/v2/packs/spectro-packs/archive/demo/manifests/sha256:" + "0" * 64),
    ],
)
@pytest.mark.parametrize("user", [READER, CASE_TWIN])
def test_read_only_users_writes_get_403(instance: Instance, method: str, path: str, user: str) -> None:
    answer = instance.request(method, path, user, data=b"{}")
    assert answer.status_code == 403, (answer.status_code, answer.text)
    assert answer.headers["Content-Type"] == "application/json"
    assert answer.json()["errors"][0]["code"] == "DENIED"


def test_a_read_with_a_wrong_password_gets_401_with_the_challenge(instance: Instance) -> None:
    for user in (READER, ADMIN, "nobody"):
        answer = instance.get("/v2/", user, "not-the-password-000")
        assert answer.status_code == 401, (user, answer.text)
        assert answer.headers["WWW-Authenticate"] == CHALLENGE
        assert answer.json()["errors"][0]["code"] == "UNAUTHORIZED"
        assert answer.headers["Docker-Distribution-Api-Version"] == "registry/2.0"


def _refusal(answer: requests.Response) -> tuple[int, str, str, str]:
    return answer.status_code, answer.headers["Content-Type"], answer.headers.get("WWW-Authenticate", ""), answer.text


def test_every_refused_write_looks_the_same_whatever_the_name(instance: Instance) -> None:
    """Issue 22: a write rule that looked at the name answered the admin's name with a wrong password 401 and every
    other name 403, telling which name is the admin's. Writes are now checked against the admin's entry alone: the
    admin's name with a wrong password, a read-only user with its own password, its case twin and a name nobody
    has get the same answer, byte for byte."""
    path = "/v2/packs/spectro-packs/archive/demo/blobs/uploads/"
    answers = {
        (user, password): _refusal(instance.request("POST", path, user, password))
        for user, password in (
            (ADMIN, "not-the-password-000"),
            (ADMIN.upper(), USERS[ADMIN]),
            (READER, USERS[READER]),
            (READER, "not-the-password-000"),
            (CASE_TWIN, USERS[CASE_TWIN]),
            ("nobody", "not-the-password-000"),
        )
    }
    assert len(set(answers.values())) == 1, answers
    status, content_type, _, body = next(iter(answers.values()))
    assert (status, content_type) == (403, "application/json")
    assert json.loads(body)["errors"][0] == {
        "code": "DENIED",
        "message": json.loads(oci_proxy.DENIED_BODY)["errors"][0]["message"],
        "detail": None,
    }


def test_anonymous_write_gets_the_challenge_not_403(instance: Instance) -> None:
    answer = instance.request("POST", "/v2/demo/blobs/uploads/")
    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"] == CHALLENGE


def test_admin_starts_and_cancels_an_upload(instance: Instance) -> None:
    started = instance.request("POST", "/v2/packs/demo/blobs/uploads/", ADMIN)
    assert started.status_code == 202, started.text
    location = started.headers["Location"]
    # The registry builds the upload URL from the Host and X-Forwarded-Proto nginx passes on.
    assert location.startswith(f"{instance.url}/v2/packs/demo/blobs/uploads/"), location
    cancelled = requests.delete(location, headers=basic(ADMIN, USERS[ADMIN]), verify=instance.ca_file, timeout=30)
    assert cancelled.status_code == 204, cancelled.text


def test_paths_outside_the_api_are_not_served(instance: Instance) -> None:
    assert instance.get("/", READER).status_code == 404
    assert instance.get("/debug/vars", ADMIN).status_code == 404


def _oras(instance: Instance, user: str, home: Path, monkeypatch: pytest.MonkeyPatch) -> oras.client.OrasClient:
    """An ORAS client as Spectro's docs use it, over basic auth, verifying TLS with the CA file. HOME is a
    temp dir, so no ~/.docker/config.json entry can override the credentials set here."""
    monkeypatch.setenv("HOME", str(home))
    client = oras.client.OrasClient(
        hostname=instance.url.removeprefix("https://"), auth_backend="basic", tls_verify=instance.ca_file
    )
    client.auth.set_basic_auth(user, USERS[user])
    return client


def _pack_file(directory: Path, name: str, size: int) -> Path:
    path = directory / name
    path.write_bytes(os.urandom(size))
    return path


def test_admin_pushes_with_oras_and_the_read_only_user_pulls(
    instance: Instance, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = f"{instance.url.removeprefix('https://')}/packs/spectro-packs/archive/hello-universe:1.0.0"
    work = tmp_path / "push"
    work.mkdir()
    pack = _pack_file(work, "hello-universe-1.0.0.tar.gz", 10 * MIB)
    monkeypatch.chdir(work)
    pushed = _oras(instance, ADMIN, tmp_path, monkeypatch).push(
        target=target, files=[f"{pack.name}:application/vnd.oci.image.layer.v1.tar"], quiet=True
    )
    assert pushed.status_code == 201, pushed.text

    out = tmp_path / "pull"
    files = _oras(instance, READER, tmp_path, monkeypatch).pull(target=target, outdir=str(out))
    assert [Path(file).name for file in files] == [pack.name]
    assert hashlib.sha256(Path(files[0]).read_bytes()).digest() == hashlib.sha256(pack.read_bytes()).digest()

    # The same client as the read-only user cannot push.
    other = _pack_file(work, "evil-1.0.0.tar.gz", 1024)
    with pytest.raises(ValueError, match="DENIED") as refused:
        _oras(instance, READER, tmp_path, monkeypatch).push(
            target=target.replace("hello-universe", "evil"),
            files=[f"{other.name}:application/vnd.oci.image.layer.v1.tar"],
            quiet=True,
        )
    assert "only the admin user, with its password, may push or delete" in str(refused.value)
    assert "packs/spectro-packs/archive/evil" not in instance.get("/v2/_catalog", READER).json()["repositories"]


def _push_small_image(instance: Instance, repository: str) -> str:
    """Pushes a one-layer image as the admin through the proxy; returns the manifest digest."""
    layer = os.urandom(4096)
    config = b"{}"
    for blob in (layer, config):
        started = instance.request("POST", f"/v2/{repository}/blobs/uploads/", ADMIN)
        assert started.status_code == 202, started.text
        digest = "sha256:" + hashlib.sha256(blob).hexdigest()
        done = requests.put(
            started.headers["Location"],
            params={"digest": digest},
            data=blob,
            headers={**basic(ADMIN, USERS[ADMIN]), "Content-Type": "application/octet-stream"},
            verify=instance.ca_file,
            timeout=60,
        )
        assert done.status_code == 201, done.text
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.unknown.config.v1+json",
                "digest": "sha256:" + hashlib.sha256(config).hexdigest(),
                "size": len(config),
            },
            "layers": [
                {
                    "mediaType": "application/vnd.oci.image.layer.v1.tar",
                    "digest": "sha256:" + hashlib.sha256(layer).hexdigest(),
                    "size": len(layer),
                }
            ],
        }
    ).encode()
    put = instance.request(
        "PUT",
        f"/v2/{repository}/manifests/1.0.0",
        ADMIN,
        data=manifest,
        headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"},
    )
    assert put.status_code == 201, put.text
    return put.headers["Docker-Content-Digest"]


def test_admin_deletes_a_manifest_and_the_read_only_user_cannot(instance: Instance) -> None:
    repository = "packs/spectro-packs/archive/to-delete"
    digest = _push_small_image(instance, repository)
    assert instance.request("DELETE", f"/v2/{repository}/manifests/{digest}", READER).status_code == 403
    deleted = instance.request("DELETE", f"/v2/{repository}/manifests/{digest}", ADMIN)
    assert deleted.status_code == 202, deleted.text
    assert instance.get(f"/v2/{repository}/manifests/{digest}", READER).status_code == 404


def test_a_large_chunked_upload_streams_through(instance: Instance) -> None:
    """64 MiB sent with ``Transfer-Encoding: chunked`` in one PATCH (no Content-Length), then the PUT
    that closes the upload; nginx has no body limit and passes the chunks on as they arrive."""
    size, piece = 64 * MIB, MIB
    seed = os.urandom(piece)
    digest = hashlib.sha256(seed * (size // piece)).hexdigest()
    repository = "packs/spectro-packs/archive/large"
    started = instance.request("POST", f"/v2/{repository}/blobs/uploads/", ADMIN)
    assert started.status_code == 202, started.text

    def chunks() -> Iterator[bytes]:
        for _ in range(size // piece):
            yield seed

    patched = requests.patch(
        started.headers["Location"],
        data=chunks(),
        headers={**basic(ADMIN, USERS[ADMIN]), "Content-Type": "application/octet-stream"},
        verify=instance.ca_file,
        timeout=300,
    )
    assert patched.status_code == 202, patched.text
    assert patched.headers["Range"] == f"0-{size - 1}"
    closed = requests.put(
        patched.headers["Location"],
        params={"digest": f"sha256:{digest}"},
        headers=basic(ADMIN, USERS[ADMIN]),
        verify=instance.ca_file,
        timeout=60,
    )
    assert closed.status_code == 201, closed.text
    head = instance.request("HEAD", f"/v2/{repository}/blobs/sha256:{digest}", READER)
    assert head.status_code == 200
    assert int(head.headers["Content-Length"]) == size


def _volume_holds(volume: str, path: str, image: str, janitor: DockerJanitor) -> bool:
    """Whether ``path`` exists in ``volume`` mounted at /var/lib/registry (a created, never started
    container of the registry image: it has no shell)."""
    holder = docker(
        "create", "--label", f"{docker_support.LABEL}={janitor.token}", "--volume", f"{volume}:/var/lib/registry", image
    ).strip()
    try:
        listing = docker("cp", f"{holder}:{path}", "-", check=False)
        return bool(listing)
    finally:
        docker("rm", "--force", "--volumes", holder, check=False)


def test_data_lives_in_the_volume_and_survives_replacing_both_containers(
    instance: Instance, janitor: DockerJanitor, oci_standin_image: str, proxy_standin_image: str, authority: Authority
) -> None:
    repository = "packs/spectro-packs/archive/survivor"
    digest = _push_small_image(instance, repository)
    assert _volume_holds(
        instance.volume, f"/var/lib/registry/docker/registry/v2/repositories/{repository}", oci_standin_image, janitor
    )
    replacement = start_oci_pair(
        janitor,
        name="oci-proxy-replaced",
        registry_image=oci_standin_image,
        proxy_image=proxy_standin_image,
        config_text=instance.config_text,
        htpasswd_text=instance.htpasswd_text,
        realm="Pack Registry",
        leaf=authority.issue(["registry.test"], ["127.0.0.1"]),
        volume=instance.volume,
        start=False,
    )
    # Replace: the old pair goes, the new one starts.
    for container in (instance.pair.proxy, instance.pair.registry):
        janitor.remove_container(container)
    replacement = oci_support.start_pair(replacement)
    wait_until_ready(replacement, reader=(READER, USERS[READER]), ca_file=instance.ca_file)
    answer = requests.get(
        f"{replacement.url}/v2/{repository}/manifests/{digest}",
        headers={**basic(READER, USERS[READER]), "Accept": "application/vnd.oci.image.manifest.v1+json"},
        verify=instance.ca_file,
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    # Later tests in this module use the replacement.
    instance.pair = replacement
    janitor.keep(replacement.network)


def test_proxy_stops_gracefully_finishing_a_download_in_flight(instance: Instance, janitor: DockerJanitor) -> None:
    """SIGQUIT (the image's STOPSIGNAL, components.instance.proxy.STOP_SIGNAL) is nginx's graceful shutdown: a
    blob being read when ``docker stop`` arrives is still delivered whole, and nginx exits 0. The proxy holds
    the published port, which Docker tears down once nginx exits: nginx's lingering close
    keeps it until the client has the last bytes. Then both start again, the proxy first."""
    admin, reader = (ADMIN, USERS[ADMIN]), (READER, USERS[READER])
    repository = "packs/spectro-packs/archive/stop"
    with oci_support.download_in_flight(instance.url, admin, reader, instance.ca_file, repository, 60) as download:
        stopped_at = time.monotonic()
        docker("stop", "--time", "30", instance.pair.proxy)
        stop_seconds = time.monotonic() - stopped_at
    assert not download.errors, download.errors
    assert hashlib.sha256(download.received.getvalue()).hexdigest() == download.digest.removeprefix("sha256:")
    assert docker("inspect", "--format", "{{.State.ExitCode}}", instance.pair.proxy).strip() == "0"
    # Graceful, not the 30 s kill: nginx left as soon as the download was done.
    assert stop_seconds < 30
    docker("stop", "--time", "10", instance.pair.registry)
    instance.pair = oci_support.start_pair(instance.pair)
    wait_until_ready(instance.pair, reader=(READER, USERS[READER]), ca_file=instance.ca_file)


@pytest.fixture(scope="module")
def tls13_instance(
    tmp_path_factory: pytest.TempPathFactory,
    authority: Authority,
    janitor: DockerJanitor,
    oci_standin_image: str,
    proxy_standin_image: str,
) -> Instance:
    instance = _tls_pair(
        tmp_path_factory,
        authority,
        janitor,
        (oci_standin_image, proxy_standin_image),
        "oci-proxy-tls13",
        ProxyConfigArgs(realm="Pack Registry", tls_min_version="1.3"),
    )
    wait_until_ready(instance.pair, reader=(READER, USERS[READER]), ca_file=instance.ca_file)
    return instance


def _tls_pair(
    tmp_path_factory: pytest.TempPathFactory,
    authority: Authority,
    janitor: DockerJanitor,
    images: tuple[str, str],
    name: str,
    args: ProxyConfigArgs,
) -> Instance:
    """A started pair serving TLS with a certificate of ``authority`` and the config ``args`` render."""
    ca_file = tmp_path_factory.mktemp(name) / "ca.crt"
    ca_file.write_text(authority.certificate_pem)
    config_text = proxy_config(args)
    pair = start_oci_pair(
        janitor,
        name=name,
        registry_image=images[0],
        proxy_image=images[1],
        config_text=config_text,
        htpasswd_text=htpasswd(USERS),
        realm="Pack Registry",
        leaf=authority.issue(["registry.test"], ["127.0.0.1"]),
    )
    return Instance(pair, str(ca_file), "", config_text, "")


def _handshake(url: str, ca_file: str, maximum: ssl.TLSVersion) -> str:
    context = ssl.create_default_context(cafile=ca_file)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.maximum_version = maximum
    port = int(url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            return str(tls.version())


def test_tls_floor_13_refuses_a_tls12_client(tls13_instance: Instance, instance: Instance) -> None:
    assert _handshake(tls13_instance.url, tls13_instance.ca_file, ssl.TLSVersion.TLSv1_3) == "TLSv1.3"
    with pytest.raises(ssl.SSLError):
        _handshake(tls13_instance.url, tls13_instance.ca_file, ssl.TLSVersion.TLSv1_2)
    # The default floor (1.2) takes the same client.
    assert _handshake(instance.url, instance.ca_file, ssl.TLSVersion.TLSv1_2) == "TLSv1.2"


def test_plain_http_mode_keeps_the_split_for_any_allowed_name(
    janitor: DockerJanitor, oci_standin_image: str, proxy_standin_image: str
) -> None:
    """tlsMode http, and an admin name using every punctuation users.py allows: a read-only user whose
    name matches it only where "." would match any character is still refused."""
    admin, twin = "ad.min@x-y_z", "adXmin@x-y_z"
    users = {admin: "it-Admin-Password-0001", twin: "it-Reader-Password-002"}
    pair = start_oci_pair(
        janitor,
        name="oci-proxy-http",
        registry_image=oci_standin_image,
        proxy_image=proxy_standin_image,
        config_text=proxy_config(ProxyConfigArgs(realm="Pack Registry", https=False)),
        htpasswd_text=htpasswd(users),
        realm="Pack Registry",
        leaf=None,
        admin=admin,
    )
    wait_until_ready(pair, reader=(twin, users[twin]), ca_file=None)
    assert pair.url.startswith("http://")
    started = requests.post(f"{pair.url}/v2/demo/blobs/uploads/", headers=basic(admin, users[admin]), timeout=30)
    assert started.status_code == 202
    assert started.headers["Location"].startswith(f"{pair.url}/v2/demo/blobs/uploads/")
    refused = requests.post(f"{pair.url}/v2/demo/blobs/uploads/", headers=basic(twin, users[twin]), timeout=30)
    assert refused.status_code == 403


def test_only_the_proxys_port_is_published_and_the_registry_listens_on_its_network(instance: Instance) -> None:
    """Only nginx's port is published; the registry listens on its own namespace (the private network), its
    debug server on its loopback (who reaches the port: tests/integration/test_oci_restarts.py)."""
    ports = json.loads(docker("inspect", "--format", "{{json .NetworkSettings.Ports}}", instance.pair.proxy))
    published = {port for port, bindings in ports.items() if bindings}
    assert published == {f"{oci_proxy.PROXY_PORT}/tcp"}
    assert all(binding["HostIp"] == "127.0.0.1" for binding in ports[f"{oci_proxy.PROXY_PORT}/tcp"])
    env = docker("inspect", "--format", "{{json .Config.Env}}", instance.pair.registry)
    assert f"REGISTRY_HTTP_ADDR={oci_proxy.REGISTRY_ADDRESS}" in json.loads(env)
    logs = instance.pair.logs(tail="all")
    assert f'msg="listening on [::]:{oci_proxy.REGISTRY_PORT}"' in logs
    assert f'msg="debug server listening {oci_proxy.REGISTRY_DEBUG_ADDRESS}"' in logs


def test_stand_in_images_keep_the_official_layouts(oci_standin_image: str, proxy_standin_image: str) -> None:
    """What the program relies on in the official images, kept by the stand-ins: the registry's data
    VOLUME and `serve <config>` command (distribution-library-image Dockerfile), nginx's SIGQUIT stop
    signal and `nginx -g 'daemon off;'` command (docker-nginx Dockerfile)."""
    registry = json.loads(docker("image", "inspect", "--format", "{{json .Config}}", oci_standin_image))
    assert list(registry["Volumes"]) == [oci_support.REGISTRY_DATA]
    assert registry["Cmd"] == ["serve", "/etc/docker/registry/config.yml"]
    proxy = json.loads(docker("image", "inspect", "--format", "{{json .Config}}", proxy_standin_image))
    assert proxy["StopSignal"] == oci_proxy.STOP_SIGNAL
    assert proxy["Cmd"] == ["nginx", "-g", "daemon off;"]
    # Neither image sets a USER (docker-nginx mainline/debian/Dockerfile, distribution-library-image Dockerfile):
    # nginx's master and the registry run as root, who alone reads the 0400 key and configuration file; nginx's
    # workers drop to user nginx (uid 101, in the image's passwd) as the program's nginx.conf says.
    assert proxy.get("User", "") == registry.get("User", "") == ""
    assert "\nuser  nginx;\n" in oci_proxy.main_config(None)


def _tls12_handshake(url: str, ca_file: str, ciphers: str) -> str:
    """A TLS 1.2 handshake offering only ``ciphers`` (OpenSSL names); returns the suite agreed on."""
    context = ssl.create_default_context(cafile=ca_file)
    context.minimum_version = context.maximum_version = ssl.TLSVersion.TLSv1_2
    context.set_ciphers(ciphers)
    port = int(url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            cipher = tls.cipher()
            assert cipher is not None
            return cipher[0]


@pytest.mark.parametrize(
    "suite",
    [
        "ECDHE-RSA-AES128-SHA",  # CBC, SHA-1 MAC
        "ECDHE-RSA-AES256-SHA384",  # CBC
        "AES128-GCM-SHA256",  # static RSA key exchange: no forward secrecy
        "AES256-SHA",  # static RSA, CBC, SHA-1
        "ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA256:DHE-RSA-AES128-SHA",
    ],
)
def test_tls12_refuses_cbc_sha1_and_static_rsa_suites(instance: Instance, suite: str) -> None:
    """Issue 22: nginx's default list (HIGH:!aNULL:!MD5) offered CBC and SHA-1 suites on TLS 1.2. Now only the AEAD
    suites with forward secrecy of Mozilla's "intermediate" list (components.instance.proxy.TLS12_CIPHERS)."""
    with pytest.raises(ssl.SSLError):
        _tls12_handshake(instance.url, instance.ca_file, suite)


def test_tls12_agrees_on_an_aead_suite_with_forward_secrecy(instance: Instance) -> None:
    agreed = _tls12_handshake(instance.url, instance.ca_file, "ALL")
    assert agreed in oci_proxy.TLS12_CIPHERS.split(":"), agreed
    # A client that offers the six suites only gets one of them (the test CA's keys are ECDSA, like the program's).
    assert _tls12_handshake(instance.url, instance.ca_file, oci_proxy.TLS12_CIPHERS).startswith("ECDHE-ECDSA-")


def test_the_tls_key_is_root_s_alone_and_nginx_still_serves_with_it(instance: Instance) -> None:
    """Issue 22: the key was 0444, readable by the nginx user the workers run as. It is uploaded 0400 and owned by
    root (the docker provider's tar header names no owner and asks no CopyUIDGID: kreuzwerker/terraform-provider-docker
    internal/provider/resource_docker_container_funcs.go), and nginx's master reads it as root before its workers
    drop to user nginx, so TLS still works (every test here connects with it)."""
    for path, mode in ((oci_proxy.KEY_FILE, 0o400), (oci_proxy.CERT_FILE, 0o444), (oci_proxy.HTPASSWD_FILE, 0o444)):
        header = docker_support.file_header_in_container(instance.pair.proxy, path)
        assert (header.mode & 0o7777, header.uid, header.gid) == (mode, 0, 0), path
    assert _handshake(instance.url, instance.ca_file, ssl.TLSVersion.TLSv1_3) == "TLSv1.3"


def test_forwarding_headers_from_the_client_reach_neither_upload_urls_nor_the_registry_log(
    instance: Instance,
) -> None:
    """Issue 22: nginx passed the client's X-Forwarded-Host, X-Forwarded-For (and Forwarded) on, so a client could
    point the upload Location elsewhere and write any address into the registry's log (distribution
    registry/api/v2/urls.go NewURLBuilderFromRequest, context/http.go RemoteAddr)."""
    spoofed = "203.0.113.77"
    for headers in (
        {"X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "http", "X-Forwarded-For": spoofed},
        {"Forwarded": f"for={spoofed};host=evil.example;proto=http", "X-Real-IP": spoofed},
    ):
        started = instance.request("POST", "/v2/packs/forwarded/blobs/uploads/", ADMIN, headers=headers)
        assert started.status_code == 202, started.text
        location = started.headers["Location"]
        assert location.startswith(f"{instance.url}/v2/packs/forwarded/blobs/uploads/"), location
        cancelled = requests.delete(location, headers=basic(ADMIN, USERS[ADMIN]), verify=instance.ca_file, timeout=30)
        assert cancelled.status_code == 204, cancelled.text
    # The registry's own log (nginx's access log quotes the client's X-Forwarded-For as the client sent it, escaped,
    # in the official image's log format).
    logs = docker_support.container_logs(instance.pair.registry, tail="200")
    assert "http.request.remoteaddr=" in logs
    assert "evil.example" not in logs
    assert spoofed not in logs


@pytest.fixture(scope="module")
def limited(
    tmp_path_factory: pytest.TempPathFactory,
    authority: Authority,
    janitor: DockerJanitor,
    oci_standin_image: str,
    proxy_standin_image: str,
) -> Instance:
    """The proxy with its per-address limits lowered to 2 requests a second, a burst of 4, and 1 request in flight:
    the program's own (300 a second, 3000, 256) are out of reach of one test client."""
    instance = _tls_pair(
        tmp_path_factory,
        authority,
        janitor,
        (oci_standin_image, proxy_standin_image),
        "oci-proxy-limited",
        ProxyConfigArgs(realm="Pack Registry", requests_per_second=2, requests_burst=4, connections_per_address=1),
    )
    # Polled slower than the rate (the readiness helper's 0.1 s would meet 429s).
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if instance.get("/v2/").status_code == 401:
                break
        except requests.RequestException:
            pass
        time.sleep(0.6)
    return instance


def test_past_its_rate_an_address_gets_429_before_any_password_is_checked(limited: Instance) -> None:
    """limit_req (nginx's preaccess phase) refuses what exceeds the rate and the burst before auth_basic (the access
    phase): wrong passwords past the limit cost no bcrypt check. The answer is distribution's TOOMANYREQUESTS."""
    time.sleep(3)  # the bucket empties at 2 a second
    with requests.Session() as session:
        statuses = [
            session.get(
                f"{limited.url}/v2/_catalog", headers=basic(READER, "not-the-password-000"), verify=limited.ca_file
            )
            for _ in range(12)
        ]
    codes = [answer.status_code for answer in statuses]
    # The first 1 + burst (4) go through to auth_basic; the rest, sent within the same second, are refused.
    assert codes[:5] == [401] * 5, codes
    assert codes.count(429) >= 6, codes
    refused = statuses[codes.index(429)]
    assert refused.json()["errors"][0]["code"] == "TOOMANYREQUESTS"
    assert refused.headers["Retry-After"] == "1"
    assert "WWW-Authenticate" not in refused.headers
    time.sleep(3)
    assert limited.get("/v2/_catalog", READER).status_code == 200


def test_past_its_requests_in_flight_an_address_gets_429(limited: Instance) -> None:
    """limit_conn: with one request in flight allowed, a second one while a blob download is still streaming gets
    429; once the download is done, the next request goes through."""
    time.sleep(3)
    # Larger than what the socket buffers on both sides and nginx's proxy buffers hold, so that nginx still has the
    # request in hand while the client does not read.
    blob = os.urandom(64 * MIB)
    digest = "sha256:" + hashlib.sha256(blob).hexdigest()
    started = limited.request("POST", "/v2/packs/limited/blobs/uploads/", ADMIN)
    assert started.status_code == 202, started.text
    time.sleep(1)
    done = requests.put(
        started.headers["Location"],
        params={"digest": digest},
        data=blob,
        headers=basic(ADMIN, USERS[ADMIN]),
        verify=limited.ca_file,
        timeout=60,
    )
    assert done.status_code == 201, done.text
    time.sleep(3)
    with limited.get(f"/v2/packs/limited/blobs/{digest}", READER, stream=True) as download:
        assert download.status_code == 200
        first = next(download.iter_content(64 * 1024))
        time.sleep(0.6)
        second = limited.get("/v2/_catalog", READER)
        assert second.status_code == 429, second.text
        rest = b"".join(download.iter_content(MIB))
    assert hashlib.sha256(first + rest).hexdigest() == digest.removeprefix("sha256:")
    time.sleep(1)
    assert limited.get("/v2/_catalog", READER).status_code == 200


def test_workers_hold_their_connections_under_a_low_open_file_limit(
    proxy_standin_image: str, janitor: DockerJanitor, tmp_path: Path
) -> None:
    """Some engines start containers with a soft open-file limit of 1024 (``--ulimit nofile=1024:<hard>`` here):
    with WORKER_CONNECTIONS above it nginx warns "worker_connections exceed open file resource limit" and a
    worker runs out of descriptors at about 500 proxied requests (two each). ``worker_rlimit_nofile`` has the
    master raise each worker's limit (nginx src/os/unix/ngx_process_cycle.c ``ngx_worker_process_init``
    calls setrlimit(RLIMIT_NOFILE) before dropping to user nginx; it cannot pass the hard limit without
    CAP_SYS_RESOURCE, so the hard limit here is above it)."""
    main = tmp_path / "nginx.conf"
    main.write_text(oci_proxy.main_config("1"))
    server = tmp_path / "default.conf"
    server.write_text(proxy_config(ProxyConfigArgs(realm="test", https=False, upstream="127.0.0.1:5000")))
    name = janitor.name("review-bad-day-nofile")
    janitor.containers.append(name)
    docker(
        "run", "-d", "--name", name, "--ulimit", "nofile=1024:20000",
        "-v", f"{main}:{oci_proxy.MAIN_CONFIG_FILE}:ro", "-v", f"{server}:{oci_proxy.CONFIG_FILE}:ro",
        proxy_standin_image,
    )  # fmt: skip
    deadline = time.monotonic() + 20
    while "start worker process" not in (logs := _logs(name)):
        assert time.monotonic() < deadline, logs
        time.sleep(0.2)
    assert "exceed open file resource limit" not in logs, logs
    assert "setrlimit" not in logs, logs


def _logs(container: str) -> str:
    """The container's output, both streams (nginx logs to stderr)."""
    result = subprocess.run(["docker", "logs", container], capture_output=True, timeout=30, check=False)
    return result.stdout.decode(errors="replace") + result.stderr.decode(errors="replace")
