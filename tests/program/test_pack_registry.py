"""The PackRegistry component under Pulumi mocks: several instances, shared storage, rolling order, upgrades."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from tests.support.certs import make_ca, make_leaf
from tests.support.engine_model import moments_all_down, outages, schedule
from tests.support.harness import (
    CONTAINER,
    PALETTE,
    PASSWORD,
    READINESS,
    MockState,
    ProgramRun,
    Recorded,
    run_program,
)

_DOCKER_CA, _DOCKER_CA_KEY, _DOCKER_CA_CERT = make_ca("Docker daemon CA")
_DOCKER_CLIENT = make_leaf(_DOCKER_CA_KEY, _DOCKER_CA_CERT, ["docker-client"], [])
COMPONENT = "palette-pack-registry:registry:PackRegistry"
HOST_A = "unix:///var/run/docker.sock"
HOST_B = "tcp://node-b.example.com:2376"
HOST_C = "ssh://ops@node-c.example.com"
ACCESS_KEY = "AKIAEXAMPLEACCESSKEY"
SECRET_KEY = "s3-secret-key-0123456789abcdefghij"

HA: dict[str, Any] = {
    "hosts": ["registry.example.com", "node-b.example.com"],
    "ipAddresses": ["10.0.0.5"],
    "port": 443,
    "bindAddress": "0.0.0.0",  # noqa: S104 - the published address of a real deployment
    "containerName": "spectro-registry",
    "storage": "s3",
    "s3Bucket": "packs-bucket",
    "s3Region": "eu-west-1",
    "s3Endpoint": "https://minio.example.com:9000",
    "s3AccessKey": ACCESS_KEY,
    "s3SecretKey": SECRET_KEY,
    "s3RootDirectory": "/spectro",
    "dockerHosts": [HOST_A, HOST_B],
    # HOST_B is a tcp:// daemon: only with TLS (a plain Docker API is root for anyone who reaches it).
    "dockerCaCert": _DOCKER_CA.certificate_pem,
    "dockerCert": _DOCKER_CLIENT.certificate_pem,
    "dockerKey": _DOCKER_CLIENT.key_pem,
}
HA_SECRETS = {"s3AccessKey", "s3SecretKey", "dockerKey", "paletteApiKey"}


def ha_run(state: MockState | None = None, **overrides: Any) -> ProgramRun:
    return run_program({**HA, **overrides}, state=state, secrets_=HA_SECRETS, use_stack_file=False)


@pytest.fixture(scope="module")
def ha() -> ProgramRun:
    return ha_run()


def _envs(container: Recorded) -> dict[str, str]:
    return dict(entry.split("=", 1) for entry in container.inputs["envs"])


def _uploads(container: Recorded) -> dict[str, Any]:
    return {upload["file"]: upload for upload in container.inputs["uploads"]}


def _short(urn: str) -> str:
    return urn.rsplit("::", 1)[-1]


# --- instances and their env ---------------------------------------------------------------------------------


def test_one_instance_per_docker_host_under_the_component(ha: ProgramRun) -> None:
    top = ha.one(COMPONENT)
    # The engine sees registrations in the order their inputs resolve, not in program order: sort by name.
    registries = sorted(ha.all("palette-pack-registry:registry:Registry"), key=lambda r: r.name)
    # Named after their host (not their place in dockerHosts), whoever logs in and by whatever scheme.
    assert [r.name for r in registries] == ["registry-node-b-example-com-2376", "registry-var-run-docker-sock"]
    assert all(r.parent == top.urn for r in registries)
    providers = {r.parent: r.inputs["host"] for r in ha.all("pulumi:providers:docker")}
    assert providers == {registries[1].urn: HOST_A, registries[0].urn: HOST_B}
    containers = ha.all(CONTAINER)
    assert len(containers) == 2
    # The same image, port and name on every host.
    for key in ("image", "ports", "name", "restart"):
        assert containers[0].inputs[key] == containers[1].inputs[key], key
    assert sorted(_short(g.urn) for g in ha.all(READINESS)) == [
        "readiness-node-b-example-com-2376",
        "readiness-var-run-docker-sock",
    ]


def test_every_instance_gets_the_s3_env_and_no_data_volume(ha: ProgramRun) -> None:
    for container in ha.all(CONTAINER):
        envs = _envs(container)
        assert {
            key: value for key, value in envs.items() if key.startswith(("REGISTRY_STORAGE", "REGISTRY_HEALTH", "AWS_"))
        } == {
            "REGISTRY_STORAGE": "s3",
            "REGISTRY_STORAGE_S3_REGION": "eu-west-1",
            "REGISTRY_STORAGE_S3_BUCKET": "packs-bucket",
            "REGISTRY_STORAGE_S3_REGIONENDPOINT": "https://minio.example.com:9000",
            # The keys are in an uploaded file (``docker inspect`` shows the env), see the uploads below.
            "AWS_SHARED_CREDENTIALS_FILE": "/auth/aws-credentials",
            "REGISTRY_STORAGE_S3_ROOTDIRECTORY": "/spectro",
            "REGISTRY_STORAGE_DELETE_ENABLED": "true",
            "REGISTRY_STORAGE_REDIRECT_DISABLE": "true",
            "REGISTRY_HEALTH_STORAGEDRIVER_ENABLED": "true",
            "REGISTRY_HEALTH_STORAGEDRIVER_INTERVAL": "10s",
            "REGISTRY_HEALTH_STORAGEDRIVER_THRESHOLD": "1",
        }
        credentials = _uploads(container)["/auth/aws-credentials"]
        assert credentials["content"] == (
            f"[default]\naws_access_key_id = {ACCESS_KEY}\naws_secret_access_key = {SECRET_KEY}\n"
        )
        assert credentials["permissions"] == "0444" and "uploads" in container.secret_inputs
        assert ACCESS_KEY not in repr(envs) and SECRET_KEY not in repr(envs)
        # REGISTRY_STORAGE=s3 replaces the storage section: nothing is mounted at /data any more.
        assert not container.inputs.get("volumes")
    assert not ha.all("docker:index/volume:Volume")
    assert ha.exports["dataVolume"] == "s3://packs-bucket/spectro"


def test_aws_credentials_of_the_host_when_no_keys_and_aws_when_no_endpoint() -> None:
    run = ha_run(s3AccessKey="", s3SecretKey="", s3Endpoint="")
    for container in run.all(CONTAINER):
        envs = _envs(container)
        assert not {"REGISTRY_STORAGE_S3_ACCESSKEY", "REGISTRY_STORAGE_S3_SECRETKEY"} & set(envs)
        assert "REGISTRY_STORAGE_S3_REGIONENDPOINT" not in envs
        assert envs["REGISTRY_STORAGE_S3_BUCKET"] == "packs-bucket"


def test_all_instances_share_the_http_secret_htpasswd_and_certificate(ha: ProgramRun) -> None:
    first, second = ha.all(CONTAINER)
    assert _envs(first)["REGISTRY_HTTP_SECRET"] == _envs(second)["REGISTRY_HTTP_SECRET"]
    assert len(_envs(first)["REGISTRY_HTTP_SECRET"]) == 48
    # One secret for all: generated once, by the first instance.
    assert sorted(_short(r.urn) for r in ha.all(PASSWORD)) == [
        "credentials-admin",
        "credentials-spectro",
        "registry-http-secret",
    ]
    for path in ("/auth/htpasswd-basic", "/certs/tls.crt", "/certs/tls.key"):
        assert _uploads(first)[path] == _uploads(second)[path], path
    assert {"envs", "uploads"} <= second.secret_inputs


def test_certificate_covers_the_load_balanced_name_first(ha: ProgramRun) -> None:
    request = ha.one("tls:index/certRequest:CertRequest")
    assert request.inputs["dnsNames"] == ["registry.example.com", "node-b.example.com"]
    assert request.inputs["subject"]["commonName"] == "registry.example.com"
    assert request.inputs["ipAddresses"] == ["10.0.0.5"]
    assert ha.exports["endpoint"] == "https://registry.example.com"


def test_the_s3_keys_are_secret_wherever_they_go(ha: ProgramRun) -> None:
    # The wire marks the whole env list secret once an entry is (the entries' own secrecy: test_storage.py).
    for container in ha.all(CONTAINER):
        assert "envs" in container.secret_paths
    for record in ha.resources:
        for value, secret in ((record.inputs, record.secret_inputs), (record.outputs, set())):
            for key, item in value.items():
                if key not in secret and record.type != CONTAINER:
                    assert SECRET_KEY not in repr(item), (record.name, key)
    for key, value in ha.exports.items():
        assert SECRET_KEY not in repr(value), key
    assert not any(SECRET_KEY in message for message in ha.warnings)


def test_the_program_owns_no_bucket() -> None:
    """`pulumi destroy` deletes only what the program declared: nothing of the store's is among it."""
    run = ha_run()
    kinds = {r.type.split(":", 1)[0] for r in run.resources}
    assert kinds <= {"docker", "random", "tls", "pulumi", "pulumi-python", "palette-pack-registry"}
    assert not [r for r in run.resources if "bucket" in r.type.lower() or "s3" in r.type.lower()]


