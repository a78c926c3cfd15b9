"""The Docker hosts people really have: what the program declares so that a second `pulumi up` changes nothing,
checked against the docker provider's own rules (restated from kreuzwerker/terraform-provider-docker v4.5.0,
the provider pulumi-docker 5.2.0 bridges) and against simulated engines (tests/support/fake_engine.py).
The same cases on real engines: tests/integration/test_docker_hosts.py."""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import time
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from components.config import ConfigError
from components.instance import docker_engine
from tests.support.docker_readback import volume_drift
from tests.support.fake_engine import serve_engine, serve_tls_engine
from tests.support.harness import ProgramRun, run_program
from tests.support.tls_support import Authority

CONTAINER = "docker:index/container:Container"
VOLUME = "docker:index/volume:Volume"
PROVIDER = "pulumi:providers:docker"
SWAPLESS = {"MemoryLimit": True, "SwapLimit": False}


def _decode(value: Any) -> Any:
    """Provider inputs that are not strings travel JSON-encoded (as the engine passes provider config)."""
    return json.loads(value) if isinstance(value, str) and value[:1] in ("[", "{") else value


# --- the environment does not pick the engine -------------------------------------------------------------------------

PROVIDER_ENV_DEFAULTS = {
    "DOCKER_CONTEXT": "context",
    "DOCKER_CERT_PATH": "certPath",
    "DOCKER_CA_MATERIAL": "caMaterial",
    "DOCKER_CERT_MATERIAL": "certMaterial",
    "DOCKER_KEY_MATERIAL": "keyMaterial",
    "DOCKER_SSH_OPTS": "sshOpts",
    "DOCKER_HOST": "host",
}
"""Every top-level provider attribute with a DefaultFunc reading the environment (provider.go ``New``:
``context``, ``ca_material``, ``cert_material``, ``key_material``, ``cert_path`` through EnvDefaultFunc,
``ssh_opts`` from DOCKER_SSH_OPTS, ``host`` from DOCKER_HOST), by the variable."""


def test_provider_environment_variables_change_nothing_declared(monkeypatch: pytest.MonkeyPatch) -> None:
    """With every variable set, the declared provider is exactly the program's: each attribute is given,
    empty where the stack has nothing. An explicit value wins over the variable at every layer:
    the Python SDK reads DOCKER_HOST only when host is None (pulumi_docker/provider.py); the bridge fills a
    default only for a key the inputs lack (pulumi-terraform-bridge pkg/tfbridge/schema.go, ``if _, has :=
    result[name]; !has``) and keeps "" for a string (config_encoding.go convertStringToPropertyValue); the SDK
    calls DefaultFunc only when the key is not in the config (terraform-plugin-sdk helper/schema
    field_reader_config.go readPrimitive, ``if !ok``); and ``configure`` in provider.go replaces host by the
    context's only when ``context`` is not ""."""
    for variable in PROVIDER_ENV_DEFAULTS:
        monkeypatch.setenv(variable, "/elsewhere" if variable != "DOCKER_HOST" else "tcp://elsewhere:2376")
    monkeypatch.setenv("DOCKER_CONTEXT", "production")
    monkeypatch.setenv("DOCKER_SSH_OPTS", "-o ProxyCommand=evil")
    provider = run_program({}).one(PROVIDER)
    declared = {key: _decode(provider.inputs.get(key)) for key in PROVIDER_ENV_DEFAULTS.values()}
    assert declared == {
        "context": "",
        "certPath": "",
        "caMaterial": "",
        "certMaterial": "",
        "keyMaterial": "",
        "sshOpts": [],
        "host": "unix:///var/run/docker.sock",
    }


