"""Disk space comes back (registryKind oci, on the real engine): a full data volume, packs deleted, the registry
switched read-only, garbage collected while pulls go on, and every pack that was not deleted still pulled byte for
byte.

The program is evaluated under the realistic mocks twice on one state, as two `pulumi up`s: as deployed, then with
``maintenanceReadOnly`` on. Its declared containers run as real containers of the stand-in images
(tests/integration/test_oci_instance.py ``deploy``); the data volume is a tmpfs volume of 64 MiB, so a handful of packs
fills it. Switching the mode replaces the registry container the way the docker provider does (a stop with the
declared grace, then a new container from the new run's spec, in the same network and volume); the proxy's spec is
the same in both runs and stays.

What distribution does, from its source (v2.8.3; the stand-in is Debian's 2.8.2):

- a manifest DELETE removes the tag and revision links only; the blobs stay until ``registry garbage-collect``
  (registry/storage/garbagecollect.go ``MarkAndSweep``), which reads the configuration the way ``serve`` does,
  environment included (registry/root.go ``GCCmd`` -> registry.go ``resolveConfiguration``), so a ``docker exec``
  collects the storage the running registry serves;
- with ``storage.maintenance.readonly.enabled`` the upload, manifest and blob routes register GET and HEAD only
  (registry/handlers/{blobupload,manifests,blob}.go): a write answers 405 ``Allow: GET, HEAD``;
- an unfinished upload stays under ``_uploads`` until the upload purger deletes it (registry/storage/
  purgeuploads.go), which garbage collection does not touch. The purger's first run comes a random 0-59 minutes
  after the start (registry/handlers/app.go ``startUploadPurger``), too late for a test: this one checks that the
  registry took the program's setting (a malformed one panics at start) and records the bytes it leaves for it.

A tmpfs volume lives only while a container has it mounted: Docker's local driver unmounts it, and its content is
lost, when its last user stops. A holder container keeps it mounted across the registry's replacement, as a disk
keeps a real volume.
"""

from __future__ import annotations

import io
import json
import os
import shlex
import shutil
import subprocess
import tarfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from components.instance.container import STOP_GRACE_SECONDS
from components.instance.proxy import READ_ONLY_ALLOW, READ_ONLY_BODY, UNSUPPORTED_BODY
from components.kinds.oci import CONFIG_FILE
from components.packs import PackProvider
from components.packs.oci_client import OciError
from tests.integration.test_oci_instance import CONFIG, Instance, deploy
from tests.support.docker_support import (
    LABEL,
    DockerJanitor,
    container_spec_with,
    docker,
    inspect_container,
    on_networks,
    replace_stop,
    start_container,
)
from tests.support.harness import NETWORK, MockState, ProgramRun, run_program
from tests.support.pack_push_support import OciReader
from tests.support.paths import SAMPLE_PACK

PACK = "pulumi-python:dynamic/packs:Pack"
REGISTRY_DATA = "/var/lib/registry"
VOLUME_MIB = 64
PAYLOAD_MIB = 5
"""Random bytes in each pack (they do not compress): about a dozen packs fill the volume."""
PACKS = 16
ACCEPT = {"Accept": "application/vnd.oci.image.manifest.v1+json"}


def write_packs(folder: Path) -> list[Path]:
    """The sample pack under ``PACKS`` names, each with ``PAYLOAD_MIB`` MiB of random bytes among its manifests."""
    made = []
    for index in range(PACKS):
        name = f"disk-{index:02d}"
        pack = shutil.copytree(SAMPLE_PACK, folder / name)
        manifest = json.loads((pack / "pack.json").read_text())
        manifest.update(name=name, displayName=f"Disk {index}")
        (pack / "pack.json").write_text(json.dumps(manifest, indent=2))
        (pack / "manifests" / "payload.bin").write_bytes(os.urandom(PAYLOAD_MIB * 1024 * 1024))
        made.append(pack)
    return made


def tmpfs_volume(janitor: DockerJanitor, name: str) -> str:
    """A Docker volume of ``VOLUME_MIB`` MiB in memory, held mounted by a container that never uses it."""
    docker(
        "volume", "create", "--driver", "local", "--label", f"{LABEL}={janitor.token}",
        "--opt", "type=tmpfs", "--opt", "device=tmpfs", "--opt", f"o=size={VOLUME_MIB}m", name,
    )  # fmt: skip
    janitor.volumes.append(name)
    return name


