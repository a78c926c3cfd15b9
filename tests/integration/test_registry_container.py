"""The program's declared registry container, run for real on Docker and checked as a client would.

The program is evaluated under the realistic mocks (real passwords, bcrypt hashes, keys and certificates);
its recorded container becomes a real container of the stand-in image (CNCF distribution, same REGISTRY_*
env, htpasswd and TLS handling; see docs/registry-servers.md), published on 127.0.0.1. The stand-in
answers /v2/ and /v2/_catalog where the pack registry answers /health and /v1/_catalog, so the
readiness paths are configured accordingly.
"""

from __future__ import annotations

import hashlib
import secrets
import ssl
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from components.readiness import ReadinessGateProvider, RegistryNotReady
from tests.support.docker_support import (
    DockerJanitor,
    file_mode_in_container,
    read_file_from_volume,
    remove_container,
    upload_files,
)
from tests.support.harness import CONTAINER, READINESS, MockState, ProgramRun, run_program
from tests.support.registry_client import RegistryClient
from tests.support.registry_container import BASE_CONFIG, HOSTS, READ_ONLY_USERS, REALM, Deployed, deploy
from tests.support.tls_support import Authority, free_port


@pytest.fixture(scope="module")
def tls_run() -> ProgramRun:
    return run_program(BASE_CONFIG)


@pytest.fixture(scope="module")
def tls_registry(tls_run: ProgramRun, janitor: DockerJanitor, standin_image: str) -> Deployed:
    return deploy(tls_run, janitor, standin_image, "https")


@pytest.fixture(scope="module")
def http_registry(janitor: DockerJanitor, standin_image: str) -> Deployed:
    run = run_program({**BASE_CONFIG, "tlsMode": "http", "allowInsecureHttp": True, "port": 5080})
    return deploy(run, janitor, standin_image, "http", name=janitor.name("spectro-registry-it-http"))


# --- what the program declares, as the container sees it ----------------------------------------------------


def test_the_declared_container_matches_the_install_contract(tls_registry: Deployed) -> None:
    spec = tls_registry.container.spec
    envs = dict(entry.split("=", 1) for entry in spec["envs"])
    assert envs["REGISTRY_AUTH"] == "htpasswd"
    assert envs["REGISTRY_AUTH_HTPASSWD_REALM"] == REALM
    assert envs["REGISTRY_AUTH_HTPASSWD_PATH"] == "/auth/htpasswd-basic"
    assert spec["restart"] == "always"
    assert [port["internal"] for port in spec["ports"]] == [5000]
    # The uploads landed where the env points, read-only for everyone.
    for path in ("/auth/htpasswd-basic", envs["REGISTRY_HTTP_TLS_CERTIFICATE"], envs["REGISTRY_HTTP_TLS_KEY"]):
        assert file_mode_in_container(tls_registry.container.id, path) == 0o444


# --- TLS --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("server_name", [*HOSTS, "127.0.0.1"])
def test_tls_verifies_with_the_exported_ca_for_every_san(tls_registry: Deployed, server_name: str) -> None:
    user = tls_registry.run.exports["adminUser"]
    client = tls_registry.client(user, tls_registry.users[user], server_name=server_name)
    assert client.server_name == server_name
    assert client.get("/v2/").status == 200


def test_tls_rejects_a_name_outside_the_sans(tls_registry: Deployed) -> None:
    client = tls_registry.client(server_name="elsewhere.test")
    with pytest.raises(ssl.SSLCertVerificationError, match=r"match|mismatch"):
        client.get("/v2/")


def test_tls_rejects_an_untrusted_ca(tls_registry: Deployed) -> None:
    client = tls_registry.client(ca_certificate=Authority.create("Unrelated CA").certificate_pem)
    with pytest.raises(ssl.SSLCertVerificationError, match=r"unable to get local issuer|self.signed"):
        client.get("/v2/")


def test_provided_certificate_mode_serves_the_given_chain(janitor: DockerJanitor, standin_image: str) -> None:
    authority = Authority.create("Company CA")
    leaf = authority.issue(HOSTS, ["127.0.0.1"])
    run = run_program(
        {
            **BASE_CONFIG,
            "tlsMode": "provided",
            "tlsCertificate": leaf.certificate_pem,
            "tlsPrivateKey": leaf.private_key_pem,
        },
        secrets_={"tlsPrivateKey"},
    )
    deployed = deploy(run, janitor, standin_image, "https", name=janitor.name("spectro-registry-it-provided"))
    user = run.exports["adminUser"]
    client = RegistryClient(
        deployed.url,
        ca_certificate=authority.certificate_pem,
        server_name=HOSTS[1],
        username=user,
        password=run.exports["adminPassword"],
    )
    assert client.get("/v2/_catalog").status == 200
    remove_container(deployed.container, janitor)


