"""Packs as code end to end, on an OCI registry the test starts itself (not the program): the program's
declared gate, Packs and Palette registration, each run by its own provider in the engine's order, against a
real registry (the stand-in, TLS and bcrypt htpasswd) and the Palette fake.

The engine runs each changed step once what it declared it waits for is done (tests/support/engine_model.py
``execute``) and hands a resource the outputs of those it depends on. The mocks cannot know what the
real providers return, so the one input built from other resources' outputs, the registration's
``sync_trigger``, is built again here from the real Packs' outputs, the way the program builds it
(``components.pack_registry._digest_of`` of every pack's ``PUBLISHED`` outputs).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from components.pack_registry import PUBLISHED, _digest_of
from components.packs import PackProvider
from components.palette import PackRegistryProvider
from components.readiness import ReadinessGateProvider
from tests.support import docker_support
from tests.support.engine_model import execute
from tests.support.harness import PALETTE, READINESS, MockState, ProgramRun, Recorded, run_program
from tests.support.pack_push_support import SERVER_NAME, OciRegistry, start_oci_registry
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
    return {
        "registryKind": "oci",
        "ociEndpoint": f"https://{SERVER_NAME}:{registry.container.host_port}",
        "ociCaCertificate": registry.ca_certificate,
        "ociPushUser": registry.username,
        "ociPushPassword": registry.password,
        # The stand-in has one user: Palette uses the push user, named explicitly (the program warns).
        "paletteUser": registry.username,
        "readinessUrl": registry.url,
        "paletteApiUrl": palette.url,
        "paletteApiKey": palette.api_key,
        "packs": [str(pack_dir)],
    }


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

        # 3. A file of the pack changed: the same tag pushed again, then one sync and no PUT.
        (pack_dir / "values.yaml").write_text((pack_dir / "values.yaml").read_text() + "\n# changed\n")
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
