"""The container contract from the install doc, in the form Docker reads back."""

from __future__ import annotations

import json

from tests.support.harness import CONTAINER, DOCKER_PROVIDER, IMAGE, PASSWORD, VOLUME, ProgramRun, run_program


def env_of(run: ProgramRun) -> dict[str, str]:
    return dict(item.split("=", 1) for item in run.one(CONTAINER).inputs["envs"])


def test_container_matches_the_documented_install(dev_run: ProgramRun) -> None:
    container = dev_run.one(CONTAINER)
    inputs = container.inputs
    assert inputs["name"] == "spectro-registry-dev"
    assert inputs["restart"] == "always"
    assert inputs["networkMode"] == "bridge"
    assert inputs["mustRun"] is True
    assert inputs["ports"] == [{"internal": 5000, "external": 5443, "ip": "127.0.0.1", "protocol": "tcp"}]
    uploads = {u["file"]: u for u in inputs["uploads"]}
    assert sorted(uploads) == ["/auth/htpasswd-basic", "/certs/tls.crt", "/certs/tls.key"]
    assert {u["permissions"] for u in uploads.values()} == {"0444"}
    assert inputs["volumes"] == [{"containerPath": "/data", "volumeName": "spectro-registry-dev-data"}]
    assert container.options["delete_before_replace"] is True
    assert container.parent and container.parent.endswith("::registry")


def test_container_runs_the_pulled_image_by_id(dev_run: ProgramRun) -> None:
    image = dev_run.one(IMAGE)
    assert image.inputs["name"] == "gcr.io/spectro-images-public/release/spectro-registry:2.6.0"
    assert image.inputs["keepLocally"] is True
    # The image id output (the mock's value), not the name: that is what Docker reports back.
    assert dev_run.one(CONTAINER).inputs["image"] == image.outputs["imageId"] != image.inputs["name"]
    assert dev_run.one(CONTAINER).options["property_dependencies"]["image"] == [image.urn]


def test_env_sets_auth_with_realm_and_path_and_tls_paths(dev_run: ProgramRun) -> None:
    env = env_of(dev_run)
    assert env["REGISTRY_LOG_LEVEL"] == "info"
    assert env["REGISTRY_AUTH"] == "htpasswd"
    # REGISTRY_AUTH=htpasswd resets the auth section: REALM and PATH must come with it.
    assert env["REGISTRY_AUTH_HTPASSWD_REALM"] == "Spectro Pack Registry"
    assert env["REGISTRY_AUTH_HTPASSWD_PATH"] == "/auth/htpasswd-basic"
    assert env["REGISTRY_HTTP_TLS_CERTIFICATE"] == "/certs/tls.crt"
    assert env["REGISTRY_HTTP_TLS_KEY"] == "/certs/tls.key"
    assert len(env["REGISTRY_HTTP_SECRET"]) == 48
    assert "REGISTRY_STORAGE" not in env, "REGISTRY_STORAGE alone erases the storage sub-keys"


def test_no_password_in_any_env_var_and_secret_inputs_are_marked(dev_run: ProgramRun) -> None:
    container = dev_run.one(CONTAINER)
    joined = "\n".join(container.inputs["envs"])
    for password in [dev_run.exports["adminPassword"], *dev_run.exports["readOnlyPasswords"]]:
        assert password not in joined
    assert {"envs", "uploads"} <= container.secret_inputs
    http_secret = dev_run.named("registry-http-secret")
    # One secret for every instance, kept by the component (with an alias to where the single-host program
    # kept it, under its registry).
    assert http_secret.type == PASSWORD and http_secret.parent.endswith("::pack-registry")
    assert [a["parent_urn"].rsplit("::", 1)[-1] for a in http_secret.options["aliases"]] == ["registry"]


def test_http_mode_publishes_port_80_without_tls_env(http_run: ProgramRun) -> None:
    env = env_of(http_run)
    assert "REGISTRY_HTTP_TLS_CERTIFICATE" not in env and "REGISTRY_HTTP_TLS_KEY" not in env
    assert env["REGISTRY_AUTH"] == "htpasswd"
    assert http_run.one(CONTAINER).inputs["ports"][0]["external"] == 80


def test_named_volume_is_retained_on_destroy(dev_run: ProgramRun) -> None:
    volume = dev_run.one(VOLUME)
    assert volume.inputs["name"] == "spectro-registry-dev-data"
    assert volume.options["retain_on_delete"] is True