# --- users ------------------------------------------------------------------------------------------------------


def test_every_generated_user_logs_in(tls_registry: Deployed) -> None:
    users = tls_registry.users
    assert sorted(users) == sorted(["admin", *READ_ONLY_USERS])
    assert len(set(users.values())) == len(users)
    for user, password in users.items():
        client = tls_registry.client(user, password)
        assert client.get("/v2/").status == 200, user
        catalog = client.get("/v2/_catalog")
        assert catalog.status == 200, user
        assert b"repositories" in catalog.body


def test_wrong_password_and_anonymous_are_refused(tls_registry: Deployed) -> None:
    for user in tls_registry.users:
        assert tls_registry.client(user, "not-the-" + secrets.token_hex(8)).get("/v2/_catalog").status == 401
    anonymous = tls_registry.client().get("/v2/_catalog")
    assert anonymous.status == 401
    assert anonymous.headers["www-authenticate"] == f'Basic realm="{REALM}"'
    assert tls_registry.client("nobody", "whatever").get("/v2/").status == 401


def test_http_mode_serves_plain_http_with_the_same_auth(http_registry: Deployed) -> None:
    assert http_registry.ca is None
    assert not any(entry.startswith("REGISTRY_HTTP_TLS_") for entry in http_registry.container.spec["envs"])
    for user, password in http_registry.users.items():
        assert http_registry.client(user, password).get("/v2/_catalog").status == 200, user
    assert http_registry.client().get("/v2/_catalog").status == 401
    assert http_registry.client("admin", "wrong").get("/v2/_catalog").status == 401


# --- the readiness gate against the real server ---------------------------------------------------------------


def test_the_programs_gate_inputs_match_the_deployment(tls_registry: Deployed) -> None:
    inputs = tls_registry.run.one(READINESS).inputs
    assert inputs["server_name"] == HOSTS[0]
    assert inputs["username"] == READ_ONLY_USERS[0]
    assert inputs["password"] == tls_registry.users[READ_ONLY_USERS[0]]
    assert inputs["ca_certificate"] == tls_registry.ca
    assert inputs["health_path"] == "/v2/"
    assert inputs["catalog_path"] == "/v2/_catalog"


def test_gate_passes_against_the_real_registry(tls_registry: Deployed) -> None:
    result = ReadinessGateProvider().create(tls_registry.gate_props())
    assert result.outs is not None
    assert result.outs["health_status"] == 401  # /v2/ needs auth on the stand-in
    # How fast it is ready is a figure for tests/benchmarks/test_readiness_gate.py, not a functional rule.


def test_the_legacy_gate_tries_a_push_as_the_read_only_user_and_records_that_it_was_not_refused(
    tls_registry: Deployed,
) -> None:
    """Issue 22: the legacy gate never tried a write. On the stand-in (distribution with htpasswd: every user may
    push, distribution registry/auth/htpasswd/access.go) the read-only user starts an upload: the gate passes,
    records "allowed" (the program turns it into a warning naming paletteUser) and cancels the upload it started."""
    outs = ReadinessGateProvider().create(tls_registry.gate_props()).outs
    assert outs is not None
    assert outs["write_probe_result"] == "allowed"
    assert "write_probe_path" in outs and outs["write_probe_must_refuse"] is False
    # The cancelled upload is gone: asking for its state is 404 (distribution answers BLOB_UPLOAD_UNKNOWN).
    logs = tls_registry.container.logs(tail="all")
    started = [
        line for line in logs.splitlines() if "POST /v2/palette-pack-registry/readiness-probe/blobs/uploads/" in line
    ]
    cancelled = [
        line for line in logs.splitlines() if '"DELETE /v2/palette-pack-registry/readiness-probe/blobs/uploads/' in line
    ]
    assert started and cancelled, logs[-2000:]
    assert all('" 204 ' in line for line in cancelled), cancelled


def test_gate_passes_in_http_mode(http_registry: Deployed) -> None:
    props = http_registry.gate_props()
    assert "ca_certificate" not in props
    result = ReadinessGateProvider().create(props)
    assert result.outs is not None
    # It got past the health path (401 on the stand-in) and the catalog answered the read-only user.
    assert result.outs["health_status"] == 401
    assert result.outs["username"] == READ_ONLY_USERS[0]


