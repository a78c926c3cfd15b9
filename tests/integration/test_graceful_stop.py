"""A replacement (rotation, new certificate, new image) while a push is in flight, on the real engine.

`pulumi up` replaces the container with delete_before_replace: the provider's delete stops it with the
declared ``destroy_grace_seconds`` as the timeout, then removes it (kreuzwerker/terraform-provider-docker
v4.5.0 internal/provider/resource_docker_container_funcs.go resourceDockerContainerDelete; unset, the
timeout is 0: SIGKILL). On SIGTERM distribution stops accepting connections and lets running requests finish
for ``http.draintimeout`` (distribution registry/registry.go ListenAndServe; the stand-in is Debian's 2.8.2
and the legacy spectro-registry is distribution too). tests/support/docker_support.py ``replace_stop`` does what that
delete does, with the declared values.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest

from tests.support.docker_support import DockerJanitor, docker, remove_container, replace_stop
from tests.support.harness import CONTAINER, ProgramRun, run_program
from tests.support.registry_client import RegistryClient
from tests.support.registry_container import BASE_CONFIG, Deployed, deploy

MIB = 1024 * 1024
BLOB = 20 * MIB
CHUNK = 256 * 1024
DRAIN_TIMEOUT_SECONDS = 10
"""The drain the program declares (REGISTRY_HTTP_DRAINTIMEOUT=10s, asserted in tests/program/test_docker_hosts.py)."""


@pytest.fixture(scope="module")
def http_run() -> ProgramRun:
    return run_program({**BASE_CONFIG, "tlsMode": "http", "allowInsecureHttp": True, "port": 5080})


def _upload_path(client: RegistryClient, repository: str, digest: str) -> str:
    started = client.request("POST", f"/v2/{repository}/blobs/uploads/", body=b"")
    assert started.status == 202, started.body[:200]
    location = urlsplit(urljoin(client.base_url + "/", started.headers["location"]))
    separator = "&" if location.query else "?"
    return f"{location.path}?{location.query}{separator}digest={digest}".replace("?&", "?")


def _push_in_flight(client: RegistryClient, repository: str, content: bytes, seconds: float) -> tuple[Any, ...]:
    """Starts a monolithic PUT of ``content`` spread over about ``seconds``; returns (thread, half-sent
    event, result dict with "answer" or "error")."""
    digest = "sha256:" + hashlib.sha256(content).hexdigest()
    path = _upload_path(client, repository, digest)
    half = threading.Event()
    result: dict[str, Any] = {"digest": digest}
    pause = seconds / (len(content) / CHUNK)

    def body() -> Iterator[bytes]:
        for offset in range(0, len(content), CHUNK):
            yield content[offset : offset + CHUNK]
            if offset >= len(content) // 4:
                half.set()
            time.sleep(pause)

    def push() -> None:
        try:
            result["answer"] = client.request(
                "PUT",
                path,
                body=body(),
                headers={"Content-Type": "application/octet-stream", "Content-Length": str(len(content))},
            )
        except OSError as error:  # the connection went away: a clean failure for the client
            result["error"] = error
        finally:
            half.set()

    thread = threading.Thread(target=push, daemon=True)
    thread.start()
    return thread, half, result


def _replace_during_push(
    run: ProgramRun, janitor: DockerJanitor, image: str, push_seconds: float, role: str
) -> tuple[dict[str, Any], Deployed]:
    declared = run.one(CONTAINER).inputs
    name = janitor.name(f"spectro-registry-it-drain-{role}")
    old = deploy(run, janitor, image, "http", name=name)
    try:
        content = secrets.token_bytes(BLOB)
        thread, quarter_sent, result = _push_in_flight(old.admin(), "packs/drain", content, push_seconds)
        assert quarter_sent.wait(60)
        replace_stop(old.container, janitor, int(declared.get("destroyGraceSeconds") or 0))
        thread.join(120)
        assert not thread.is_alive()
    finally:
        docker("rm", "--force", "--volumes", old.container.id, check=False)  # already gone unless the test failed
    volume = old.container.spec["volumes"][0]["volumeName"]
    return result, deploy(run, janitor, image, "http", name=name, volume=volume)


def test_a_push_in_flight_when_the_container_is_replaced_completes(
    http_run: ProgramRun, janitor: DockerJanitor, standin_image: str
) -> None:
    """A 20 MiB push that needs less than the drain time completes and is there after the replacement
    (today's SIGKILL cut it: the client saw the connection reset)."""
    result, new = _replace_during_push(http_run, janitor, standin_image, DRAIN_TIMEOUT_SECONDS / 3, role="ok")
    try:
        assert "error" not in result, f"the push was cut: {result.get('error')!r}"
        assert result["answer"].status == 201, result["answer"].body[:300]
        fetched = new.admin().get(f"/v2/packs/drain/blobs/{result['digest']}")
        assert fetched.status == 200
        assert "sha256:" + hashlib.sha256(fetched.body).hexdigest() == result["digest"]
    finally:
        remove_container(new.container, janitor)


def test_a_push_longer_than_the_drain_fails_cleanly(
    http_run: ProgramRun, janitor: DockerJanitor, standin_image: str
) -> None:
    """A push still running when the drain time is over is cut off: the client sees an error (no success
    answer), and the replacement holds no blob under that digest, not a truncated one."""
    result, new = _replace_during_push(http_run, janitor, standin_image, DRAIN_TIMEOUT_SECONDS * 2, role="cut")
    try:
        answer = result.get("answer")
        assert "error" in result or (answer is not None and answer.status >= 400), answer
        assert new.admin().get(f"/v2/packs/drain/blobs/{result['digest']}").status == 404
    finally:
        remove_container(new.container, janitor)
