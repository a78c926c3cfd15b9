"""Packs as code end to end, on an OCI registry the test starts itself (not the program): the program's
declared gate, Packs and Palette registration, each run by its own provider in the engine's order, against a
real registry (the stand-in, TLS and bcrypt htpasswd) and the Palette fake.

The engine runs each changed step once what it declared it waits for is done (tests/support/engine_model.py
``execute``) and hands a resource the outputs of those it depends on. The mocks cannot know what the
real providers return, so the one input built from other resources' outputs, the registration's
``sync_trigger``, is built again here from the real Packs' outputs, the way the program builds it
(``components.pack_registry._digest_of`` of every pack's ``PUBLISHED`` outputs).

Then day two on the same registry: a pack restored after a refresh makes Palette sync, and a new address of the
registry publishes the pack there once the old address is gone.
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

from components.pack_registry.component import PUBLISHED, _digest_of
from components.packs import PackProvider
from components.packs.archive import pack_content
from components.palette import PackRegistryProvider
from components.readiness import ReadinessGateProvider
from tests.support import docker_support
from tests.support.engine_model import execute
from tests.support.harness import PALETTE, READINESS, MockState, ProgramRun, Recorded, run_program
from tests.support.pack_push_support import SERVER_NAME, OciRegistry, existing_registry_config, start_oci_registry
from tests.support.palette_fake import FakePalette
from tests.support.palette_support import configure
from tests.support.paths import SAMPLE_PACK

PACK = "pulumi-python:dynamic/packs:Pack"
SECRETS = {"ociPushPassword", "paletteApiKey"}
REPOSITORY = "packs/spectro-packs/archive/hello-universe"


pytestmark = pytest.mark.usefixtures("fast_http")


class Engine:
    """What the engine remembers of each dynamic resource (id and outputs), and the providers it runs."""

    def __init__(self, palette: FakePalette) -> None:
        self.state: dict[str, tuple[str, dict[str, Any]]] = {}
        self.providers: dict[str, Any] = {
            READINESS: ReadinessGateProvider(),
            PACK: PackProvider(),
            PALETTE: PackRegistryProvider(),
        }
        configure(self.providers[PALETTE], palette.api_key)

    def inputs(self, run: ProgramRun, record: Recorded) -> dict[str, Any]:
        """The record's inputs as the engine sends them: the wire's shape, with the outputs of what it
        depends on (the registration's sync trigger, from the Packs' real outputs)."""
        inputs = {k: v for k, v in record.inputs.items() if v is not None}
        if record.type == PALETTE and "sync_trigger" in inputs:
            packs = [self.state[p.urn][1] for p in run.all(PACK)]
            inputs["sync_trigger"] = _digest_of([p[output] for p in packs for output in PUBLISHED])
        provider = self.providers[record.type]
        checked = provider.check(self.state.get(record.urn, ("", {}))[1], inputs)
        assert [(f.property, f.reason) for f in checked.failures] == [], record.urn
        return checked.inputs

    def up(self, run: ProgramRun) -> list[str]:
        """One `pulumi up`: diff every dynamic resource, create or update what changed, in the engine's order.
        Returns the URNs that changed."""
        changed: list[str] = []

        def act(record: Recorded) -> None:
            if record.type not in self.providers:
                return
            provider = self.providers[record.type]
            news = self.inputs(run, record)
            if record.urn not in self.state:
                created = provider.create(news)
                self.state[record.urn] = (created.id, created.outs)
                changed.append(record.urn)
                return
            id_, olds = self.state[record.urn]
            diff = provider.diff(id_, olds, news)
            if diff.changes:
                assert not diff.replaces, (record.urn, diff.replaces)
                self.state[record.urn] = (id_, provider.update(id_, olds, news).outs)
                changed.append(record.urn)

        execute(run.resources, {r.urn for r in run.resources}, act)
        return changed

    def destroy(self, run: ProgramRun) -> None:
        """`pulumi destroy`: dependents first (the registration, then the packs, then the gate)."""
        for type_ in (PALETTE, PACK, READINESS):
            for record in run.all(type_):
                id_, outs = self.state.pop(record.urn)
                self.providers[type_].delete(id_, outs)


@pytest.fixture
def registry(janitor: docker_support.DockerJanitor, standin_image: str, tmp_path: Path) -> OciRegistry:
    return start_oci_registry(janitor, standin_image, tmp_path)


def _config(registry: OciRegistry, palette: FakePalette, pack_dir: Path) -> dict[str, Any]:
    return existing_registry_config(registry, palette.url, palette.api_key, [pack_dir])


def test_packs_are_published_to_an_existing_registry_and_palette_syncs_once_per_change(
    registry: OciRegistry, tmp_path: Path
) -> None:
    pack_dir = tmp_path / "hello-universe"
    shutil.copytree(SAMPLE_PACK, pack_dir)
    state = MockState()
    with FakePalette() as palette:
        config = _config(registry, palette, pack_dir)

        def evaluate() -> ProgramRun:
            return run_program(config, stack="existing", state=state, use_stack_file=False, secrets_=SECRETS)

        first = evaluate()
        assert not [r for r in first.resources if r.type.startswith(("docker:", "tls:", "random:"))]
        assert any("push user 'admin'" in message for message in first.warnings)
        engine = Engine(palette)

        # 1. The first `pulumi up`: the gate, the pack pushed, the registration created (which syncs).
        engine.up(first)
        reader = registry.reader()
        status, body, _ = reader.manifest(REPOSITORY, "1.0.0")
        assert status == 200 and b"hello-universe-1.0.0.tar.gz" in body
        (registration,) = palette.named(first.one(PALETTE).inputs["name"], kind="oci")
        assert registration["spec"]["endpoint"] == config["ociEndpoint"]
        assert registration["spec"]["baseContentPath"] == "packs"
        assert len(palette.calls("POST", r"/sync$")) == 0, "a new registration syncs by itself"

        # 2. Nothing changed: no registry call, no Palette call.
        palette.reset_calls()
        before = registry.request_count()
        assert engine.up(evaluate()) == []
        assert palette.requests == []
        assert registry.request_count() == before

        # 3. A file of the pack changed under the same version, with packsAllowOverwrite (refused otherwise:
        # tests/packs/test_published_versions.py): the same tag pushed again, then one sync and no PUT.
        (pack_dir / "values.yaml").write_text((pack_dir / "values.yaml").read_text() + "\n# changed\n")
        config["packsAllowOverwrite"] = "true"
        palette.reset_calls()
        third = evaluate()
        changed = engine.up(third)
        assert set(changed) == {third.one(PACK).urn, third.one(PALETTE).urn}
        assert [c.target for c in palette.requests if c.method != "GET"] == [
            f"POST /v1/registries/oci/{registration['metadata']['uid']}/basic/sync"
        ]
        status, body, _ = reader.manifest(REPOSITORY, "1.0.0")
        assert status == 200
        pushed = engine.state[third.one(PACK).urn][1]["manifest_digest"]
        assert reader.manifest(REPOSITORY, pushed)[0] == 200

        # 4. `pulumi destroy`: the registration and the pack's manifest are gone.
        engine.destroy(third)
        assert palette.named(first.one(PALETTE).inputs["name"], kind="oci") == []
        assert reader.manifest(REPOSITORY, "1.0.0")[0] == 404


# --- day two: a refresh, a new address -------------------------------------------------------------------------

ARCHIVE = "packs/spectro-packs/archive"


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
    must sync after the repair, as after any pack created, updated or deleted.
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