def test_ssh_host_keeps_its_own_options_and_nothing_else(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_SSH_OPTS", "-o ProxyCommand=evil")
    monkeypatch.setenv("DOCKER_CONTEXT", "production")
    provider = run_program(
        {"dockerHost": "ssh://deploy@registry-host", "dockerSshOpts": ["-o", "StrictHostKeyChecking=yes"]}
    ).one(PROVIDER)
    assert _decode(provider.inputs["sshOpts"]) == ["-o", "StrictHostKeyChecking=yes"]
    assert provider.inputs["context"] == ""
    assert provider.inputs["host"] == "ssh://deploy@registry-host"


# --- pull credentials under the key the provider looks up -------------------------------------------------------------


def provider_pull_key(image: str) -> str:
    """resource_docker_image_funcs.go parseImageOptions, the registry part: the text before the first "/"
    when the name has more than one "/" or that part has "." or ":" or is "localhost"; else
    "registry-1.docker.io". pullImage looks the credentials up under it (``authConfig.Configs[pullOpts.Registry]``)."""
    first_slash = image.find("/")
    prefix = image[:first_slash]
    if image.count("/") > 1 or (first_slash != -1 and ("." in prefix or ":" in prefix or prefix == "localhost")):
        return prefix
    return "registry-1.docker.io"


def provider_auth_key(address: str) -> str:
    """provider.go providerSetToRegistryAuth: the registry_auth entry is stored under
    convertToHostname(canonicalizeRegistryAddress(address)): the scheme and any path cut off."""
    for scheme in ("http://", "https://"):
        if address.startswith(scheme):
            address = address[len(scheme) :]
    return address.split("/", 1)[0]


@pytest.mark.parametrize(
    ("image", "key"),
    [
        ("acme/spectro-registry:4.8.4", "registry-1.docker.io"),
        ("docker.io/acme/spectro-registry:4.8.4", "docker.io"),
        ("registry.example.com/mirror/spectro-registry:4.8.4", "registry.example.com"),
        ("localhost:5000/spectro-registry:4.8.4", "localhost:5000"),
    ],
)
def test_pull_credentials_are_keyed_where_the_provider_looks(image: str, key: str) -> None:
    run = run_program(
        {"image": image, "imagePullUsername": "robot", "imagePullPassword": "pull-token-123"},
        secrets_={"imagePullPassword"},
    )
    (auth,) = _decode(run.one(PROVIDER).inputs["registryAuth"])
    assert auth["address"] == key
    assert provider_auth_key(auth["address"]) == provider_pull_key(image) == key


# --- the published address as the engine reports it -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "reported"),
    [
        ("0:0::0", "::"),
        ("::0", "::"),
        ("0:0::1", "::1"),
        ("2001:DB8::1", "2001:db8::1"),
        ("fe80:0000:0000:0000:0000:0000:0000:0001", "fe80::1"),
        ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),
        ("127.0.0.1", "127.0.0.1"),
    ],
)
def test_bind_address_is_declared_as_the_engine_reports_it(written: str, reported: str) -> None:
    """``ports`` is ForceNew and read back from NetworkSettings.Ports, where the engine prints the address
    with Go's net.IP.String (RFC 5952): declared any other way, the container is replaced on every run."""
    (port,) = run_program({"bindAddress": written}).one(CONTAINER).inputs["ports"]
    assert port["ip"] == reported


def test_ipv4_mapped_bind_address_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"'palette-pack-registry:bindAddress'.*IPv4-mapped.*127\.0\.0\.1") as caught:
        run_program({"bindAddress": "::ffff:127.0.0.1"})
    assert caught.value.key == "bindAddress"


# --- a retained volume made outside -----------------------------------------------------------------------------------

COMPOSE_NFS_VOLUME = {
    "Name": "spectro-registry-data",
    "Driver": "local",
    "Labels": {"com.docker.compose.project": "registry", "com.docker.compose.volume": "data"},
    "Options": {"type": "nfs", "o": "addr=nfs.example.com,rw,nfsvers=4", "device": ":/export/registry"},
    "Mountpoint": "/var/lib/docker/volumes/spectro-registry-data/_data",
    "Scope": "local",
}
"""`docker volume inspect` of a compose-made NFS ``local`` volume (compose labels, driver options)."""


def test_a_volume_made_outside_is_no_change() -> None:
    """labels and driver_opts are read back and ForceNew (resource_docker_volume.go); the bridge drops
    ignored attributes from the provider's diff (pkg/tfshim/sdk-v2/instance_diff.go processIgnoreChanges)."""
    volume = run_program({}).one(VOLUME)
    assert volume.options["retain_on_delete"] is True
    made_outside = {**COMPOSE_NFS_VOLUME, "Name": volume.inputs["name"]}
    assert volume_drift(volume.inputs, made_outside, volume.options["ignore_changes"]) == {}
    # The same read-back without the option is a replacement: the rule itself can fail.
    assert set(volume_drift(volume.inputs, made_outside)) == {"labels", "driverOpts"}


# --- the declared lifecycle -------------------------------------------------------------------------------------------


def test_the_container_stops_gracefully_within_a_bound() -> None:
    """destroy_grace_seconds is the stop timeout of the provider's delete (0, a SIGKILL, when unset:
    resourceDockerContainerDelete); distribution drains in-flight requests for http.draintimeout after
    SIGTERM (registry/registry.go ListenAndServe); the grace outlasts the drain, and both stay short."""
    inputs = run_program({}).one(CONTAINER).inputs
    assert "REGISTRY_HTTP_DRAINTIMEOUT=10s" in inputs["envs"]
    assert inputs["destroyGraceSeconds"] == 15


