"""Several instances on one S3 bucket, for real: the stand-in registry on Docker, moto's S3 server.

See tests/support/ha_support.py for how two Docker hosts and their instances live on this one machine.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pytest

from components.readiness import ReadinessGateProvider, RegistryNotReady
from tests.support import docker_support
from tests.support.docker_support import DockerJanitor, remove_container
from tests.support.engine_model import execute
from tests.support.ha_support import (
    CONTAINER,
    READINESS,
    ROOT_DIRECTORY,
    Instance,
    container_of,
    evaluate,
    gate_of,
    gate_props,
    ha_config,
    start_instance,
)
from tests.support.harness import MockState, Recorded
from tests.support.s3_support import SECRET_KEY, S3Server
from tests.support.tls_support import free_port

Result = TypeVar("Result")


def _blob_key(digest: str) -> str:
    hexdigest = digest.removeprefix("sha256:")
    return f"{ROOT_DIRECTORY.strip('/')}/docker/registry/v2/blobs/sha256/{hexdigest[:2]}/{hexdigest}/data"


def test_two_instances_share_one_bucket_and_survive_the_loss_of_either(
    s3_server: S3Server,
    bucket: str,
    janitor: DockerJanitor,
    standin_image: str,
    both_hosts_reach_the_engine: None,
) -> None:
    run = evaluate(ha_config(s3_server.endpoint, bucket, [free_port(), free_port()]))
    envs = [dict(e.split("=", 1) for e in c.inputs["envs"]) for c in run.all(CONTAINER)]
    assert [e["REGISTRY_STORAGE_S3_BUCKET"] for e in envs] == [bucket, bucket]
    assert envs[0]["REGISTRY_HTTP_SECRET"] == envs[1]["REGISTRY_HTTP_SECRET"]
    a = start_instance(run, 0, janitor, standin_image)
    b = start_instance(run, 1, janitor, standin_image)
    a.gate()
    b.gate()

    # Pushed through A as admin, read through B as the read-only user.
    first = b"pack through A " + secrets.token_bytes(2048)
    digest = a.admin().push_blob("packs/alpha", first)
    assert digest == "sha256:" + hashlib.sha256(first).hexdigest()
    fetched = b.reader().get(f"/v2/packs/alpha/blobs/{digest}")
    assert (fetched.status, fetched.body) == (200, first)

    # A dies: B still serves the catalog and the blob.
    a.stop()
    with pytest.raises(OSError):
        a.reader().get("/v2/")
    catalog = b.reader().get("/v2/_catalog")
    assert catalog.status == 200 and b"packs/alpha" in catalog.body
    assert b.reader().get(f"/v2/packs/alpha/blobs/{digest}").body == first

    # A push through B while A is down reaches A once it is back.
    second = b"pack through B " + secrets.token_bytes(2048)
    later = b.admin().push_blob("packs/beta", second)
    a.start()
    a.gate()
    assert a.reader().get(f"/v2/packs/beta/blobs/{later}").body == second
    assert b"packs/beta" in a.reader().get("/v2/_catalog").body

    # The bucket itself holds both blobs, under the configured prefix.
    keys = s3_server.keys(bucket, ROOT_DIRECTORY.strip("/") + "/")
    assert {_blob_key(digest), _blob_key(later)} <= set(keys)
    assert s3_server.client().get_object(Bucket=bucket, Key=_blob_key(later))["Body"].read() == second


def test_a_wrong_bucket_fails_the_gate_naming_s3_bucket(
    s3_server: S3Server, janitor: DockerJanitor, standin_image: str, both_hosts_reach_the_engine: None
) -> None:
    missing = f"missing-{janitor.token}"
    run = evaluate(ha_config(s3_server.endpoint, missing, [free_port()]))
    instance = start_instance(run, 0, janitor, standin_image)
    with pytest.raises(RegistryNotReady) as raised:
        ReadinessGateProvider().create(gate_props(run, 0, timeout_seconds=3.0))
    message = str(raised.value)
    assert "palette-pack-registry:s3Bucket" in message
    assert f"'{missing}'" in message
    assert SECRET_KEY not in message and run.exports["readOnlyPasswords"][0] not in message
    docker_support.remove_container(instance.container, janitor)


@dataclass
class Poller:
    """Polls the catalog through every instance (one thread each), as clients behind the load balancer would.

    Each instance's answers become *outages*: from the end of its last successful answer to the start of
    its next one (the longest it may have been out, given when it was asked). At every moment at least
    one instance answered when no two instances' outages overlap.
    """

    instances: list[Instance]
    passwords: list[tuple[str, str]]
    """(user, password) pairs to try: the read-only user's old and new password."""
    samples: list[tuple[int, float, float, bool]] = field(default_factory=list)
    """(instance index, asked at, answered at, answered 200)."""
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    def _answers(self, index: int, preferred: list[int]) -> bool:
        order = sorted(range(len(self.passwords)), key=lambda i: i != preferred[0])
        for choice in order:
            user, password = self.passwords[choice]
            try:
                status = self.instances[index].client(user, password, timeout=1.0).get("/v2/_catalog").status
            except OSError:
                return False
            if status == 200:
                preferred[0] = choice  # bcrypt is slow: ask with what worked last time first
                return True
        return False

    def _loop(self, index: int) -> None:
        preferred = [0]
        while not self._stop.is_set():
            asked = time.monotonic()
            ok = self._answers(index, preferred)
            self.samples.append((index, asked, time.monotonic(), ok))
            time.sleep(0.01)

    def outages(self, index: int) -> list[tuple[float, float]]:
        result = []
        last_ok_end: float | None = None
        failed = False
        for _, asked, answered, ok in sorted(s for s in self.samples if s[0] == index):
            if ok:
                if failed:
                    result.append((last_ok_end if last_ok_end is not None else asked, asked))
                failed = False
                last_ok_end = answered
            else:
                failed = True
        if failed:
            result.append((last_ok_end if last_ok_end is not None else 0.0, float("inf")))
        return result

    def wait_until_each_answered(self, since: float, timeout: float = 60.0) -> None:
        """Blocks until every instance has answered 200 to a request asked at or after ``since`` (a real
        answer, not a guess that one has landed); ``timeout`` only bounds a broken run."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            answered = {index for index, asked, _, ok in list(self.samples) if ok and asked >= since}
            if answered >= set(range(len(self.instances))):
                return
            time.sleep(0.01)
        raise AssertionError(f"not every instance answered within {timeout} s of {since}")

    def __enter__(self) -> Poller:
        for index in range(len(self.instances)):
            thread = threading.Thread(target=self._loop, args=(index,), daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def __exit__(self, *_: Any) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=10)


Outage = tuple[float, float]


def rotate_with_one_answering(
    instances: list[Instance], passwords: list[tuple[str, str]], rotate: Callable[[], Result]
) -> tuple[Result, list[Outage], list[Outage]]:
    """Runs ``rotate`` while a ``Poller`` polls the two instances (each answered before and after it) and
    asserts that each instance was out while it was replaced, never both at once. Returns what ``rotate``
    returned and the two instances' outages."""
    with Poller(instances, passwords) as poller:
        poller.wait_until_each_answered(since=time.monotonic())
        ran = rotate()
        poller.wait_until_each_answered(since=time.monotonic())
    a_out, b_out = poller.outages(0), poller.outages(1)
    assert a_out and b_out, f"each instance was out while it was replaced: {a_out} {b_out}"
    overlaps = [(x, y) for x in a_out for y in b_out if x[0] < y[1] and y[0] < x[1]]
    assert overlaps == [], "a moment with no instance answering"
    return ran, a_out, b_out


