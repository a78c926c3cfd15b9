"""registryKind oci on two instances sharing one S3 bucket, for real: a rotation replayed in the engine's order.

As in tests/support/ha_support.py, both Docker hosts of the config reach this machine's engine and every container
runs with the host's network instead of the declared networks, so the registries reach moto on 127.0.0.1 and
nothing leaves the loopback interface. Two OCI instances in the host's namespace cannot both use the program's
fixed ports, so each instance's declared containers get their own loopback ports: the registry's
``REGISTRY_HTTP_ADDR`` (and its debug server's) and, in the proxy's declared nginx configuration, its ``listen``
port and the registry's address (each replaced exactly once, the rest of the configuration as declared).
"""

from __future__ import annotations

import time
from typing import Any

from components.instance import proxy as oci_proxy
from components.readiness import ReadinessGateProvider
from tests.integration.test_high_availability import rotate_with_one_answering
from tests.support.docker_support import (
    DockerJanitor,
    RunningContainer,
    container_spec_with,
    remove_container,
    start_container,
)
from tests.support.engine_model import execute
from tests.support.ha_support import READINESS, Instance, evaluate, gate_of, gate_props, ha_config, port_of
from tests.support.harness import CONTAINER, MockState, ProgramRun, Recorded
from tests.support.s3_support import S3Server
from tests.support.tls_support import free_port


def containers_of(run: ProgramRun, index: int) -> tuple[Recorded, Recorded]:
    """Instance ``index``'s registry and proxy containers: the two its gate depends on (the registry is the
    one that publishes no port)."""
    deps = gate_of(run, index).options["dependencies"]
    found = [c for c in run.all(CONTAINER) if c.urn in deps]
    (registry,) = [c for c in found if not c.inputs.get("ports")]
    (proxy,) = [c for c in found if c is not registry]
    return registry, proxy