def test_a_memory_change_replaces_the_container() -> None:
    """Docker takes Memory 0 in an update as "unchanged" (tests/integration/test_limit_changes.py shows it on the
    engine), so memory is declared replace-on-change; the name and the port are unique, so the old one goes first."""
    options = run_program({"memoryLimitMb": 256}).one(CONTAINER).options
    assert options["replace_on_changes"] == ["memory"]
    assert options["delete_before_replace"] is True


# --- hosts without memory or swap accounting (simulated /info answers) ------------------------------------------------


def _run_against(socket_path: Path, **config: Any) -> ProgramRun:
    return run_program({"dockerHost": f"unix://{socket_path}", **config}, engine=docker_engine.ask_engine)


def test_memory_limit_is_refused_where_the_host_cannot_keep_it(tmp_path: Path) -> None:
    """Without the memory cgroup Docker drops the limit with a warning (moby daemon_unix.go
    verifyPlatformContainerResources) and the provider reads back memory 0: a replacement on every run."""
    with serve_engine(tmp_path, info={"MemoryLimit": False, "SwapLimit": False}) as engine:
        with pytest.raises(ConfigError, match=r"'palette-pack-registry:memoryLimitMb'.*MemoryLimit false") as caught:
            _run_against(engine.socket, memoryLimitMb=256)
        assert caught.value.key == "memoryLimitMb"
        assert "/info" in engine.paths
        # No limit asked, nothing to refuse.
        inputs = _run_against(engine.socket, memoryLimitMb=0).one(CONTAINER).inputs
        assert inputs.get("memory") is None and inputs.get("memorySwap") is None


def test_swap_is_declared_as_a_host_without_swap_accounting_keeps_it(tmp_path: Path) -> None:
    """Without swap accounting Docker keeps MemorySwap -1, and the provider stores a non-positive
    memory_swap as is (resourceDockerContainerRead): -1 is what such a host reads back."""
    with serve_engine(tmp_path, info={"MemoryLimit": True, "SwapLimit": False}) as engine:
        inputs = _run_against(engine.socket, memoryLimitMb=256).one(CONTAINER).inputs
    assert (inputs["memory"], inputs["memorySwap"]) == (256, -1)


def test_swap_is_part_of_the_limit_where_the_host_keeps_it(tmp_path: Path) -> None:
    with serve_engine(tmp_path, info={"MemoryLimit": True, "SwapLimit": True}) as engine:
        inputs = _run_against(engine.socket, memoryLimitMb=256).one(CONTAINER).inputs
    assert (inputs["memory"], inputs["memorySwap"]) == (256, 256)


def test_log_options_the_daemon_added_are_declared(tmp_path: Path) -> None:
    """A daemon.json log-opts default is merged into the container's options (moby daemon/logs.go
    mergeAndVerifyLogConfig) and read back (containerLogOptsForState); the program's own keys still win."""
    name = run_program({}).one(CONTAINER).inputs["name"]
    container = {"HostConfig": {"LogConfig": {"Type": "json-file", "Config": {"compress": "true", "max-size": "1m"}}}}
    with serve_engine(tmp_path, info={}, containers={name: container}) as engine:
        inputs = _run_against(engine.socket).one(CONTAINER).inputs
    assert inputs["logOpts"] == {"compress": "true", "max-size": "10m", "max-file": "3"}
    assert f"/containers/{name}/json" in engine.paths


def test_an_engine_that_does_not_answer_is_a_warning(tmp_path: Path) -> None:
    """`pulumi preview` off the host's network: the container is declared as configured, with a warning."""
    run = _run_against(tmp_path / "nobody.sock", memoryLimitMb=256)
    inputs = run.one(CONTAINER).inputs
    assert (inputs["memory"], inputs["memorySwap"]) == (256, 256)
    assert any("did not answer /info" in message for message in run.warnings)


def test_ssh_hosts_are_asked_the_way_the_provider_dials_them() -> None:
    assert docker_engine.ssh_command("ssh://ops@node-b:2222", ("-o", "StrictHostKeyChecking=yes")) == [
        "ssh", "-o", "ConnectTimeout=10", "-T", "-l", "ops", "-p", "2222",
        "-o", "StrictHostKeyChecking=yes", "--", "node-b", "docker", "system", "dial-stdio",
    ]  # fmt: skip


