"""Review tests for packs as code with the engine's order of deletes, on a real registry and the Palette fake.

The engine deletes a resource the program no longer declares (a removed pack, or the old name of a pack whose
version changed: the program names Packs ``pack-<name>-<version>``) only once every registration of the run is
done: pulumi/pulumi ``pkg/resource/deploy/deployment_executor.go`` ``Execute`` calls ``performDeletes`` after
the source iterator is exhausted, and ``performDeletes`` runs ``stepGen.GenerateDeletes`` for what the
program did not register. ``Engine.up`` of ``test_packs_end_to_end`` runs the registrations in the declared
order; ``up_and_delete`` below adds that last phase.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import shutil
import socket
import subprocess
import threading
from pathlib import Path
from typing import Any

import bcrypt
import pytest

from components.pack_archive import pack_content
from components.packs import PackProvider
from tests import docker_support
from tests.harness import PALETTE, MockState, ProgramRun, run_program
from tests.pack_push_support import SERVER_NAME, OciRegistry, start_oci_registry
from tests.palette_fake import FakePalette
from tests.palette_support import FAST_HTTP_ENV
from tests.test_packs_end_to_end import PACK, SAMPLE, SECRETS, Engine, _config

pytestmark = pytest.mark.integration

docker_engine = docker_support.docker_engine
standin_image = docker_support.standin_image
janitor = docker_support.janitor

ARCHIVE = "packs/spectro-packs/archive"


@pytest.fixture(autouse=True)
def fast_http(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in FAST_HTTP_ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("PALETTE_API_KEY", raising=False)


@pytest.fixture
def registry(janitor: docker_support.DockerJanitor, standin_image: str, tmp_path: Path) -> OciRegistry:
    return start_oci_registry(janitor, standin_image, tmp_path)


class _SeeingPalette:
    """The registration's provider, noting what the registry holds at the moment each update (a sync) starts."""

    def __init__(self, provider: Any, look: Any) -> None:
        self.provider = provider
        self.look = look
        self.seen_at_update: list[Any] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.provider, name)

    def update(self, *args: Any) -> Any:
        self.seen_at_update.append(self.look())
        return self.provider.update(*args)


def up_and_delete(engine: Engine, run: ProgramRun) -> None:
    """One `pulumi up`: the registrations in the declared order, then the deletes of what the program no
    longer declares (``performDeletes``)."""
    engine.up(run)
    declared = {record.urn for record in run.resources}
    for urn in [urn for urn in engine.state if urn not in declared]:
        id_, outs = engine.state.pop(urn)
        engine.providers[PACK].delete(id_, outs)


def _copy(directory: Path, **fields: Any) -> Path:
    shutil.copytree(SAMPLE, directory)
    _edit(directory, **fields)
    return directory


def _edit(directory: Path, **fields: Any) -> None:
    path = directory / "pack.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    data.update(fields)
    path.write_text(json.dumps(data), encoding="utf-8")


@pytest.mark.parametrize("change", ["remove a pack", "bump a version"])
def test_palette_syncs_after_the_old_manifest_is_deleted(registry: OciRegistry, tmp_path: Path, change: str) -> None:
    """After a pack is removed, or its version bumped, Palette must sync once what the registry holds is final.
    The registration's ``sync_trigger`` changes (a reference left the list), so its update syncs: but that
    update is a registration step, and the old Pack's delete only runs after every registration. Palette
    indexes the registry while the old manifest is still there and keeps listing the removed pack (or the old
    version) until the next change: a no-change `pulumi up` makes no Palette call."""
    kept = _copy(tmp_path / "hello-universe")
    other = _copy(tmp_path / "other-pack", name="other-pack")
    state = MockState()
    reader = registry.reader()
    with FakePalette() as palette:
        config = _config(registry, palette, kept)

        def evaluate(packs: list[Path]) -> ProgramRun:
            return run_program(
                {**config, "packs": [str(p) for p in packs]},
                stack="existing",
                state=state,
                use_stack_file=False,
                secrets_=SECRETS,
            )

        engine = Engine(palette)
        up_and_delete(engine, evaluate([kept, other]))
        assert reader.tags(f"{ARCHIVE}/other-pack") == ["1.0.0"]

        if change == "remove a pack":
            packs, gone = [kept], ("other-pack", "1.0.0")
        else:
            _edit(other, version="1.0.1")
            packs, gone = [kept, other], ("other-pack", "1.0.0")
        seeing = _SeeingPalette(engine.providers[PALETTE], lambda: reader.tags(f"{ARCHIVE}/{gone[0]}"))
        engine.providers[PALETTE] = seeing
        palette.reset_calls()
        up_and_delete(engine, evaluate(packs))

        assert gone[1] not in reader.tags(f"{ARCHIVE}/{gone[0]}"), "the old manifest is deleted in the end"
        assert len(palette.calls("POST", r"/sync$")) == 1, "one sync for the change"
        assert seeing.seen_at_update, "the registration was updated (its sync_trigger changed)"
        assert gone[1] not in seeing.seen_at_update[-1], (
            f"Palette synced while {gone[0]}:{gone[1]} was still in the registry (tags {seeing.seen_at_update[-1]})"
        )


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


def _set_password(registry: OciRegistry, password: str, tmp_path: Path) -> None:
    """The registry's admin password becomes ``password`` (distribution re-reads its htpasswd file when its
    mtime changes: registry/auth/htpasswd/access.go ``Authorized``)."""
    hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=10)).decode()
    file = tmp_path / "htpasswd"
    file.write_text(f"{registry.username}:{hashed}\n")
    file.chmod(0o444)
    subprocess.run(["docker", "cp", str(file), f"{registry.container.id}:/auth/htpasswd"], check=True, timeout=60)


def test_a_pack_removed_in_the_run_that_changes_the_push_password_is_still_deleted(
    registry: OciRegistry, tmp_path: Path
) -> None:
    """The engine deletes a resource with the inputs and outputs its state holds (``performDeletes`` sends the
    old state to the provider's Delete): for a removed Pack, the password of the last run that updated it. A run
    that changes the push password (ociPushPassword here; a rotation of the deployed registry's admin password
    the same way) updates every Pack still declared (``password`` is a record-only input) but not the removed
    one: its delete logs in with the old password, the registry answers 401 and `pulumi up` fails, on every
    later run too, since nothing ever updates that state again."""
    kept = _copy(tmp_path / "hello-universe")
    other = _copy(tmp_path / "other-pack", name="other-pack")
    state = MockState()
    with FakePalette() as palette:
        config = _config(registry, palette, kept)

        def evaluate(packs: list[Path], password: str) -> ProgramRun:
            return run_program(
                {**config, "ociPushPassword": password, "packs": [str(p) for p in packs]},
                stack="existing",
                state=state,
                use_stack_file=False,
                secrets_=SECRETS,
            )

        engine = Engine(palette)
        up_and_delete(engine, evaluate([kept, other], registry.password))
        new_password = "Rotated-" + secrets.token_urlsafe(18)
        _set_password(registry, new_password, tmp_path)

        up_and_delete(engine, evaluate([kept], new_password))

        assert registry.reader(new_password).tags(f"{ARCHIVE}/other-pack") == []


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