# --- readiness gates and Palette ---------------------------------------------------------------------------------


def test_one_gate_per_instance_at_its_own_address_verified_for_the_first_host(ha: ProgramRun) -> None:
    gates = ha.all(READINESS)
    containers = ha.all(CONTAINER)
    assert [g.inputs["url"] for g in gates] == ["https://127.0.0.1:443", "https://node-b.example.com:443"]
    assert ha.exports["instanceEndpoints"] == [g.inputs["url"] for g in gates]
    for gate, container in zip(gates, containers, strict=True):
        assert gate.inputs["server_name"] == "registry.example.com"
        assert gate.inputs["triggers"] == {"container": container.id}
        assert container.urn in gate.options["dependencies"]
        assert "'packs-bucket' (palette-pack-registry:s3Bucket)" in gate.inputs["storage_hint"]
    assert ha.exports["instanceContainerNames"] == ["spectro-registry", "spectro-registry"]


def test_readiness_urls_replace_the_derived_addresses() -> None:
    urls = ["https://10.1.0.1:8443", "https://10.1.0.2:8443", "https://10.1.0.3:8443"]
    run = ha_run(dockerHosts=[HOST_A, HOST_B, HOST_C], readinessUrls=urls)
    assert [g.inputs["url"] for g in run.all(READINESS)] == urls
    derived = ha_run(dockerHosts=[HOST_A, HOST_B, HOST_C], bindAddress="127.0.0.1")
    assert [g.inputs["url"] for g in derived.all(READINESS)] == [
        "https://127.0.0.1:443",
        "https://node-b.example.com:443",
        "https://node-c.example.com:443",
    ]