def test_a_tls_engine_is_asked_with_the_stacks_client_certificate() -> None:
    """tcp:// hosts: the same CA, client certificate and key the provider gets (buildHTTPClientFromBytes in
    config.go), the key read from the secret config only for this question."""
    authority = Authority.create("Docker daemon CA")
    server = authority.issue([], ["127.0.0.1"])
    client = authority.issue(["pulumi-deployer"], [], client=True)
    ca = authority.certificate_pem
    with serve_tls_engine(ca, server.certificate_pem, server.private_key_pem, SWAPLESS) as engine:
        run = run_program(
            {
                "dockerHost": f"tcp://127.0.0.1:{engine.port}",
                "dockerCaCert": ca,
                "dockerCert": client.certificate_pem,
                "dockerKey": client.private_key_pem,
                "memoryLimitMb": 256,
            },
            secrets_={"dockerKey"},
            engine=docker_engine.ask_engine,
        )
    inputs = run.one(CONTAINER).inputs
    assert (inputs["memory"], inputs["memorySwap"]) == (256, -1)
    assert engine.client_subjects == ["pulumi-deployer", "pulumi-deployer"]
    assert "keyMaterial" in run.one(PROVIDER).secret_inputs


# --- a tcp+TLS engine never stops the run at a terminal prompt --------------------------------------------------------
# components/docker_engine.py loads the stack's client certificate and key with ``SSLContext.load_cert_chain`` and
# no ``password``. For an encrypted key (``-----BEGIN ENCRYPTED PRIVATE KEY-----``, which the config accepts as
# dockerKey), Python's documentation of load_cert_chain says: "If the password argument is not specified and a
# password is required, OpenSSL's built-in password prompting mechanism will be used to interactively prompt the
# user for a password." Under `pulumi up` in a terminal the program shares the CLI's controlling terminal (the
# language host runs it as a plain child process), so the run would stop at "Enter PEM pass phrase:" with no
# timeout: none of docker_engine's TIMEOUT_SECONDS applies before the connection is made. (The provider could not
# use such a key either: Go's tls.X509KeyPair in config.go buildHTTPClientFromBytes does not decrypt it.)
#
# The engine is asked here in a child process that has a pseudo-terminal as its controlling terminal, as under
# `pulumi up`; the test reads that terminal. The 30-second guard only ends the child if it hangs.

GUARD_SECONDS = 30


def _encrypted(private_key_pem: str) -> str:
    key = serialization.load_pem_private_key(private_key_pem.encode(), password=None)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"passphrase-of-the-key"),
    ).decode()


def _ask_on_a_terminal(host: str, ca: str, cert: str, key: str) -> tuple[bytes, bool]:
    """What the child printed on its terminal, and whether it finished by itself."""
    pid, terminal = pty.fork()
    if pid == 0:  # the child: ask, report on its terminal (fd 1: pytest captures sys.stdout), exit at once
        report = "ASKED: answered"
        try:
            docker_engine.ask_engine(host, "spectro-registry", ca_material=ca, cert_material=cert, key_material=key)
        except Exception as error:  # reported to the parent, which asserts on it
            report = f"ASKED: {type(error).__name__}: {error}"
        finally:
            os.write(1, report.encode() + b"\n")
            os._exit(0)
    seen = b""
    deadline = time.monotonic() + GUARD_SECONDS
    # poll, not select: in a long test run the terminal's descriptor may be past select's 1024.
    poller = select.poll()
    poller.register(terminal, select.POLLIN)
    while time.monotonic() < deadline and b"ASKED:" not in seen:
        ready = poller.poll(200)
        if ready:
            try:
                chunk = os.read(terminal, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    finished = b"ASKED:" in seen
    if finished:
        os.waitpid(pid, 0)
    else:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    os.close(terminal)
    return seen, finished


def test_an_encrypted_client_key_does_not_stop_the_run_at_a_passphrase_prompt() -> None:
    authority = Authority.create("Docker daemon CA")
    server = authority.issue([], ["127.0.0.1"])
    client = authority.issue(["pulumi-deployer"], [], client=True)
    ca = authority.certificate_pem
    info = {"MemoryLimit": True, "SwapLimit": True}
    with serve_tls_engine(ca, server.certificate_pem, server.private_key_pem, info) as engine:
        seen, finished = _ask_on_a_terminal(
            f"tcp://127.0.0.1:{engine.port}", ca, client.certificate_pem, _encrypted(client.private_key_pem)
        )
    assert b"pass phrase" not in seen.lower(), f"the run waits at a prompt on the user's terminal: {seen!r}"
    assert finished and b"ASKED:" in seen, seen
    # A key the engine cannot be asked with is reported like an engine that does not answer (a warning).
    assert b"ASKED: EngineUnreachable" in seen or b"ASKED: answered" in seen, seen