def hold(volume: str, janitor: DockerJanitor, image: str) -> None:
    holder = docker(
        "run", "--detach", "--network", "none", "--label", f"{LABEL}={janitor.token}",
        "--volume", f"{volume}:/holder", image,
    ).strip()  # fmt: skip
    janitor.containers.append(holder)


def stored(container: str) -> dict[str, int]:
    """Every file under the registry's data directory, by path, with its size (``docker cp`` streams a tar)."""
    raw = subprocess.run(
        ["docker", "cp", f"{container}:{REGISTRY_DATA}", "-"], capture_output=True, timeout=120, check=True
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(raw)) as archive:
        return {member.name: member.size for member in archive.getmembers() if member.isfile()}


@dataclass(frozen=True)
class Usage:
    """What the data directory holds at one moment."""

    total: int
    uploads: int
    """Bytes of unfinished uploads (``_uploads``)."""
    blobs: frozenset[str]
    """The sha256 digests of the blobs stored."""

    @classmethod
    def of(cls, container: str) -> Usage:
        files = stored(container)
        blobs = {
            "sha256:" + Path(path).parent.name for path in files if "/blobs/sha256/" in path and path.endswith("/data")
        }
        uploads = sum(size for path, size in files.items() if "/_uploads/" in path)
        return cls(sum(files.values()), uploads, frozenset(blobs))


@dataclass
class Published:
    """A pack pushed by the program's provider, and what a pull returned right after."""

    name: str
    outs: dict[str, Any]
    manifest: bytes
    layer: bytes


def pack_inputs(run: ProgramRun, name: str, url: str) -> dict[str, Any]:
    """The inputs the program declared for pack ``name``, pushed through ``url`` (the proxy's published port)."""
    (record,) = [r for r in run.all(PACK) if r.inputs["name"] == name]
    inputs = {k: v for k, v in record.inputs.items() if v is not None and k != "__provider"}
    inputs["registry_url"] = url
    return inputs


def pull(reader: OciReader, repository: str, name: str) -> tuple[bytes, bytes]:
    status, manifest, _ = reader.manifest(f"{repository}/{name}", "1.0.0")
    assert status == 200, (name, status, manifest[:200])
    layer_digest = json.loads(manifest)["layers"][0]["digest"]
    return manifest, reader.blob(f"{repository}/{name}", layer_digest)


def replace_registry(instance: Instance, run: ProgramRun, janitor: DockerJanitor, image: str, volume: str) -> Instance:
    """What `pulumi up` does to the registry container whose declared spec changed: the docker provider stops it
    with ``destroy_grace_seconds`` and removes it (delete before replace), then creates the new one, which joins the
    network the old one had, with the same volume."""
    (network,) = inspect_container(instance.registry.id)["NetworkSettings"]["Networks"]
    replace_stop(instance.registry, janitor, STOP_GRACE_SECONDS)
    spec = run.named("registry-container").inputs
    mounts = [{**mount, "volumeName": volume} for mount in spec["volumes"]]
    registry = start_container(
        on_networks(container_spec_with(spec, volumes=mounts), {run.one(NETWORK).id: network}),
        janitor,
        image=image,
        name=janitor.name(f"{spec['name']}-{run.named('registry-container').id[:6]}"),
    )
    registry.host_port = instance.proxy.host_port
    return Instance(run, registry, instance.proxy)


def ready(instance: Instance) -> None:
    from components.readiness import ReadinessGateProvider, RegistryNotReady

    try:
        ReadinessGateProvider().create(instance.gate_props())
    except RegistryNotReady as error:
        raise AssertionError(f"{error}\n{instance.logs()}") from error


@dataclass
class Puller:
    """Pulls every kept pack again and again in a thread, comparing each with what it was after the push."""

    reader: OciReader
    repository: str
    kept: list[Published]
    pulls: list[tuple[float, float]] = field(default_factory=list)
    """(start, end) of every pack pulled whole and equal."""
    failures: list[tuple[float, str]] = field(default_factory=list)
    """(when, what) of every pull that failed."""
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        while not self.stop.is_set():
            for pack in self.kept:
                started = time.monotonic()
                try:
                    manifest, layer = pull(self.reader, self.repository, pack.name)
                except (AssertionError, OSError) as error:
                    self.failures.append((started, f"{pack.name}: {error!r}"))
                    continue
                if (manifest, layer) != (pack.manifest, pack.layer):
                    self.failures.append((started, f"{pack.name}: pulled other bytes"))
                    continue
                self.pulls.append((started, time.monotonic()))

    def pulled_since(self, moment: float) -> bool:
        return any(start >= moment for start, _ in self.pulls)


