"""The provider as Pulumi stores it: pickled with dill into the state, unpickled in another process."""

from __future__ import annotations

import base64
import json
import os
import pickletools
import subprocess
import sys
import textwrap

import dill
from pulumi.dynamic.dynamic import serialize_provider

from components.palette import PackRegistryProvider
from tests.support.palette_fake import FakePalette
from tests.support.palette_support import FAST_HTTP_ENV, KINDS, Kind, configure
from tests.support.paths import ROOT

NAME = "custom-packs"


# Runs in a fresh interpreter: unpickle what the state holds, configure as the host does, then work.
ROUND_TRIP = textwrap.dedent(
    """
    import base64, json, sys
    import dill
    from pulumi.dynamic import Config, ConfigureRequest

    job = json.loads(sys.stdin.read())
    provider = dill.loads(base64.b64decode(job["serialized"]))
    provider.configure(ConfigureRequest(Config(raw_config={}, project_name="palette-pack-registry")))
    checked = provider.check({}, {**job["props"], "__provider": job["serialized"]})
    assert not checked.failures, [(f.property, f.reason) for f in checked.failures]
    result = provider.create(checked.inputs)
    print(json.dumps({"class": type(provider).__module__ + "." + type(provider).__name__,
                      "state": vars(provider), "uid": result.id}))
    """
)


def serialized_after_use(palette: FakePalette, monkeypatch, kind: Kind = KINDS["legacy"]) -> tuple[str, dict]:
    """Serialize a provider that was configured with the key and has created a registration."""
    monkeypatch.setenv("PALETTE_API_KEY", palette.api_key)
    for key, value in FAST_HTTP_ENV.items():
        monkeypatch.setenv(key, value)
    provider = PackRegistryProvider()
    configure(provider, palette.api_key)
    props = kind.declared(palette.url, name="used-before")
    try:
        checked = provider.check({}, {**props, "__provider": "x"})
        provider.create(checked.inputs)
        return serialize_provider(provider), props
    finally:
        configure(provider, None)


def test_the_provider_pickles_by_reference_without_secrets(palette, monkeypatch, kind):
    serialized, props = serialized_after_use(palette, monkeypatch, kind)
    raw = base64.b64decode(serialized)

    for secret in (palette.api_key, props["password"]):
        assert secret.encode() not in raw
        assert secret not in serialized
    # A reference to the class and an empty instance, nothing else: no code, no globals, no state.
    assert b"components.palette" in raw and b"PackRegistryProvider" in raw
    assert len(raw) < 120
    opcodes = {op.name for op, _, _ in pickletools.genops(raw)}
    assert opcodes.isdisjoint({"BUILD", "SETITEM", "SETITEMS", "REDUCE"}), opcodes
    assert vars(dill.loads(raw)) == {}


def test_serializing_is_deterministic(palette, monkeypatch, kind):
    # A different string on every run would show the resource as changed on every `pulumi up`.
    first, _ = serialized_after_use(palette, monkeypatch, kind)
    assert serialize_provider(PackRegistryProvider()) == first


def test_a_fresh_interpreter_unpickles_it_and_it_works(palette, monkeypatch, kind):
    serialized, _ = serialized_after_use(palette, monkeypatch, kind)
    props = kind.declared(palette.url)
    env = {**os.environ, **FAST_HTTP_ENV, "PALETTE_API_KEY": palette.api_key}

    done = subprocess.run(
        [sys.executable, "-c", ROUND_TRIP],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        input=json.dumps({"serialized": serialized, "props": props}),
    )

    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["class"] == "components.palette.PackRegistryProvider"
    assert result["state"] == {}
    (stored,) = palette.named(NAME)
    assert stored["metadata"]["uid"] == result["uid"]
    assert palette.kind_of(result["uid"]) == kind.name
    assert stored["spec"]["auth"]["password"] == props["password"]
    for text in (done.stdout, done.stderr):
        assert palette.api_key not in text and props["password"] not in text


def test_it_needs_the_project_on_the_path_because_it_is_a_reference(palette, monkeypatch, tmp_path):
    serialized, _ = serialized_after_use(palette, monkeypatch)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}

    done = subprocess.run(
        [sys.executable, "-c", ROUND_TRIP],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        input=json.dumps({"serialized": serialized, "props": {}}),
    )

    assert done.returncode != 0
    assert "No module named 'components'" in done.stderr