def test_palette_is_registered_once_at_the_shared_endpoint_after_every_gate() -> None:
    run = ha_run(paletteApiKey="palette-api-key-0123456789")
    registration = run.one(PALETTE)
    assert registration.inputs["endpoint"] == "https://registry.example.com"
    assert {g.urn for g in run.all(READINESS)} <= set(registration.options["dependencies"])


# --- rolling replacement ------------------------------------------------------------------------------------------


def _changed(before: ProgramRun, after: ProgramRun) -> set[str]:
    old = {r.urn: r.inputs for r in before.resources}
    return {r.urn for r in after.resources if r.urn not in old or old[r.urn] != r.inputs}


def test_each_container_waits_for_the_previous_instances_gate_only_through_depends_on() -> None:
    """The chain is a `dependsOn` edge, not a property: replacing instance i never condemns instance i+1.

    pulumi/pulumi pkg/resource/deploy/step_generator.go ``calculateDependentReplacements`` deletes a
    dependent with a delete-before-replace resource only when one of its *properties* depends on it.
    """
    run = ha_run(dockerHosts=[HOST_A, HOST_B, HOST_C])
    containers, gates = run.all(CONTAINER), run.all(READINESS)
    assert containers[0].options["dependencies"]
    for index in range(1, len(containers)):
        container = containers[index]
        assert gates[index - 1].urn in container.options["dependencies"]
        property_deps = {urn for deps in container.options["property_dependencies"].values() for urn in deps}
        earlier = {c.urn for c in containers[:index]} | {g.urn for g in gates[:index]}
        assert not property_deps & earlier, container.name
        assert container.options["delete_before_replace"] is True


