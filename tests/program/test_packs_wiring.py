"""Packs as code in the program, under Pulumi mocks: which Pack resources it declares, with what, after what,
how the Palette registration learns that packs changed; packs whose name and version join alike, a new data
volume, and what it refuses before anything exists (file names that are not UTF-8, symlink loops, trailing
newlines, an HTTP registry).

Assertions are on the declared inputs and dependencies (what the engine receives).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pulumi
import pytest

from components.packs.archive import pack_content
from components.packs.inputs import check_inputs
from tests.program.test_oci_kind import EXISTING_CONFIG, EXISTING_SECRETS
from tests.support.harness import PALETTE, READINESS, MockState, ProgramRun, run_program
from tests.support.paths import SAMPLE_PACK

PACK = "pulumi-python:dynamic/packs:Pack"
OCI: dict[str, Any] = {"registryKind": "oci", "packs": ["tests/data/packs/hello-universe"]}
PALETTE_ON: dict[str, Any] = {"hosts": ["registry.example.com"], "paletteApiKey": "k" * 24}


@pytest.fixture(scope="module")
def packs_run() -> ProgramRun:
    return run_program({**OCI, **PALETTE_ON}, stack="dev", secrets_={"paletteApiKey"})


def test_each_pack_is_pushed_as_the_admin_through_the_first_instance_with_tls_for_the_endpoint(
    packs_run: ProgramRun,
) -> None:
    pack = packs_run.one(PACK)
    content = pack_content(SAMPLE_PACK)
    assert pack.name == "pack-hello-universe@1.0.0"
    assert (pack.inputs["name"], pack.inputs["version"]) == ("hello-universe", "1.0.0")
    assert pack.inputs["pack_dir"] == str(SAMPLE_PACK)
    assert pack.inputs["content_digest"] == content.content_digest
    assert pack.inputs["files"] == content.files and "pack.json" in content.files
    assert pack.inputs["registry_url"] == packs_run.exports["instanceEndpoints"][0]
    assert pack.inputs["server_name"] == "registry.example.com"
    assert pack.inputs["ca_certificate"] == packs_run.exports["caCertificate"]
    assert pack.inputs["repository"] == "packs/spectro-packs/archive"
    assert pack.inputs["username"] == "admin"
    assert pack.inputs["password"] == packs_run.exports["adminPassword"]
    assert "password" in pack.secret_inputs


def test_packs_are_pushed_once_every_instance_is_ready_and_palette_syncs_after_them(packs_run: ProgramRun) -> None:
    pack = packs_run.one(PACK)
    gates = {gate.urn for gate in packs_run.all(READINESS)}
    assert gates and gates <= set(pack.options["dependencies"])
    registration = packs_run.one(PALETTE)
    assert pack.urn in registration.options["property_dependencies"]["sync_trigger"]
    assert isinstance(registration.inputs["sync_trigger"], str) and len(registration.inputs["sync_trigger"]) == 64


def test_without_packs_the_registration_has_no_sync_trigger() -> None:
    run = run_program({"registryKind": "oci", **PALETTE_ON}, stack="dev", secrets_={"paletteApiKey"})
    assert "sync_trigger" not in run.one(PALETTE).inputs
    assert run.all(PACK) == []


def test_delete_unreachable_reaches_the_packs_and_the_registration_only_when_on(packs_run: ProgramRun) -> None:
    """Off (the default), neither declares it: a stack from before the key keeps exactly its inputs."""
    assert "delete_unreachable" not in packs_run.one(PACK).inputs
    assert "delete_unreachable" not in packs_run.one(PALETTE).inputs
    run = run_program({**OCI, **PALETTE_ON, "deleteUnreachable": True}, stack="dev", secrets_={"paletteApiKey"})
    assert run.one(PACK).inputs["delete_unreachable"] is True
    assert run.one(PALETTE).inputs["delete_unreachable"] is True


def test_packs_with_the_legacy_kind_are_refused_before_anything_exists() -> None:
    with pytest.raises(Exception, match=r"'palette-pack-registry:packs'.*registryKind is legacy.*registryKind oci"):
        run_program({"packs": ["tests/data/packs/hello-universe"]}, stack="dev")


def test_a_pack_without_logo_warns(tmp_path: Path) -> None:
    copy = tmp_path / "hello-universe"
    shutil.copytree(SAMPLE_PACK, copy)
    (copy / "logo.png").unlink()
    run = run_program({**OCI, "packs": [str(copy)]}, stack="dev")
    assert any("logo.png" in message for message in run.warnings)


def test_an_existing_registry_gets_the_packs_pushed_as_its_push_user() -> None:
    config = {**EXISTING_CONFIG, "packs": [str(SAMPLE_PACK)]}
    run = run_program(config, stack="existing", use_stack_file=False, secrets_=EXISTING_SECRETS)
    pack = run.one(PACK)
    assert (pack.inputs["registry_url"], pack.inputs["server_name"]) == ("https://127.0.0.1:8443", "harbor.example.com")
    assert (pack.inputs["username"], pack.inputs["password"]) == ("robot", "push-password-0123456789")
    assert "ca_certificate" not in pack.inputs or pack.inputs["ca_certificate"] is None
    assert run.one(READINESS).urn in pack.options["dependencies"]


# --- what users' packs and the engine make of them ----------------------------------------------------------


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


def test_pack_digests_are_worked_out_after_the_program_returns(monkeypatch: pytest.MonkeyPatch) -> None:
    """The SDK sends no registration before the program returns (pulumi sdk/python/lib/pulumi/runtime/resource.py
    ``register_resource`` schedules each with ``asyncio.ensure_future``), so hashing packs in the program's body
    would keep the engine idle: they are hashed in the event loop afterwards, and still declared as before."""
    import runpy

    from components.pack_registry import component
    from tests.support.paths import ROOT

    returned: list[bool] = [False]
    hashed_after: list[bool] = []
    real = component.pack_content

    def recording(directory: Path) -> Any:
        hashed_after.append(returned[0])
        return real(directory)

    monkeypatch.setattr(component, "pack_content", recording)

    def main() -> None:
        runpy.run_path(str(ROOT / "__main__.py"), run_name="__main__")
        returned[0] = True

    run = run_program({**OCI}, stack="dev", main=main)
    assert hashed_after == [True]
    assert run.one(PACK).inputs["content_digest"] == real(SAMPLE_PACK).content_digest


@pytest.mark.parametrize("problem", ["unreadable", "packignore"])
def test_a_pack_that_cannot_be_read_for_its_digest_fails_in_one_line_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, problem: str
) -> None:
    """The digest is worked out after the checks, once the program has returned: a file that cannot be opened
    then (not readable by the user, which the checks do not try, or gone meanwhile) or a .packignore changed
    meanwhile fails the Pack's registration. The SDK wraps a ``ValueError`` raised there in a plain one with
    the resource's name (pulumi sdk/python/lib/pulumi/runtime/resource.py ``register_resource``: "While
    processing resource ... ValueError has risen"), and the language host prints only a ``RunError`` as one line,
    any other exception as a traceback (sdk/python/cmd/pulumi-language-python-exec); wait_for_rpcs raises the
    failing registration's own exception (runtime/stack.py)."""
    import builtins

    from components.packs import archive, walker

    pack = _pack_copy(tmp_path / "hello-universe")
    real_open = builtins.open
    if problem == "unreadable":

        def refusing(path: Any, *args: Any, **kwargs: Any) -> Any:
            if str(path) == str(pack / "README.md"):
                raise PermissionError(13, "Permission denied", str(path))
            return real_open(path, *args, **kwargs)

        monkeypatch.setattr(archive, "open", refusing, raising=False)
        words = "README.md cannot be read (Permission denied)"
    else:
        checked = walker.exclusions

        def changed_meanwhile(directory: str) -> Any:
            checked(directory)  # what the checks saw
            monkeypatch.setattr(walker, "exclusions", lambda _: (_ for _ in ()).throw(walker.PackIgnoreError("x", "y")))
            return checked(directory)

        monkeypatch.setattr("components.packs.directory.exclusions", changed_meanwhile)
        words = ".packignore x"
    with pytest.raises(Exception) as caught:
        run_program({"registryKind": "oci", "packs": [str(pack)], **PALETTE_ON}, secrets_={"paletteApiKey"})
    message = str(caught.value)
    assert isinstance(caught.value, pulumi.RunError), f"{type(caught.value).__name__}: {message}"
    assert "\n" not in message and f"pack directory '{pack}'" in message and words in message, message
