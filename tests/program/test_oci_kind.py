"""registryKind oci under Pulumi mocks: what the program declares for an OCI instance, and what stays as it was
for the legacy kind.

The assertions are on the program's declared inputs and options (what the engine and the docker provider
receive), never on values the echoing mocks make up.
"""

from __future__ import annotations

import shlex
from typing import Any

import pytest
import yaml

from components.instance import docker_engine
from components.instance.container import STOP_GRACE_SECONDS
from components.kinds import LEGACY, OCI
from components.kinds.oci import CONFIG_FILE
from tests.support.config_values import parse
from tests.support.harness import CONTAINER, IMAGE, NETWORK, PALETTE, READINESS, VOLUME, ProgramRun, run_program

OCI_CONFIG: dict[str, Any] = {"registryKind": "oci"}
PROBE = "/v2/packs/spectro-packs/archive/readiness-probe/blobs/uploads/"


@pytest.fixture(scope="module")
def oci_run() -> ProgramRun:
    return run_program(OCI_CONFIG, stack="dev")


def _containers(run: ProgramRun) -> tuple[Any, Any]:
    registry = run.named("registry-container")
    proxy = run.named("registry-proxy-container")
    return registry, proxy


def _gate_of(run: ProgramRun) -> Any:
    return run.one(READINESS)