def test_a_rotation_replaces_the_instances_one_at_a_time_and_one_always_answers(
    s3_server: S3Server,
    bucket: str,
    janitor: DockerJanitor,
    standin_image: str,
    both_hosts_reach_the_engine: None,
) -> None:
    """The rotation run the way the engine runs the program's second evaluation (tests/support/engine_model.py
    ``execute``): every changed step starts as soon as everything its registration declared it waits for
    is done, and steps that wait for nothing left run at the same time. A container's step deletes the old
    container, then starts the new one (``delete_before_replace``); a gate's step is the program's own
    readiness gate. The order and the concurrency come from the program's dependsOn edges only: without
    the rolling chain both containers are replaced at once, and the poller sees a moment with no answer.
    """
    state = MockState()
    config = ha_config(s3_server.endpoint, bucket, [free_port(), free_port()])
    before = evaluate(config, state)
    after = evaluate({**config, "rotationKeeper": "rotated"}, state)
    old_inputs = {r.urn: r.inputs for r in before.resources}
    changed = {r.urn for r in after.resources if old_inputs.get(r.urn) != r.inputs}
    count = len(after.all(CONTAINER))
    containers = [container_of(after, i).urn for i in range(count)]
    gates = [gate_of(after, i).urn for i in range(count)]
    assert set(containers) | set(gates) <= changed

    instances = [start_instance(before, i, janitor, standin_image) for i in range(count)]
    for instance in instances:
        instance.gate()
    digest = instances[0].admin().push_blob("packs/rotation", b"kept across the rotation")
    user = before.exports["readOnlyUsers"][0]
    passwords = [(user, before.exports["readOnlyPasswords"][0]), (user, after.exports["readOnlyPasswords"][0])]

    def act(record: Recorded) -> None:
        if record.type == CONTAINER:
            assert record.options["delete_before_replace"], record.urn
            index = containers.index(record.urn)
            remove_container(instances[index].container, janitor)
            instances[index] = start_instance(after, index, janitor, standin_image)
        elif record.type == READINESS:
            ReadinessGateProvider().create(gate_props(after, gates.index(record.urn)))

    ran, a_out, b_out = rotate_with_one_answering(instances, passwords, lambda: execute(after.resources, changed, act))
    assert all(end <= b_out[0][0] for _, end in a_out), "instance 1 went out before instance 0 was back"
    steps = {step.urn: step for step in ran}
    assert steps[containers[1]].started >= steps[gates[0]].finished, "instance 1 was replaced before gate 0 passed"
    for instance in instances:
        old, new = (instance.client(user, password) for _, password in passwords)
        assert old.get("/v2/_catalog").status == 401
        assert new.get(f"/v2/packs/rotation/blobs/{digest}").body == b"kept across the rotation"