@contextmanager
def pulling(reader: OciReader, repository: str, kept: list[Published]) -> Iterator[Puller]:
    """A ``Puller`` at work from before the body starts (its first pull done) until the body ends."""
    puller = Puller(reader, repository, kept)
    thread = threading.Thread(target=puller.run)
    thread.start()
    try:
        while not puller.pulls and not puller.failures:
            time.sleep(0.01)
        yield puller
    finally:
        puller.stop.set()
        thread.join(120)


@pytest.fixture
def packs(tmp_path: Path) -> list[Path]:
    return write_packs(tmp_path / "packs")


def test_deleted_packs_and_their_space_come_back_through_maintenance_mode_while_pulls_go_on(
    packs: list[Path], tmp_path: Path, janitor: DockerJanitor, oci_standin_image: str, proxy_standin_image: str
) -> None:
    state = MockState()
    config = {**CONFIG, "packs": [str(pack) for pack in packs]}
    deployed_run = run_program(config, stack="dev", use_stack_file=False, state=state)
    maintenance_run = run_program(
        {**config, "maintenanceReadOnly": True}, stack="dev", use_stack_file=False, state=state
    )
    # The switch is the registry's alone: the proxy keeps its spec (and so its container, and the clients' port).
    assert maintenance_run.named("registry-proxy-container").id == deployed_run.named("registry-proxy-container").id
    assert maintenance_run.named("registry-container").id != deployed_run.named("registry-container").id
    assert "garbageCollectCommand" not in deployed_run.exports

    volume = tmpfs_volume(janitor, janitor.name("oci-disk-data"))
    hold(volume, janitor, proxy_standin_image)
    images = (oci_standin_image, proxy_standin_image)
    instance = deploy(deployed_run, janitor, images, volume)
    ready(instance)
    repository = deployed_run.exports["packRepository"].split("/", 1)[1]
    ca_file = tmp_path / "ca.crt"
    ca_file.write_text(deployed_run.exports["caCertificate"])
    reader = OciReader(
        instance.url, ca_file, deployed_run.exports["readOnlyUsers"][0], deployed_run.exports["readOnlyPasswords"][0]
    )
    provider = PackProvider()

    # Fill the volume with the program's own pushes until one fails.
    published: list[Published] = []
    failed_push = None
    for pack in packs:
        inputs = pack_inputs(deployed_run, pack.name, instance.url)
        try:
            outs = provider.create(provider.check({}, inputs).inputs).outs
        except OciError as error:
            failed_push = (inputs, error)
            break
        published.append(Published(pack.name, outs, *pull(reader, repository, pack.name)))
    assert failed_push is not None, f"{len(published)} packs of {PAYLOAD_MIB} MiB fit in {VOLUME_MIB} MiB"
    assert failed_push[1].status is not None and failed_push[1].unreachable is None, failed_push[1]
    assert "no space left on device" in instance.registry.logs("all"), failed_push[1]
    after_failed_push = Usage.of(instance.registry.id)

    # Delete every other pack the way `pulumi up` does when it leaves the stack: nothing is freed.
    deleted, kept = published[::2], published[1::2]
    for pack in deleted:
        provider.delete(pack.outs["reference"], pack.outs)
        assert reader.manifest(f"{repository}/{pack.name}", "1.0.0")[0] == 404
    after_deletes = Usage.of(instance.registry.id)
    deleted_layers = {pack.outs["layer_digest"] for pack in deleted}
    assert deleted_layers <= after_deletes.blobs, "a delete freed a layer before any garbage collection"
    assert after_deletes.total > after_failed_push.total - sum(pack.outs["layer_size"] for pack in deleted)

    # Maintenance mode. While the registry container is replaced, the proxy stays and answers 502 for a moment.
    with pulling(reader, repository, kept) as switching:
        instance = replace_registry(instance, maintenance_run, janitor, oci_standin_image, volume)
        ready(instance)
        answering = time.monotonic()
        while not switching.pulled_since(answering):
            time.sleep(0.05)
    assert all("502" in failure for _, failure in switching.failures), switching.failures
    gap = (switching.failures[-1][0] - switching.failures[0][0]) if switching.failures else 0.0

    # Pulls answer; pushes are refused with the reason, by the program before any request.
    for pack in kept:
        assert pull(reader, repository, pack.name) == (pack.manifest, pack.layer)
    refused = provider.check({}, pack_inputs(maintenance_run, failed_push[0]["name"], instance.url))
    assert [failure.reason for failure in refused.failures] == [
        f"pack {failed_push[0]['name']}:1.0.0 is not published: config key 'palette-pack-registry:maintenanceReadOnly' "
        "is true, so the registry refuses pushes. Publish it after the maintenance: `pulumi config set "
        "maintenanceReadOnly false`, then `pulumi up`."
    ]
    with pytest.raises(OciError, match=r"405 .*read-only maintenance mode") as direct:
        provider.create(failed_push[0])
    assert direct.value.status == 405
    answer = instance.admin().request("POST", f"/v2/{repository}/{failed_push[0]['name']}/blobs/uploads/", body=b"")
    assert (answer.status, answer.headers["allow"], answer.body.decode()) == (405, READ_ONLY_ALLOW, READ_ONLY_BODY)
    # A method the route never takes is not blamed on the maintenance.
    answer = instance.admin().request("PUT", "/v2/_catalog", body=b"")
    assert (answer.status, answer.headers["allow"], answer.body.decode()) == (405, "GET", UNSUPPORTED_BODY)

    # Garbage collection, with the command the stack exports, while a reader pulls every kept pack.
    command = shlex.split(maintenance_run.exports["garbageCollectCommand"])
    assert command[:5] == ["docker", "-H", "unix:///var/run/docker.sock", "exec", CONFIG["containerName"]]
    assert command[5:] == ["registry", "garbage-collect", "--delete-untagged", CONFIG_FILE]
    with pulling(reader, repository, kept) as puller:
        collect_started = time.monotonic()
        collected = docker("exec", instance.registry.id, *command[5:], timeout=600)
        collect_ended = time.monotonic()
    assert not puller.failures, puller.failures
    during_collection = sum(1 for start, end in puller.pulls if start < collect_ended and end > collect_started)
    assert during_collection > 0, "no pull overlapped the garbage collection"
    after_collection = Usage.of(instance.registry.id)
    assert not deleted_layers & after_collection.blobs, collected[-2000:]
    assert {pack.outs["layer_digest"] for pack in kept} <= after_collection.blobs
    assert after_collection.total <= after_deletes.total - sum(pack.outs["layer_size"] for pack in deleted)
    # Collection leaves unfinished uploads to the purger.
    assert after_collection.uploads == after_deletes.uploads == after_failed_push.uploads > 0
    for pack in kept:
        assert pull(reader, repository, pack.name) == (pack.manifest, pack.layer)
    maintenance_log = instance.registry.logs("all")

    # Back to normal: the push that found the volume full now fits, and every kept pack is still there.
    instance = replace_registry(instance, deployed_run, janitor, oci_standin_image, volume)
    ready(instance)
    provider.create(provider.check({}, failed_push[0]).inputs)
    for pack in kept:
        assert pull(reader, repository, pack.name) == (pack.manifest, pack.layer)
    # Both registries took the upload purge the program sets (distribution panics at start on a malformed one).
    for registry_log in (maintenance_log, instance.registry.logs("all")):
        assert "Starting upload purge in" in registry_log, registry_log[-2000:]

    print(
        f"\ndisk space, {VOLUME_MIB} MiB tmpfs, packs of {PAYLOAD_MIB} MiB: {len(published)} pushed, the next failed; "
        f"bytes stored after the failed push {after_failed_push.total} ({after_failed_push.uploads} in unfinished "
        f"uploads), after deleting {len(deleted)} packs {after_deletes.total}, after garbage collection "
        f"{after_collection.total}; {during_collection} pulls overlapped the collection "
        f"({collect_ended - collect_started:.2f} s), none failed; switching the registry container: "
        f"{len(switching.failures)} pulls answered 502 over {gap:.2f} s"
    )