def test_host_path_data_is_a_bind_mount_without_a_volume_resource() -> None:
    run = run_program({"dataVolume": "/srv/spectro-registry"})
    assert not run.all(VOLUME)
    assert run.one(CONTAINER).inputs["volumes"] == [{"containerPath": "/data", "hostPath": "/srv/spectro-registry"}]


def test_docker_provider_is_explicit_and_used_by_image_and_container(dev_run: ProgramRun) -> None:
    provider = dev_run.one(DOCKER_PROVIDER)
    assert provider.inputs["host"] == "unix:///var/run/docker.sock"
    for record in (dev_run.one(IMAGE), dev_run.one(CONTAINER), dev_run.one(VOLUME)):
        assert record.options["provider"].startswith(provider.urn)


def test_remote_docker_host_over_tcp_with_tls_material() -> None:
    run = run_program(
        {"dockerHost": "tcp://10.0.0.9:2376", "dockerCaCert": "CA", "dockerCert": "CERT", "dockerKey": "KEY"},
        secrets_={"dockerKey"},
    )
    provider = run.one(DOCKER_PROVIDER)
    assert provider.inputs["host"] == "tcp://10.0.0.9:2376"
    assert provider.inputs["caMaterial"] == "CA" and provider.inputs["certMaterial"] == "CERT"
    assert provider.inputs["keyMaterial"] == "KEY" and "keyMaterial" in provider.secret_inputs


def test_remote_docker_host_over_ssh_and_private_pull_credentials() -> None:
    run = run_program(
        {
            "dockerHost": "ssh://deploy@registry-host",
            "dockerSshOpts": ["-o", "StrictHostKeyChecking=yes"],
            "image": "registry.example.com/mirror/spectro-registry:4.8.4",
            "imagePullUsername": "robot",
            "imagePullPassword": "pull-token-123",
        },
        secrets_={"imagePullPassword"},
    )
    provider = run.one(DOCKER_PROVIDER)
    # Provider inputs that are not strings travel JSON-encoded, as the engine passes provider config.
    decode = lambda value: json.loads(value) if isinstance(value, str) else value  # noqa: E731
    assert decode(provider.inputs["sshOpts"]) == ["-o", "StrictHostKeyChecking=yes"]
    auth = decode(provider.inputs["registryAuth"])
    assert auth == [{"address": "registry.example.com", "username": "robot", "password": "pull-token-123"}]
    assert "registryAuth" in provider.secret_inputs


# --- running for months: bounded logs, limits, TLS floor ---------------------------------------------------------


def test_logs_are_bounded_json_file_logs(dev_run: ProgramRun) -> None:
    """Declared exactly as the provider reads them back (kreuzwerker/terraform-provider-docker
    internal/provider/resource_docker_container_funcs.go: log_driver is LogConfig.Type, log_opts is
    LogConfig.Config), so the next `pulumi up` shows no change; tests/integration/test_operating.py checks it on
    Docker."""
    inputs = dev_run.one(CONTAINER).inputs
    assert inputs["logDriver"] == "json-file"
    assert inputs["logOpts"] == {"max-size": "10m", "max-file": "3"}


def test_no_memory_or_cpu_limit_by_default(dev_run: ProgramRun) -> None:
    inputs = dev_run.one(CONTAINER).inputs
    for key in ("memory", "memorySwap", "cpus", "cpuShares", "cpuPeriod", "cpuQuota"):
        assert inputs.get(key) is None, key


def test_limits_and_log_options_reach_the_container() -> None:
    run = run_program({"memoryLimitMb": 2048, "cpus": "1", "logMaxSize": "50m", "logMaxFiles": 5})
    inputs = run.one(CONTAINER).inputs
    assert inputs["memory"] == 2048
    # Swap is part of the limit (Docker would otherwise add as much again and report it back).
    assert inputs["memorySwap"] == 2048
    # The provider reads 1 CPU back as "1.0" (internal/provider/helpers.go nanoInt64ToDecimalString).
    assert inputs["cpus"] == "1.0"
    assert inputs["logOpts"] == {"max-size": "50m", "max-file": "5"}


def test_tls_floor_is_1_2_by_default_and_configurable(dev_run: ProgramRun) -> None:
    assert env_of(dev_run)["REGISTRY_HTTP_TLS_MINIMUMTLS"] == "tls1.2"
    assert env_of(run_program({"tlsMinVersion": "1.3"}))["REGISTRY_HTTP_TLS_MINIMUMTLS"] == "tls1.3"


def test_http_mode_sets_no_tls_floor(http_run: ProgramRun) -> None:
    assert "REGISTRY_HTTP_TLS_MINIMUMTLS" not in env_of(http_run)