def _once(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"{old!r} appears {text.count(old)} times in the proxy configuration"
    return text.replace(old, new)


class OciInstance(Instance):
    """An instance whose ``container`` is the registry, with its proxy beside it."""

    proxy: RunningContainer


def start_oci_instance(run: ProgramRun, index: int, janitor: DockerJanitor, images: tuple[str, str]) -> OciInstance:
    """The proxy first, then the registry, both in the host's network namespace (for the tests' loopback S3
    store) instead of the declared private network."""
    registry_spec, proxy_spec = containers_of(run, index)
    port, upstream = port_of(run, index), free_port()
    suffix = f"{index}-{time.monotonic_ns() % 10**6}"
    uploads = []
    for upload in proxy_spec.inputs["uploads"]:
        if upload["file"] == oci_proxy.CONFIG_FILE:
            text = _once(upload["content"], f"listen {oci_proxy.PROXY_PORT} ssl;", f"listen 127.0.0.1:{port} ssl;")
            text = _once(text, f'default "{oci_proxy.UPSTREAM}";', f'default "127.0.0.1:{upstream}";')
            upload = {**upload, "content": text}
        uploads.append(upload)
    proxy = start_container(
        container_spec_with(proxy_spec.inputs, networkMode="host", networksAdvanced=[], ports=[], uploads=uploads),
        janitor,
        image=images[1],
        name=janitor.name(f"spectro-registry-oci-ha-proxy-{suffix}"),
    )
    assert registry_spec.inputs["networksAdvanced"][0]["aliases"] == [oci_proxy.REGISTRY_HOST]
    # Its own loopback ports, as two instances share the host's namespace here (the debug server's too).
    envs = [
        e for e in registry_spec.inputs["envs"] if not str(e).startswith(("REGISTRY_HTTP_ADDR=", "REGISTRY_HTTP_DEBUG"))
    ]
    envs += [
        f"REGISTRY_HTTP_ADDR=127.0.0.1:{upstream}",
        f"REGISTRY_HTTP_DEBUG_ADDR=127.0.0.1:{free_port()}",
        # With the host's network, an S3 driver short of credentials would ask the cloud metadata address.
        "AWS_EC2_METADATA_DISABLED=true",
    ]
    registry = start_container(
        container_spec_with(registry_spec.inputs, envs=envs, networkMode="host", networksAdvanced=[]),
        janitor,
        image=images[0],
        name=janitor.name(f"spectro-registry-oci-ha-{suffix}"),
    )
    instance = OciInstance(run, index, RunningContainer(registry.id, registry.name, registry.spec, port, 0.0, True))
    instance.proxy = proxy
    return instance


def test_an_oci_rotation_replaces_both_containers_of_one_instance_at_a_time_and_one_always_answers(
    s3_server: S3Server,
    bucket: str,
    janitor: DockerJanitor,
    oci_standin_image: str,
    proxy_standin_image: str,
    both_hosts_reach_the_engine: None,
) -> None:
    """The rotation run as the engine runs the program's second evaluation (tests/support/engine_model.py
    ``execute``: each changed step starts once everything it declared it waits for is done). A rotation changes
    both containers' inputs (the htpasswd the proxy is given, the HTTP secret in the registry's env), so both
    are replaced; here both go and come back at the proxy's step (the registry's own step, which the engine
    runs after it, then finds it running), which is at least as disruptive. The order comes from the
    program's dependsOn edges only: both containers of instance 0 and its gate are done before instance 1's
    proxy is touched."""
    images = (oci_standin_image, proxy_standin_image)
    state = MockState()
    config: dict[str, Any] = {
        **ha_config(s3_server.endpoint, bucket, [free_port(), free_port()]),
        "registryKind": "oci",
        "readinessHealthPath": "",
        "readinessCatalogPath": "",
    }
    before = evaluate(config, state)
    after = evaluate({**config, "rotationKeeper": "rotated"}, state)
    old_inputs = {r.urn: r.inputs for r in before.resources}
    changed = {r.urn for r in after.resources if old_inputs.get(r.urn) != r.inputs}
    pairs = [[c.urn for c in containers_of(after, i)] for i in range(2)]
    gates = [gate_of(after, i).urn for i in range(2)]
    assert {urn for pair in pairs for urn in pair} | set(gates) <= changed

    instances = [start_oci_instance(before, i, janitor, images) for i in range(2)]
    for index in range(2):
        ReadinessGateProvider().create(gate_props(before, index, timeout_seconds=30.0))
    digest = instances[0].admin().push_blob("packs/spectro-packs/archive/rotation", b"kept across the rotation")
    user = before.exports["readOnlyUsers"][0]
    passwords = [(user, before.exports["readOnlyPasswords"][0]), (user, after.exports["readOnlyPasswords"][0])]

    def act(record: Recorded) -> None:
        if record.type == CONTAINER:
            assert record.options["delete_before_replace"], record.urn
            index = next(i for i, pair in enumerate(pairs) if record.urn in pair)
            if record.urn == pairs[index][1]:
                # The proxy's replacement, with the registry's (both replaced in this run).
                remove_container(instances[index].container, janitor)
                remove_container(instances[index].proxy, janitor)
                instances[index] = start_oci_instance(after, index, janitor, images)
            # The registry's own step: start_oci_instance started it with the new proxy.
        elif record.type == READINESS:
            ReadinessGateProvider().create(gate_props(after, gates.index(record.urn), timeout_seconds=30.0))

    ran, _, _ = rotate_with_one_answering(instances, passwords, lambda: execute(after.resources, changed, act))
    steps = {step.urn: step for step in ran}
    assert steps[pairs[1][1]].started >= steps[gates[0]].finished, "instance 1 was replaced before gate 0 passed"
    assert steps[gates[0]].started >= steps[pairs[0][0]].finished, "gate 0 ran before instance 0's registry was back"
    for instance in instances:
        old, new = (instance.client(user, password) for _, password in passwords)
        assert old.get("/v2/_catalog").status == 401
        reader = new.get(f"/v2/packs/spectro-packs/archive/rotation/blobs/{digest}")
        assert reader.body == b"kept across the rotation", "the pack data is in the one bucket"
