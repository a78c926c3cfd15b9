"""Review tests for packs as code: what a user's packs and the Pulumi engine do that the first tests missed.

Each test stands for one finding; it fails until the product handles the case.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from components.pack_inputs import check_inputs
from tests.support.harness import MockState, run_program
from tests.support.paths import SAMPLE_PACK

PACK = "pulumi-python:dynamic/packs:Pack"


def _pack_copy(directory: Path, **fields: Any) -> Path:
    shutil.copytree(SAMPLE_PACK, directory)
    path = directory / "pack.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    data.update(fields)
    path.write_text(json.dumps(data), encoding="utf-8")
    return directory


def test_two_packs_whose_name_and_version_join_to_the_same_string_get_distinct_resource_names(
    tmp_path: Path,
) -> None:
    """``a-b`` 1 and ``a`` b-1 are two different tags (``a-b:1``, ``a:b-1``), both accepted by the checks, but
    the program names both Packs ``pack-a-b-1``. The engine refuses a second registration with the same URN
    (pulumi/pulumi ``pkg/diag/errors.go`` ``GetDuplicateResourceURNError``: "Duplicate resource URN '...'; try
    giving it a unique name", raised by ``pkg/resource/deploy/step_generator.go``), so ``pulumi up`` fails
    with a message that names no config key. The mocks do not enforce URN uniqueness: check it here."""
    one = _pack_copy(tmp_path / "one", name="a-b", version="1")
    two = _pack_copy(tmp_path / "two", name="a", version="b-1")
    run = run_program({"registryKind": "oci", "packs": [str(one), str(two)]}, stack="dev")
    urns = [pack.urn for pack in run.all(PACK)]
    assert len(urns) == 2
    assert len(set(urns)) == 2, f"two Packs share the URN {urns[0]}"


def test_a_new_data_volume_makes_the_packs_push_again() -> None:
    """``dataVolume`` names where the registry keeps its data: a new one (or ``storage: s3``, a new bucket) is
    an empty registry once the container is replaced. Nothing in a Pack's inputs says where the data lives,
    so the engine sees the Packs unchanged (``PackProvider.diff`` compares inputs only), pushes nothing, and
    the stack records packs that the registry no longer has, until someone runs ``pulumi refresh``."""
    base = {"registryKind": "oci", "packs": ["tests/data/packs/hello-universe"]}
    state = MockState()
    before = run_program({**base, "dataVolume": "packs-data-a"}, stack="dev", state=state).one(PACK)
    after = run_program({**base, "dataVolume": "packs-data-b"}, stack="dev", state=state).one(PACK)
    assert before.inputs["password"] == after.inputs["password"], "the same stack state: only the volume moved"
    changed = sorted(
        key for key in before.inputs.keys() | after.inputs.keys() if before.inputs.get(key) != after.inputs.get(key)
    )
    assert changed, "no Pack input changes when the registry's data moves to an empty volume: nothing is pushed"


def test_a_file_name_that_is_not_utf8_is_refused_naming_packs_and_the_file(tmp_path: Path) -> None:
    """Linux file names are bytes: a file written by a Latin-1 tool (``caf\\xe9.yaml``) passes every check,
    ``pack_content`` keys it as ``manifests/caf\\udce9.yaml`` (surrogateescape), and the Pack's ``files`` input
    cannot be serialised (Pulumi inputs travel as protobuf ``Struct``s, whose strings must be UTF-8):
    ``pulumi up`` fails with "ValueError has risen: 'utf-8' codec can't encode character '\\udce9'", which
    names neither ``packs`` nor the file. Palette (Go, UTF-8 names) could not show the file either."""
    pack = _pack_copy(tmp_path / "hello-universe")
    with open(os.path.join(os.fsencode(pack / "manifests"), b"caf\xe9.yaml"), "wb") as file:
        file.write(b"a: 1\n")
    with pytest.raises(Exception, match=r"'palette-pack-registry:packs'.*hello-universe.*manifests/caf") as raised:
        run_program({"registryKind": "oci", "packs": [str(pack)]}, stack="dev")
    assert "surrogates" not in str(raised.value)


def test_a_symlink_loop_inside_a_pack_is_refused_naming_packs_and_the_link(tmp_path: Path) -> None:
    """``manifests/loop -> loop`` (a link to itself, or two links to each other) stays inside the pack by its
    text, but ``_check_tree`` resolves it with ``Path.resolve()``, which raises ``RuntimeError: Symlink loop
    from '...'`` (Python 3.11; ``OSError`` from 3.13): the program stops with a traceback that names no config
    key, not the one-line refusal naming ``packs``, the directory and the file."""
    pack = _pack_copy(tmp_path / "hello-universe")
    (pack / "manifests" / "loop").symlink_to("loop")
    with pytest.raises(Exception, match=r"'palette-pack-registry:packs'.*hello-universe.*manifests/loop"):
        run_program({"registryKind": "oci", "packs": [str(pack)]}, stack="dev")


def test_packs_on_an_http_registry_are_refused_before_anything_exists() -> None:
    """``tlsMode: http`` (with ``allowInsecureHttp``) passes the config checks with ``packs`` set, and the program
    declares each Pack with ``registry_url`` ``http://...``. The Pack provider's own check refuses anything
    but https (``pack_inputs.check_inputs``), so `pulumi preview` fails on every Pack with "registry_url
    'http://localhost:5443' is not an https:// base URL": an input of a resource, not a config key the user
    set. The issue wants refusals before any resource exists, naming the key."""
    config = {"registryKind": "oci", "tlsMode": "http", "allowInsecureHttp": True, "packs": [str(SAMPLE_PACK)]}
    with pytest.raises(Exception, match=r"'palette-pack-registry:(packs|tlsMode)'"):
        run = run_program(config, stack="dev")
        failures = check_inputs(run.one(PACK).inputs)
        raise AssertionError(
            f"the program ran; the Pack's check then says {[(f.property, f.reason) for f in failures]}"
        )


@pytest.mark.parametrize(("field", "value"), [("version", "1.0.0\n"), ("name", "hello-universe\n")])
def test_a_name_or_version_with_a_trailing_newline_is_refused(tmp_path: Path, field: str, value: str) -> None:
    """``^...$`` lets ``$`` match before a final newline (Python ``re``: "matches at the end of the string or
    just before the newline at the end of the string"), so ``_NAME``/``_VERSION`` accept ``"1.0.0\\n"`` (a
    version a script read from a VERSION file with ``read()``). The tag then carries the newline: the
    registry refuses it at push time (distribution's tag grammar has no newline), naming no config key."""
    pack = _pack_copy(tmp_path / "hello-universe", **{field: value})
    with pytest.raises(Exception, match=rf"'palette-pack-registry:packs'.*{field}"):
        run_program({"registryKind": "oci", "packs": [str(pack)]}, stack="dev")