@pytest.mark.parametrize("change", [{"rotationKeeper": "2"}, {"image": "registry.example.com/spectro:2.7.0"}])
def test_a_change_that_replaces_every_container_rolls_one_instance_at_a_time(change: dict[str, Any]) -> None:
    """The engine order of a rotation, from the recorded dependencies (tests/support/engine_model.py).

    A resource's registration reaches the engine only when everything it depends on is done
    (pulumi/pulumi pkg/resource/deploy/step_executor.go, source_eval.go ``RegisterResource`` waits for the
    step), so container i+1 is deleted only after gate i has seen container i answer again.
    """
    state = MockState()
    hosts = [HOST_A, HOST_B, HOST_C]
    palette = {"paletteApiKey": "palette-api-key-0123456789"}
    before = ha_run(state, dockerHosts=hosts, **palette)
    after = ha_run(state, dockerHosts=hosts, **palette, **change)
    changed = _changed(before, after)
    containers = [r.urn for r in after.all(CONTAINER)]
    assert set(containers) <= changed
    windows = outages(after.resources, changed)
    assert [w.container for w in sorted(windows, key=lambda w: w.down_from)] == containers
    for earlier, later in itertools.pairwise(windows):
        assert later.down_from >= earlier.up_at, (earlier, later)
    assert moments_all_down(after.resources, changed) == []
    # Palette's registration (updated in place by a rotation) starts only once every instance is back.
    steps = schedule(after.resources, changed)
    registration = after.one(PALETTE)
    assert steps[registration.urn].start >= max(w.up_at for w in windows)
    assert steps[registration.urn].start >= max(steps[g.urn].finish for g in after.all(READINESS))


def test_harness_engine_model_sees_an_outage_when_the_chain_is_missing() -> None:
    """Harness self-test: the model behind the check above sees both containers replaced at once when the
    dependsOn chain is cut out of the records (the product break itself is caught by
    tests/integration/test_high_availability.py on a real engine)."""
    state = MockState()
    before = ha_run(state)
    after = ha_run(state, rotationKeeper="2")
    changed = _changed(before, after)
    unchained = []
    for record in after.resources:
        if record.type == CONTAINER:
            deps = [d for d in record.options["dependencies"] if READINESS not in d]
            record = Recorded(**{**record.__dict__, "options": {**record.options, "dependencies": deps}})
        unchained.append(record)
    assert moments_all_down(unchained, changed) != []


# --- stability: re-runs, adding and removing hosts ------------------------------------------------------------


def _inputs(run: ProgramRun) -> dict[str, dict[str, Any]]:
    return {r.urn: r.inputs for r in run.resources}


def test_a_second_evaluation_changes_nothing() -> None:
    state = MockState()
    first = ha_run(state)
    generated = state.generated
    second = ha_run(state)
    assert _inputs(second) == _inputs(first)
    assert state.generated == generated


def test_adding_a_host_adds_only_that_instance_and_removing_it_removes_only_it() -> None:
    state = MockState()
    two = _inputs(ha_run(state))
    three = _inputs(ha_run(state, dockerHosts=[HOST_A, HOST_B, HOST_C]))
    added = set(three) - set(two)
    assert {_short(u) for u in added} == {
        "registry-node-c-example-com",
        "registry-node-c-example-com-docker",
        "registry-node-c-example-com-image",
        "registry-node-c-example-com-container",
        "readiness-node-c-example-com",
    }
    assert {u for u in two if two[u] != three[u]} == set()
    back = _inputs(ha_run(state, dockerHosts=[HOST_A, HOST_C], dockerCaCert="", dockerCert="", dockerKey=""))
    removed = set(three) - set(back)
    assert {_short(u) for u in removed} == {
        "registry-node-b-example-com-2376",
        "registry-node-b-example-com-2376-docker",
        "registry-node-b-example-com-2376-image",
        "registry-node-b-example-com-2376-container",
        "readiness-node-b-example-com-2376",
    }
    # What stays changes nothing but the rolling chain's dependsOn edge, which is no input.
    assert {u for u in back if back[u] != three[u]} == set()