def _gate_failure(props: dict[str, Any], *secrets_: str) -> str:
    with pytest.raises(RegistryNotReady) as raised:
        ReadinessGateProvider().create(props)
    message = str(raised.value)
    for secret in secrets_:
        assert secret not in message
    return message


def test_gate_reports_a_wrong_ca(tls_registry: Deployed) -> None:
    other = Authority.create("Unrelated CA").certificate_pem
    message = _gate_failure(tls_registry.gate_props(ca_certificate=other, timeout_seconds=0.5))
    assert "unknown authority" in message
    assert "must trust the CA" in message


def test_gate_reports_a_wrong_host_name(tls_registry: Deployed) -> None:
    message = _gate_failure(tls_registry.gate_props(server_name="elsewhere.test", timeout_seconds=0.5))
    assert "name mismatch" in message
    assert "'elsewhere.test'" in message
    assert "SANs must cover" in message


def test_gate_reports_a_wrong_password_by_user(tls_registry: Deployed) -> None:
    wrong = "wrong-" + secrets.token_hex(8)
    props = tls_registry.gate_props(password=wrong, timeout_seconds=0.8)
    message = _gate_failure(props, wrong, *tls_registry.users.values())
    assert f"user '{READ_ONLY_USERS[0]}'" in message
    assert "401" in message


def test_gate_reports_nothing_listening(tls_registry: Deployed) -> None:
    message = _gate_failure(tls_registry.gate_props(url=f"https://127.0.0.1:{free_port()}", timeout_seconds=0.5))
    assert "nothing is listening" in message


# --- data ---------------------------------------------------------------------------------------------------------


def _blob_path(digest: str) -> str:
    hexdigest = digest.removeprefix("sha256:")
    return f"/data/docker/registry/v2/blobs/sha256/{hexdigest[:2]}/{hexdigest}/data"


@pytest.mark.parametrize("storage", ["named-volume", "host-path"])
def test_pushed_data_survives_container_replacement_and_removal(
    storage: str, janitor: DockerJanitor, standin_image: str, tmp_path: Path
) -> None:
    config = dict(BASE_CONFIG)
    if storage == "host-path":
        config["dataVolume"] = str(tmp_path / "data")
    run = run_program(config)
    name = janitor.name(f"spectro-registry-it-{storage}")
    first = deploy(run, janitor, standin_image, "https", name=name)
    content = b"pack archive " + secrets.token_bytes(4096)
    digest = first.admin().push_blob("packs/demo", content)
    assert digest == "sha256:" + hashlib.sha256(content).hexdigest()
    assert first.admin().get(f"/v2/packs/demo/blobs/{digest}").body == content

    # Replacement, as `pulumi up` does it for this container: remove, then create with the same volume.
    remove_container(first.container, janitor)
    volume = first.container.spec["volumes"][0]
    if storage == "named-volume":
        # Removal alone: the data is still in the volume with no container around.
        assert read_file_from_volume(volume["volumeName"], _blob_path(digest), standin_image, janitor) == content
    else:
        assert (Path(volume["hostPath"]) / _blob_path(digest).removeprefix("/data/")).read_bytes() == content
    second = deploy(run, janitor, standin_image, "https", name=name, volume=volume.get("volumeName"))
    assert second.container.id != first.container.id
    reader = READ_ONLY_USERS[0]
    fetched = second.client(reader, second.users[reader]).get(f"/v2/packs/demo/blobs/{digest}")
    assert fetched.status == 200
    assert fetched.body == content
    catalog = second.admin().get("/v2/_catalog")
    assert b"packs/demo" in catalog.body
    remove_container(second.container, janitor)


# --- password rotation ----------------------------------------------------------------------------------------------


@pytest.fixture
def rotation() -> tuple[ProgramRun, ProgramRun]:
    state = MockState()
    before = run_program(BASE_CONFIG, state=state)
    after = run_program({**BASE_CONFIG, "rotationKeeper": "second"}, state=state)
    return before, after


def _upload(run: ProgramRun, path: str) -> dict[str, Any]:
    return next(upload for upload in run.one(CONTAINER).inputs["uploads"] if upload["file"] == path)