def test_the_legacy_gate_warns_naming_paletteUser_when_the_read_only_user_could_push(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The gate records what its push as the read-only user met (components/readiness/probe.py); "allowed" is a
    warning of `pulumi up` naming the user Palette holds; "refused" and "not-tried"
    say nothing. The mock gate's result is set here (tests/support/harness.py ``READINESS_WRITE_PROBE_RESULT``)."""
    from tests.support import harness

    said = {}
    for result in ("allowed", "refused", "not-tried"):
        monkeypatch.setattr(harness, "READINESS_WRITE_PROBE_RESULT", result)
        run = run_program({"readOnlyUsers": ["spectro", "palette"], "paletteUser": "palette"}, stack="dev")
        said[result] = [w for w in run.warnings if "start a push" in w]
    (warning,) = said["allowed"]
    assert "registryKind legacy" in warning and "read-only user 'spectro'" in warning
    assert "'palette' included" in warning and "registryKind oci" in warning
    assert said["refused"] == said["not-tried"] == []


def _env(record: Any) -> list[str]:
    return [str(env) for env in record.inputs.get("envs", [])]


@pytest.mark.parametrize(
    ("overrides", "image", "health", "catalog"),
    [
        ({}, LEGACY.default_image, "/health", "/v1/_catalog"),
        ({"registryKind": "oci"}, "registry:2.8.3", "/v2/", "/v2/_catalog"),
        ({"registryKind": "oci", "image": "registry.example.com/mirror/registry:2.8.2"}, None, "/v2/", "/v2/_catalog"),
        ({"registryKind": "oci", "readinessHealthPath": "/v2/x"}, "registry:2.8.3", "/v2/x", "/v2/_catalog"),
    ],
)
def test_unset_image_and_readiness_paths_follow_the_kind(overrides, image, health, catalog) -> None:
    parsed = parse(overrides)
    assert parsed.container.image == (image or overrides["image"])
    assert parsed.readiness.health_path == health
    assert parsed.readiness.catalog_path == catalog


def test_the_default_kind_is_legacy_and_its_facts_are_todays() -> None:
    parsed = parse({})
    assert parsed.kind.kind is LEGACY
    assert (LEGACY.data_path, LEGACY.require_challenge) == ("/data", False)
    # The legacy gate tries a push as the read-only user and only records it (issue 22); the OCI gate fails on it.
    assert LEGACY.write_probe_path("packs") == "/v2/palette-pack-registry/readiness-probe/blobs/uploads/"
    assert (LEGACY.write_probe_must_refuse, OCI.write_probe_must_refuse) == (False, True)
    assert parsed.kind.base_content_path == "packs"
    assert OCI.write_probe_path("a/b") == "/v2/a/b/spectro-packs/archive/readiness-probe/blobs/uploads/"


def test_an_oci_instance_is_a_proxy_and_a_registry_on_a_private_network_of_their_own(oci_run: ProgramRun) -> None:
    """Not one network namespace (``network_mode: container:<id>``), which a restart of the proxy leaves the
    registry outside of for good: a network of the instance's own, which both containers stay on across
    restarts, where the proxy finds the registry by its alias."""
    registry, proxy = _containers(oci_run)
    network = oci_run.one(NETWORK)
    assert len(oci_run.all(CONTAINER)) == 2
    assert proxy.inputs["name"] == "spectro-registry-dev-proxy"
    assert network.inputs == {
        "name": "spectro-registry-dev-network",
        "driver": "bridge",
        "internal": True,
        "options": {"com.docker.network.bridge.inhibit_ipv4": "true"},
    }
    assert network.options["delete_before_replace"]
    assert network.options["provider"] == registry.options["provider"]
    assert registry.inputs["networkMode"] == proxy.inputs["networkMode"] == "bridge"
    # The provider disconnects a container with networks_advanced from "bridge": the registry is on the private
    # network only, under the alias the proxy's configuration names; the proxy on both.
    assert registry.inputs["networksAdvanced"] == [{"name": network.id, "aliases": ["oci-registry"]}]
    assert proxy.inputs["networksAdvanced"] == [{"name": "bridge"}, {"name": network.id}]
    config = next(u["content"] for u in proxy.inputs["uploads"] if u["file"] == "/etc/nginx/conf.d/default.conf")
    assert 'default "oci-registry:5000";' in config
    assert network.urn in registry.options["property_dependencies"]["networksAdvanced"]
    assert proxy.urn in registry.options["dependencies"]
    assert proxy.options["delete_before_replace"] and registry.options["delete_before_replace"]
    # Only the proxy publishes a port.
    assert "ports" not in registry.inputs
    assert proxy.inputs["ports"] == [{"internal": 8443, "external": 5443, "ip": "127.0.0.1", "protocol": "tcp"}]
    images = sorted(r.inputs["name"] for r in oci_run.all(IMAGE))
    assert images == ["nginx:1.27.3-bookworm", "registry:2.8.3"]


def test_with_s3_the_registry_gets_an_egress_network_where_it_does_not_listen(dev_run: ProgramRun) -> None:
    """The registry must reach the bucket: an ordinary bridge network of its own gives it a route out, and it
    listens on its alias's address only (the private network), not on the egress network the host can reach."""
    run = run_program({**OCI_CONFIG, "storage": "s3", "s3Bucket": "packs"}, stack="dev")
    networks = {r.inputs["name"]: r for r in run.all(NETWORK)}
    assert networks["spectro-registry-dev-network"].inputs["internal"] is True
    egress = networks["spectro-registry-dev-egress"]
    assert egress.inputs == {"name": "spectro-registry-dev-egress", "driver": "bridge"}
    assert egress.options["delete_before_replace"]
    registry, proxy = _containers(run)
    private = networks["spectro-registry-dev-network"].id
    assert registry.inputs["networksAdvanced"] == [
        {"name": private, "aliases": ["oci-registry"]},
        {"name": egress.id},
    ]
    assert proxy.inputs["networksAdvanced"] == [{"name": "bridge"}, {"name": private}]
    assert "REGISTRY_HTTP_ADDR=oci-registry:5000" in _env(registry)
    assert dev_run.all(NETWORK) == []
    assert "networksAdvanced" not in dev_run.one(CONTAINER).inputs


def test_the_oci_registry_serves_plain_http_behind_the_proxy_and_keeps_data_where_the_image_does(
    oci_run: ProgramRun,
) -> None:
    registry, _ = _containers(oci_run)
    env = _env(registry)
    assert "REGISTRY_HTTP_ADDR=:5000" in env
    assert env.count("REGISTRY_STORAGE_DELETE_ENABLED=true") == 1
    assert not [e for e in env if e.startswith("REGISTRY_HTTP_TLS_")], "the proxy terminates TLS"
    # nginx checks the passwords; the registry behind it checks none (and so needs no htpasswd file).
    assert not [e for e in env if e.startswith("REGISTRY_AUTH")]
    # Its one upload: the configuration file holding the HTTP secret (below).
    assert [u["file"] for u in registry.inputs["uploads"]] == ["/etc/docker/registry/config.yml"]
    assert "REGISTRY_HTTP_DEBUG_ADDR=127.0.0.1:5001" in env
    assert registry.inputs["volumes"] == [
        {"containerPath": "/var/lib/registry", "volumeName": "spectro-registry-dev-data"}
    ]
    assert oci_run.one(VOLUME).inputs["name"] == "spectro-registry-dev-data"


def test_the_http_secret_is_in_the_registrys_config_file_readable_by_root_alone_not_in_its_env(
    oci_run: ProgramRun,
) -> None:
    """Issue 22: REGISTRY_HTTP_SECRET was in the registry container's env, which `docker inspect` shows. It is now
    distribution's ``http.secret`` in the configuration file the registry reads (the official image's path, which
    ``garbage-collect`` reads too), 0400, secret in the state."""
    registry, _ = _containers(oci_run)
    secret = oci_run.named("registry-http-secret").outputs["result"]
    assert not [e for e in _env(registry) if e.startswith("REGISTRY_HTTP_SECRET")]
    assert not [e for e in _env(registry) if secret in e]
    (upload,) = registry.inputs["uploads"]
    assert (upload["file"], upload["permissions"]) == (CONFIG_FILE, "0400")
    config = yaml.safe_load(upload["content"])
    assert config["http"]["secret"] == secret
    assert config["version"] == "0.1"
    assert config["storage"]["filesystem"] == {"rootdirectory": "/var/lib/registry"}
    assert "uploads" in registry.secret_inputs
    assert not [u for u in _containers(oci_run)[1].inputs["uploads"] if secret in u["content"]]


def test_the_proxy_gets_its_config_the_htpasswd_and_the_tls_pair_with_secrets_marked(oci_run: ProgramRun) -> None:
    _, proxy = _containers(oci_run)
    files = {u["file"]: u for u in proxy.inputs["uploads"]}
    assert set(files) == {
        "/etc/nginx/nginx.conf",
        "/etc/nginx/conf.d/default.conf",
        "/etc/nginx/registry/htpasswd",
        "/etc/nginx/registry/htpasswd-admin",
        "/etc/nginx/registry/tls.crt",
        "/etc/nginx/registry/tls.key",
    }
    # The SDK marks the whole list secret when one element is (what the wire carries).
    assert "uploads" in proxy.secret_inputs
    htpasswd = files["/etc/nginx/registry/htpasswd"]["content"]
    users = [line.split(":", 1)[0] for line in htpasswd.splitlines()]
    assert users == ["admin", "spectro"] and all(":$2" in line for line in htpasswd.splitlines())
    # Writes are checked against the admin's line alone.
    assert files["/etc/nginx/registry/htpasswd-admin"]["content"] == htpasswd.splitlines()[0] + "\n"
    assert "PRIVATE KEY" in files["/etc/nginx/registry/tls.key"]["content"]
    for config in ("/etc/nginx/conf.d/default.conf", "/etc/nginx/nginx.conf"):
        assert "PRIVATE KEY" not in files[config]["content"] and "$2b$" not in files[config]["content"]
    # The key is root's alone (nginx's master reads it as root before its workers drop to user nginx); the workers
    # read every other file.
    modes = {path: upload["permissions"] for path, upload in files.items()}
    assert modes.pop("/etc/nginx/registry/tls.key") == "0400"
    assert set(modes.values()) == {"0444"}


def test_the_limits_apply_to_both_containers_and_nginx_runs_a_worker_per_cpu() -> None:
    """memoryLimitMb and cpus limit the proxy as they limit the registry (issue 22: the proxy had none, and nginx ran
    a worker per host CPU)."""
    run = run_program({**OCI_CONFIG, "memoryLimitMb": 256, "cpus": "1.5"}, stack="dev")
    registry, proxy = _containers(run)
    for container in (registry, proxy):
        assert (container.inputs["memory"], container.inputs["cpus"]) == (256, "1.5"), container.name
        assert container.inputs["memorySwap"] in (256, -1), container.name
        assert "memory" in container.options["replace_on_changes"], container.name
    main = next(u["content"] for u in proxy.inputs["uploads"] if u["file"] == "/etc/nginx/nginx.conf")
    assert "\nworker_processes  2;\n" in main
    _, unlimited = _containers(run_program(OCI_CONFIG, stack="dev"))
    assert "memory" not in unlimited.inputs and "cpus" not in unlimited.inputs
    main = next(u["content"] for u in unlimited.inputs["uploads"] if u["file"] == "/etc/nginx/nginx.conf")
    assert "\nworker_processes  auto;\n" in main


def test_the_oci_gate_proves_the_challenge_and_that_the_read_only_user_cannot_push(oci_run: ProgramRun) -> None:
    registry, proxy = _containers(oci_run)
    gate = oci_run.one(READINESS)
    assert gate.inputs["require_challenge"] is True
    assert gate.inputs["write_probe_path"] == PROBE
    assert (gate.inputs["health_path"], gate.inputs["catalog_path"]) == ("/v2/", "/v2/_catalog")
    assert {registry.urn, proxy.urn} <= set(gate.options["dependencies"])
    assert set(gate.inputs["triggers"]) == {"container", "proxy"}


def test_a_legacy_gate_and_container_carry_none_of_the_oci_inputs(dev_run: ProgramRun) -> None:
    gate = dev_run.one(READINESS)
    assert gate.inputs["require_challenge"] is False
    assert gate.inputs["write_probe_path"] == "/v2/palette-pack-registry/readiness-probe/blobs/uploads/"
    assert gate.inputs["write_probe_must_refuse"] is False
    assert "write_probe_must_refuse" not in _gate_of(run_program(OCI_CONFIG, stack="dev")).inputs
    assert set(gate.inputs["triggers"]) == {"container"}
    registry = dev_run.one(CONTAINER)
    assert not [e for e in _env(registry) if e.startswith("REGISTRY_HTTP_ADDR")]
    assert registry.inputs["ports"][0]["internal"] == 5000


TWO_HOSTS_ON_S3 = {
    **OCI_CONFIG,
    "dockerHosts": ["unix:///var/run/docker.sock", "ssh://ops@node-b"],
    "storage": "s3",
    "s3Bucket": "packs",
    "bindAddress": "0.0.0.0",  # noqa: S104 - several hosts publish on every interface
}
"""An OCI stack on a local socket and an ssh:// host, sharing one bucket."""


def test_oci_instances_roll_one_at_a_time_through_both_containers() -> None:
    run = run_program(
        TWO_HOSTS_ON_S3,
        stack="dev",
    )
    gates = {r.name: r for r in run.all(READINESS)}
    second = run.named("registry-node-b-container")
    first_gate = gates["readiness-var-run-docker-sock"]
    assert first_gate.urn in second.options["dependencies"]
    assert run.named("registry-var-run-docker-sock-proxy-container").urn in first_gate.options["dependencies"]
    assert run.named("registry-node-b-proxy-container").urn in gates["readiness-node-b"].options["dependencies"]


def test_oci_exports(oci_run: ProgramRun) -> None:
    exports = oci_run.exports
    assert exports["registryKind"] == "oci"
    assert exports["packRepository"] == "localhost:5443/packs/spectro-packs/archive"
    assert exports["pushCommand"] == (
        "oras push --ca-file ca.crt --plain-http=false localhost:5443/packs/spectro-packs/archive/<name>:<version> "
        "<name>-<version>.tar.gz"
    )
    assert exports["loginCommand"] == "oras login -u admin --ca-file ca.crt --plain-http=false localhost:5443"
    assert exports["curlCommand"] == "curl --cacert ca.crt -u spectro https://localhost:5443/v2/_catalog"


def test_legacy_exports_name_the_kind_and_no_oci_outputs(dev_run: ProgramRun) -> None:
    assert dev_run.exports["registryKind"] == "legacy"
    assert not {"packRepository", "pushCommand"} & set(dev_run.exports)


EXISTING_SECRETS = {"ociPushPassword", "palettePassword"}
EXISTING_CONFIG: dict[str, Any] = {
    "registryKind": "oci",
    "ociEndpoint": "https://harbor.example.com:8443",
    "ociPushUser": "robot",
    "ociPushPassword": "push-password-0123456789",
    "paletteUser": "reader",
    "palettePassword": "pull-password-0123456789",
    "readinessUrl": "https://127.0.0.1:8443",
}


@pytest.fixture(scope="module")
def existing_run() -> ProgramRun:
    return run_program(EXISTING_CONFIG, stack="existing", use_stack_file=False, secrets_=EXISTING_SECRETS)


def test_an_existing_registry_gets_no_container_certificate_or_password(existing_run: ProgramRun) -> None:
    types = {r.type for r in existing_run.resources}
    assert not {t for t in types if t.startswith(("docker:", "tls:", "random:", "pulumi:providers:docker"))}
    assert not [r for r in existing_run.resources if r.type.endswith(("Credentials", "Certificates", ":Registry"))]


def test_an_existing_registry_is_gated_as_the_pull_user_with_tls_for_its_name(existing_run: ProgramRun) -> None:
    gate = existing_run.one(READINESS)
    assert gate.inputs["url"] == "https://127.0.0.1:8443"
    assert gate.inputs["server_name"] == "harbor.example.com"
    assert (gate.inputs["health_path"], gate.inputs["catalog_path"]) == ("/v2/", "/v2/_catalog")
    assert (gate.inputs["username"], gate.inputs["password"]) == ("reader", "pull-password-0123456789")
    assert "password" in gate.secret_inputs
    assert "require_challenge" not in gate.inputs, "the registry's own auth decides; no proxy to prove"


def test_an_existing_registry_exports_its_endpoint_and_push_user_and_no_passwords(existing_run: ProgramRun) -> None:
    exports = existing_run.exports
    assert exports["endpoint"] == "https://harbor.example.com:8443"
    assert exports["packRepository"] == "harbor.example.com:8443/packs/spectro-packs/archive"
    assert exports["adminUser"] == "robot"
    assert exports["loginCommand"] == "oras login -u robot harbor.example.com:8443"
    assert exports["curlCommand"] == "curl -u reader https://harbor.example.com:8443/v2/_catalog"
    assert not {"adminPassword", "readOnlyPasswords", "containerName"} & set(exports)
    for value in exports.values():
        assert "password-0123456789" not in str(value)


def test_the_oci_registration_is_declared_with_its_kind_and_base_path_after_every_gate() -> None:
    run = run_program(
        {**OCI_CONFIG, "hosts": ["registry.example.com"], "paletteApiKey": "k" * 24},
        stack="dev",
        secrets_={"paletteApiKey"},
    )
    registration = run.one(PALETTE)
    assert registration.inputs["registry_kind"] == "oci"
    assert registration.inputs["base_content_path"] == "packs"
    assert registration.inputs["username"] == "spectro"
    assert {gate.urn for gate in run.all(READINESS)} <= set(registration.options["dependencies"])


def test_a_legacy_registration_is_declared_without_kind_inputs() -> None:
    run = run_program(
        {"hosts": ["registry.example.com"], "paletteApiKey": "k" * 24}, stack="dev", secrets_={"paletteApiKey"}
    )
    assert not {"registry_kind", "base_content_path"} & set(run.one(PALETTE).inputs)


# --- the exported client commands, run as exported ---------------------------------------------------------------
# ORAS takes its TLS settings from the flags of each command: ``--ca-file``, ``--insecure`` and ``--plain-http``
# are options of every remote command, read into that command's own ``tls.Config``; ``oras login`` stores only
# the credential (oras-project/oras cmd/oras/internal/option/remote.go, ``Remote.ApplyFlagsWithPrefix``,
# ``tlsConfig``, ``authClient``).

SELF_SIGNED: dict[str, Any] = {"registryKind": "oci"}
PLAIN_HTTP: dict[str, Any] = {
    "registryKind": "oci",
    "tlsMode": "http",
    "allowInsecureHttp": True,
    "paletteRegistration": False,
}
PUBLIC_NAME: dict[str, Any] = {"registryKind": "oci", "hosts": ["registry.example.com"]}


@pytest.mark.parametrize(
    ("config", "flag"),
    [(SELF_SIGNED, "--ca-file"), (PUBLIC_NAME, "--ca-file"), (PLAIN_HTTP, "--plain-http")],
    ids=["self-signed", "self-signed-public-name", "http"],
)
def test_the_push_command_carries_the_tls_flag_the_login_command_needs(config: dict[str, Any], flag: str) -> None:
    """``loginCommand`` says ``--ca-file ca.crt`` (a private CA) or ``--plain-http`` (tlsMode http), but
    ``pushCommand`` says neither: ``oras push`` then verifies the registry against the system roots
    ("x509: certificate signed by unknown authority") or speaks TLS to a plain-HTTP port. The login
    does not carry the flag over (see above)."""
    exports = run_program(config, stack="dev").exports
    login = shlex.split(exports["loginCommand"])
    push = shlex.split(exports["pushCommand"])
    assert any(arg.startswith(flag) for arg in login), exports["loginCommand"]
    assert any(arg.startswith(flag) for arg in push), exports["pushCommand"]


def test_commands_for_a_localhost_endpoint_over_tls_do_not_fall_back_to_plain_http() -> None:
    """ORAS talks plain HTTP to ``localhost`` unless ``--plain-http`` is given explicitly
    (cmd/oras/internal/option/remote.go ``Remote.isPlainHttp``: "not specified, defaults to plain http for
    localhost"). The dev stack's endpoint is ``localhost:5443`` over TLS: ``oras login`` and ``oras push``
    as exported send plain HTTP to nginx's TLS port (400 "The plain HTTP request was sent to HTTPS port").
    Over TLS to localhost the commands must say ``--plain-http=false``."""
    exports = run_program(SELF_SIGNED, stack="dev").exports
    assert exports["packRepository"].startswith("localhost:")
    for command in ("loginCommand", "pushCommand"):
        assert "--plain-http=false" in shlex.split(exports[command]), exports[command]


# --- the proxy container's stop and logs -------------------------------------------------------------------------
# - Without ``destroy_grace_seconds`` the provider stops the proxy with a timeout of 0, a SIGKILL that cuts every
#   push in flight through nginx before the registry behind it even starts its drain
#   (kreuzwerker/terraform-provider-docker v4.5.0 resource_docker_container_funcs.go resourceDockerContainerDelete).
# - ``log_opts`` is ForceNew and read back in full (containerLogOptsForState): a daemon.json default such as
#   ``compress`` left out of the proxy's declaration replaces the proxy on every run.
# - ``stop_signal`` must stay undeclared: it is Optional+Computed (resource_docker_container.go), so the image's
#   STOPSIGNAL (SIGQUIT in nginx's image: finish the requests in flight) is kept; a declared SIGTERM would be
#   nginx's fast shutdown.


def test_the_proxy_stops_gracefully_with_the_image_stop_signal() -> None:
    run = run_program(OCI_CONFIG)
    registry, proxy = run.named("registry-container"), run.named("registry-proxy-container")
    assert proxy.inputs["destroyGraceSeconds"] == registry.inputs["destroyGraceSeconds"] == STOP_GRACE_SECONDS
    assert "stopSignal" not in proxy.inputs


def test_the_proxy_declares_the_log_options_the_daemon_adds() -> None:
    added = {"compress": "true", "max-size": "1m"}

    def engine(*_: object, **__: object) -> docker_engine.EngineFacts:
        return docker_engine.EngineFacts(log_opts=added)

    run = run_program(OCI_CONFIG, engine=engine)
    registry, proxy = run.named("registry-container"), run.named("registry-proxy-container")
    assert (
        proxy.inputs["logOpts"]
        == registry.inputs["logOpts"]
        == {"compress": "true", "max-size": "10m", "max-file": "3"}
    )


def test_each_host_gets_its_own_network_through_its_own_docker_provider() -> None:
    """Several Docker hosts (a local socket and an ssh:// host): each instance's network is made by that
    instance's provider, on its host, and its containers join that one."""
    run = run_program(
        TWO_HOSTS_ON_S3,
        stack="dev",
    )
    networks = [r for r in run.all(NETWORK) if r.inputs.get("internal")]
    assert len(networks) == len(run.all(NETWORK)) / 2 == 2
    hosts = {r.urn: r.inputs["host"] for r in run.all("pulumi:providers:docker")}
    for network in run.all(NETWORK):
        joined = [c for c in run.all(CONTAINER) if any(n["name"] == network.id for n in c.inputs["networksAdvanced"])]
        assert len(joined) == (2 if network.inputs.get("internal") else 1)
        assert {c.options["provider"] for c in joined} == {network.options["provider"]}
    assert {hosts[n.options["provider"].rsplit("::", 1)[0]] for n in networks} == {
        "unix:///var/run/docker.sock",
        "ssh://ops@node-b",
    }
