"""Review tests for packs as code on a real registry and the Palette fake: a pack restored after a refresh
makes Palette sync, and a new address of the registry publishes the pack there (``Engine`` of
``test_packs_end_to_end`` runs the registrations in the engine's order).
"""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import threading
from pathlib import Path
from typing import Any

import pytest

from components.pack_archive import pack_content
from components.packs import PackProvider
from tests.integration.test_packs_end_to_end import PACK, SECRETS, Engine, _config
from tests.support import docker_support
from tests.support.harness import MockState, ProgramRun, run_program
from tests.support.pack_push_support import SERVER_NAME, OciRegistry, start_oci_registry
from tests.support.palette_fake import FakePalette
from tests.support.paths import SAMPLE_PACK

ARCHIVE = "packs/spectro-packs/archive"


pytestmark = pytest.mark.usefixtures("fast_http")


@pytest.fixture
def registry(janitor: docker_support.DockerJanitor, standin_image: str, tmp_path: Path) -> OciRegistry:
    return start_oci_registry(janitor, standin_image, tmp_path)


def _copy(directory: Path, **fields: Any) -> Path:
    shutil.copytree(SAMPLE_PACK, directory)
    _edit(directory, **fields)
    return directory


def _edit(directory: Path, **fields: Any) -> None:
    path = directory / "pack.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    data.update(fields)
    path.write_text(json.dumps(data), encoding="utf-8")


def refresh(engine: Engine) -> None:
    """`pulumi refresh` of the Packs: each one read; a resource whose read answers no id leaves the state."""
    for urn, (id_, outs) in list(engine.state.items()):
        if f"{PACK}::" in urn:
            read = engine.providers[PACK].read(id_, outs)
            if read.id:
                engine.state[urn] = (read.id, read.outs)
            else:
                del engine.state[urn]


@pytest.mark.parametrize("out_of_band", ["deleted", "overwritten"])
def test_a_pack_pushed_again_after_a_refresh_makes_palette_sync(
    registry: OciRegistry, tmp_path: Path, out_of_band: str
) -> None:
    """Someone deletes or overwrites the pack's tag; `pulumi refresh` notices; `pulumi up` pushes the pack
    again (a create, or an update). Palette may have indexed the registry in between (its periodic sync), so it
    must sync after the repair: the issue asks for one sync "after any pack is created, updated or deleted".
    But the sync trigger is a digest of the references and manifest digests, and the repaired pack has the
    very reference and digest the registration saw last: the trigger is unchanged and Palette is not asked."""
    pack = _copy(tmp_path / "hello-universe")
    state = MockState()
    reader = registry.reader()
    repository = f"{ARCHIVE}/hello-universe"
    with FakePalette() as palette:
        config = _config(registry, palette, pack)

        def evaluate() -> ProgramRun:
            return run_program(config, stack="existing", state=state, use_stack_file=False, secrets_=SECRETS)

        engine = Engine(palette)
        engine.up(evaluate())
        status, _, headers = reader.manifest(repository, "1.0.0")
        assert status == 200
        if out_of_band == "deleted":
            assert reader.delete(repository, headers["Docker-Content-Digest"]) == 202
        else:
            reader.push_other(repository, "1.0.0")
        refresh(engine)
        palette.reset_calls()

        changed = engine.up(evaluate())

        assert reader.manifest(repository, "1.0.0")[2].get("Docker-Content-Digest") == headers["Docker-Content-Digest"]
        assert evaluate().one(PACK).urn in changed, "the pack was pushed again"
        assert len(palette.calls("POST", r"/sync$")) == 1, "Palette was not asked to sync after the repair"


class _Forwarder:
    """A TCP port on 127.0.0.1 that forwards to the registry: another address of the same registry, which
    ``close`` takes away (as a port change takes the old container's port away)."""

    def __init__(self, target_port: int) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.target_port = target_port
        self.connections: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            self.connections += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.server.shutdown(socket.SHUT_RDWR)  # wakes the accept: nothing listens there any more
        self.server.close()
        for connection in self.connections:
            with contextlib.suppress(OSError):
                connection.close()


def test_a_new_address_for_the_registry_publishes_the_pack_after_the_old_address_is_gone(
    registry: OciRegistry, tmp_path: Path
) -> None:
    """``registry_url`` is the address this machine reaches the first instance at: it changes with ``port``,
    ``hosts``/``ipAddresses`` or ``readinessUrl``, that is, mostly when the old address stops answering. A
    ``port`` change replaces the container first (delete-before-replace), so by the time the Pack's step runs
    the old port is closed. The provider makes a new registry_url alone a replacement, deleted first
    (``PackProvider.diff``: ``delete_before_replace``), and the engine's delete of the old resource goes to the
    old address (it gets the old state): connection refused, `pulumi up` fails, and every later run again.

    The engine's rule for a replacement (pulumi/pulumi pkg/resource/deploy/step_generator.go): with
    ``deleteBeforeReplace`` the old resource is deleted, then the new one created; else the new one is created
    and the old one deleted at the end. Both deletes go through the old state."""
    pack = _copy(tmp_path / "hello-universe")
    content = pack_content(pack)
    provider = PackProvider()
    old_address = _Forwarder(registry.container.host_port)
    props = {
        "pack_dir": str(pack),
        "name": "hello-universe",
        "version": "1.0.0",
        "content_digest": content.content_digest,
        "files": content.files,
        "registry_url": f"https://127.0.0.1:{old_address.port}",
        "server_name": SERVER_NAME,
        "ca_certificate": registry.ca_certificate,
        "repository": ARCHIVE,
        "username": registry.username,
        "password": registry.password,
    }
    created = provider.create(provider.check({}, props).inputs)
    old_address.close()
    news = provider.check(created.outs, {**props, "registry_url": registry.url}).inputs

    diff = provider.diff(created.id, created.outs, news)
    if diff.replaces and diff.delete_before_replace:
        provider.delete(created.id, created.outs)
        provider.create(news)
    elif diff.replaces:
        provider.create(news)
        provider.delete(created.id, created.outs)
    elif diff.changes:
        provider.update(created.id, created.outs, news)

    assert registry.reader().tags(f"{ARCHIVE}/hello-universe") == ["1.0.0"]