def _eventually(check: Any, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return check()


def test_rotation_changes_every_password_and_nothing_else(rotation: tuple[ProgramRun, ProgramRun]) -> None:
    before, after = rotation
    for key in ("adminPassword",):
        assert before.exports[key] != after.exports[key]
    for old, new in zip(before.exports["readOnlyPasswords"], after.exports["readOnlyPasswords"], strict=True):
        assert old != new
    assert before.exports["caCertificate"] == after.exports["caCertificate"]
    assert _upload(before, "/certs/tls.crt") == _upload(after, "/certs/tls.crt")
    assert _upload(before, "/auth/htpasswd-basic") != _upload(after, "/auth/htpasswd-basic")


def test_rotated_htpasswd_uploaded_into_the_running_container(
    rotation: tuple[ProgramRun, ProgramRun], janitor: DockerJanitor, standin_image: str
) -> None:
    before, after = rotation
    deployed = deploy(before, janitor, standin_image, "https", name=janitor.name("spectro-registry-it-rotate"))
    admin = before.exports["adminUser"]
    old, new = before.exports["adminPassword"], after.exports["adminPassword"]
    assert deployed.client(admin, old).get("/v2/_catalog").status == 200
    assert deployed.client(admin, new).get("/v2/_catalog").status == 401

    # The server re-reads htpasswd when its mtime changes (docs/registry-servers.md); mtime has a one-second grain.
    time.sleep(1.1)
    upload_files(deployed.container.id, [_upload(after, "/auth/htpasswd-basic")])
    assert _eventually(lambda: deployed.client(admin, new).get("/v2/_catalog").status == 200), deployed.container.logs()
    assert deployed.client(admin, old).get("/v2/_catalog").status == 401
    for user, old_password, new_password in zip(
        before.exports["readOnlyUsers"],
        before.exports["readOnlyPasswords"],
        after.exports["readOnlyPasswords"],
        strict=True,
    ):
        assert deployed.client(user, new_password).get("/v2/_catalog").status == 200, user
        assert deployed.client(user, old_password).get("/v2/_catalog").status == 401, user
    remove_container(deployed.container, janitor)


def test_rotated_container_admits_only_the_new_passwords(
    rotation: tuple[ProgramRun, ProgramRun], janitor: DockerJanitor, standin_image: str
) -> None:
    before, after = rotation
    name = janitor.name("spectro-registry-it-recreate")
    first = deploy(before, janitor, standin_image, "https", name=name)
    volume = first.container.spec["volumes"][0]["volumeName"]
    remove_container(first.container, janitor)
    second = deploy(after, janitor, standin_image, "https", name=name, volume=volume)
    for user, password in _pairs(after):
        assert second.client(user, password).get("/v2/_catalog").status == 200, user
    for user, password in _pairs(before):
        assert second.client(user, password).get("/v2/_catalog").status == 401, user
    # The readiness gate sees the new credentials through the program's own (updated) inputs.
    outs = ReadinessGateProvider().create(second.gate_props()).outs
    assert outs is not None and outs["password"] == after.exports["readOnlyPasswords"][0]
    remove_container(second.container, janitor)


def _pairs(run: ProgramRun) -> Iterator[tuple[str, str]]:
    exports = run.exports
    yield exports["adminUser"], exports["adminPassword"]
    yield from zip(exports["readOnlyUsers"], exports["readOnlyPasswords"], strict=True)


def test_gate_passes_for_supplied_non_ascii_passwords(janitor: DockerJanitor, standin_image: str) -> None:
    """config.py accepts supplied passwords of any UTF-8 text (16-72 bytes, no surrounding whitespace);
    the htpasswd hash is made from their UTF-8 bytes and the real registry compares the raw bytes of the
    Basic credentials with it (distribution/distribution ``registry/auth/htpasswd/htpasswd.go``). The gate
    must send them as Palette and the Spectro CLI (Go) do: UTF-8."""
    passwords = ["Pässwörter-sind-lang-1", "Passwort-mit-€-Zeichen-1"]
    run = run_program({**BASE_CONFIG, "port": 5444, "readOnlyPasswords": passwords}, secrets_={"readOnlyPasswords"})
    deployed = deploy(run, janitor, standin_image, "https", name=janitor.name("spectro-registry-it-utf8"))
    assert deployed.gate_props()["password"] == passwords[0]

    for user, password in zip(READ_ONLY_USERS, passwords, strict=True):
        result = ReadinessGateProvider().create(deployed.gate_props(username=user, password=password))
        assert result.outs is not None
        assert (result.outs["username"], result.outs["password"]) == (user, password)
