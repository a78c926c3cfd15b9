"""The `packs` key: every refusal of a pack directory, one line naming `packs`, the directory and the file."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from components.config.source import ConfigError, Raw
from components.kinds import KINDS, LEGACY, OCI
from components.packs.directory import parse_packs
from components.project import declared_config
from tests.packs.test_file_shapes import DOCUMENTED_PRESETS, DOCUMENTED_SCHEMA
from tests.support.paths import SAMPLE_PACK

KEY = "palette-pack-registry:packs"


def raw_for(entries: list[str] | None) -> Raw:
    def get(key: str) -> str | None:
        return json.dumps(entries) if key == "packs" and entries is not None else None

    return Raw(get, declared_config())


def copy_sample(project: Path, entry: str = "packs/hello") -> Path:
    target = project / entry
    shutil.copytree(SAMPLE_PACK, target, symlinks=True)
    return target


def edit_pack_json(pack: Path, **changes: object) -> None:
    data = json.loads((pack / "pack.json").read_text())
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    (pack / "pack.json").write_text(json.dumps(data))


def _no_charts_no_manifests(pack: Path) -> None:
    shutil.rmtree(pack / "manifests")
    edit_pack_json(pack, kubeManifests=None)


def _escaping_symlink(pack: Path) -> None:
    (pack.parent / "secret.txt").write_text("outside")
    os.symlink("../../secret.txt", pack / "manifests" / "leak.yaml")


def _absolute_symlink(pack: Path) -> None:
    os.symlink(str(pack / "values.yaml"), pack / "manifests" / "abs.yaml")


def _manifest_outside(pack: Path) -> None:
    (pack.parent / "outside.yaml").write_text("kind: Secret\n")
    edit_pack_json(pack, kubeManifests=["../outside.yaml"])


def _manifest_through_a_linked_directory(pack: Path) -> None:
    outside = pack.parent / "outside"
    outside.mkdir()
    (outside / "app.yaml").write_text("kind: Secret\n")
    os.symlink("../outside", pack / "ext")
    edit_pack_json(pack, kubeManifests=["ext/app.yaml"])


def _fifo(pack: Path) -> None:
    os.mkfifo(pack / "manifests" / "pipe")


# (case, change to the sample pack, file named, literal fragment of the problem)
REFUSALS: list[tuple[str, Callable[[Path], None], str, str]] = [
    ("no pack.json", lambda p: (p / "pack.json").unlink(), "pack.json", "pack.json is missing"),
    ("unparsable pack.json", lambda p: (p / "pack.json").write_text("{name: x"), "pack.json", "is not valid JSON"),
    ("pack.json not an object", lambda p: (p / "pack.json").write_text("[]"), "pack.json", "is not a JSON object"),
    ("no name", lambda p: edit_pack_json(p, name=None), "pack.json", "has no 'name'"),
    ("no displayName", lambda p: edit_pack_json(p, displayName=None), "pack.json", "has no 'displayName'"),
    ("no version", lambda p: edit_pack_json(p, version=None), "pack.json", "has no 'version'"),
    ("no layer", lambda p: edit_pack_json(p, layer=None), "pack.json", "has no 'layer'"),
    ("empty name", lambda p: edit_pack_json(p, name=" "), "pack.json", "has no 'name'"),
    ("unknown layer", lambda p: edit_pack_json(p, layer="app"), "pack.json", "has layer 'app'"),
    ("addon without addonType", lambda p: edit_pack_json(p, addonType=None), "pack.json", "without 'addonType'"),
    (
        "cloudTypes a string",
        lambda p: edit_pack_json(p, cloudTypes="all"),
        "pack.json",
        "has cloudTypes that is not a list of strings",
    ),
    (
        "cloudTypes with a number",
        lambda p: edit_pack_json(p, cloudTypes=["all", 3]),
        "pack.json",
        "has cloudTypes[1] that is not a string",
    ),
    (
        "upper-case name",
        lambda p: edit_pack_json(p, name="Hello-Universe"),
        "pack.json",
        "name 'Hello-Universe', which cannot be a repository path component",
    ),
    (
        "name with a space",
        lambda p: edit_pack_json(p, name="hello universe"),
        "pack.json",
        "cannot be a repository path component",
    ),
    (
        "name with a double dash start",
        lambda p: edit_pack_json(p, name="-hello"),
        "pack.json",
        "cannot be a repository path component",
    ),
    (
        "version with a plus",
        lambda p: edit_pack_json(p, version="1.0.0+build"),
        "pack.json",
        "version '1.0.0+build', which is not a valid tag",
    ),
    (
        "version starting with a dot",
        lambda p: edit_pack_json(p, version=".1"),
        "pack.json",
        "is not a valid tag",
    ),
    ("version too long", lambda p: edit_pack_json(p, version="1" * 129), "pack.json", "is not a valid tag"),
    ("no values.yaml", lambda p: (p / "values.yaml").unlink(), "values.yaml", "values.yaml is missing"),
    (
        "invalid values.yaml",
        lambda p: (p / "values.yaml").write_text("pack: [unclosed\n"),
        "values.yaml",
        "is not valid YAML",
    ),
    (
        # The pure loader recurses once per level (components/config/values_yaml.py): Python's RecursionError.
        "values.yaml nested too deeply",
        lambda p: (p / "values.yaml").write_text("a: " + "[" * 3000 + "]" * 3000 + "\n"),
        "values.yaml",
        "is nested too deeply to read",
    ),
    (
        "values.yaml a list",
        lambda p: (p / "values.yaml").write_text("- a\n- b\n"),
        "values.yaml",
        "is not a YAML mapping",
    ),
    ("neither manifests nor charts", _no_charts_no_manifests, "manifests/ or charts/", "is missing"),
    (
        "kubeManifests entry missing",
        lambda p: edit_pack_json(p, kubeManifests=["manifests/nope.yaml"]),
        "manifests/nope.yaml",
        "(listed in pack.json kubeManifests) does not exist",
    ),
    (
        "kubeManifests entry leaving the pack",
        _manifest_outside,
        "../outside.yaml",
        "(listed in pack.json kubeManifests) does not exist",
    ),
    (
        "kubeManifests entry through a symlinked directory out of the pack",
        _manifest_through_a_linked_directory,
        "ext/app.yaml",
        "(listed in pack.json kubeManifests) does not exist",
    ),
    (
        "kubeManifests entry naming a directory",
        lambda p: edit_pack_json(p, kubeManifests=["manifests"]),
        "'packs/hello': manifests (listed",
        "(listed in pack.json kubeManifests) does not exist",
    ),
    (
        "kubeManifests not a list",
        lambda p: edit_pack_json(p, kubeManifests="manifests/hello-universe.yaml"),
        "pack.json",
        "has kubeManifests that is not a list of strings",
    ),
    (
        "symlink out of the pack",
        _escaping_symlink,
        "manifests/leak.yaml",
        "is a symlink to '../../secret.txt', which leaves the pack directory",
    ),
    ("absolute symlink", _absolute_symlink, "manifests/abs.yaml", "which leaves the pack directory"),
    ("a named pipe", _fifo, "manifests/pipe", "is neither a file, a directory nor a symlink"),
]


def write(pack: Path, relative: str, text: str) -> None:
    (pack / relative).parent.mkdir(parents=True, exist_ok=True)
    (pack / relative).write_text(text)


def _dependency(**overrides: object) -> dict[str, object]:
    dependency: dict[str, object] = {
        "packName": "kubernetes",
        "layer": "k8s",
        "minVersion": "1.27.0",
        "type": "required",
    }
    dependency.update(overrides)
    return {key: value for key, value in dependency.items() if value is not None}


PRESET = """\
- name: small
  displayName: Small
  group: size
  remove: ["app.replicas"]
  add: |
    app:
      replicas: 1
"""


# Spectro's documented shapes, broken one field at a time (components/packs/schemas/*.schema.json).
SHAPE_REFUSALS: list[tuple[str, Callable[[Path], None], str, str]] = [
    (
        "leading v",
        lambda p: edit_pack_json(p, version="v1.0.0"),
        "pack.json",
        "has version 'v1.0.0', with a leading 'v'",
    ),
    (
        "unknown cloud",
        lambda p: edit_pack_json(p, cloudTypes=["moon"]),
        "pack.json",
        "has cloudTypes[0] 'moon', which Palette does not know",
    ),
    (
        "annotation a number",
        lambda p: edit_pack_json(p, annotations={"replicas": 3}),
        "pack.json",
        "has annotations.replicas that is not a string",
    ),
    (
        "annotations a list",
        lambda p: edit_pack_json(p, annotations=["a"]),
        "pack.json",
        "has annotations that is not a mapping of strings",
    ),
    (
        "addonSubType a number",
        lambda p: edit_pack_json(p, addonSubType=1),
        "pack.json",
        "has addonSubType that is not a string",
    ),
    ("empty addonType", lambda p: edit_pack_json(p, addonType=""), "pack.json", "has no 'addonType'"),
    ("group a list", lambda p: edit_pack_json(p, group=["LTS"]), "pack.json", "has group that is not a string"),
    (
        "constraints a list",
        lambda p: edit_pack_json(p, constraints=[]),
        "pack.json",
        "has constraints that is not a mapping",
    ),
    (
        "dependency of an unknown type",
        lambda p: edit_pack_json(p, constraints={"dependencies": [_dependency(type="sometimes")]}),
        "pack.json",
        "has constraints.dependencies[0].type 'sometimes', which Palette does not know",
    ),
    (
        "dependency without packName",
        lambda p: edit_pack_json(p, constraints={"dependencies": [_dependency(), _dependency(packName=None)]}),
        "pack.json",
        "has no 'constraints.dependencies[1].packName'",
    ),
    (
        "dependency on an unknown layer",
        lambda p: edit_pack_json(p, constraints={"dependencies": [_dependency(layer="network")]}),
        "pack.json",
        "has constraints.dependencies[0].layer 'network', which Palette does not know",
    ),
    (
        "dependency minVersion a number",
        lambda p: edit_pack_json(p, constraints={"dependencies": [_dependency(minVersion=1.27)]}),
        "pack.json",
        "has constraints.dependencies[0].minVersion that is not a string",
    ),
    (
        "resource of an unknown type",
        lambda p: edit_pack_json(p, constraints={"resources": [{"type": "gpu", "minLimit": 1}]}),
        "pack.json",
        "has constraints.resources[0].type 'gpu', which Palette does not know",
    ),
    (
        "resource minLimit a string",
        lambda p: edit_pack_json(p, constraints={"resources": [{"type": "cpu", "minLimit": "2000m"}]}),
        "pack.json",
        "has constraints.resources[0].minLimit that is not a number",
    ),
    (
        "component without scheduleType",
        lambda p: edit_pack_json(p, constraints={"resources": [{"type": "cpu", "components": [{}]}]}),
        "pack.json",
        "has no 'constraints.resources[0].components[0].scheduleType'",
    ),
    (
        "charts entry missing",
        lambda p: edit_pack_json(p, charts=["charts/app-1.0.0.tgz"]),
        "charts/app-1.0.0.tgz",
        "(listed in pack.json charts) does not exist",
    ),
    (
        "charts a string",
        lambda p: edit_pack_json(p, charts="charts/app.tgz"),
        "pack.json",
        "has charts that is not a list of strings",
    ),
    (
        "kubeManifests entry empty",
        lambda p: edit_pack_json(p, kubeManifests=[""]),
        "pack.json",
        "has no 'kubeManifests[0]'",
    ),
    (
        "presets.yaml invalid YAML",
        lambda p: write(p, "presets.yaml", "presets: [\n"),
        "presets.yaml",
        "is not valid YAML",
    ),
    ("presets.yaml a list", lambda p: write(p, "presets.yaml", PRESET), "presets.yaml", "is not a mapping"),
    (
        "presets.yaml without presets",
        lambda p: write(p, "presets.yaml", "preset: []\n"),
        "presets.yaml",
        "has no 'presets'",
    ),
    (
        "preset without group",
        lambda p: write(p, "presets.yaml", "presets:\n" + PRESET.replace("  group: size\n", "")),
        "presets.yaml",
        "has no 'presets[0].group'",
    ),
    (
        "preset remove a string",
        lambda p: write(p, "presets.yaml", "presets:\n" + PRESET.replace('["app.replicas"]', "app.replicas")),
        "presets.yaml",
        "has presets[0].remove that is not a list of strings",
    ),
    (
        "preset add a mapping, not YAML text",
        lambda p: write(p, "presets.yaml", "presets:\n" + PRESET.replace("add: |", "add:")),
        "presets.yaml",
        "has presets[0].add that is not a string",
    ),
    (
        "preset add not valid YAML",
        lambda p: write(p, "presets.yaml", "presets:\n" + PRESET.replace("replicas: 1", "replicas: [1")),
        "presets.yaml",
        "has presets[0].add that is not valid YAML",
    ),
    (
        "preset add not a mapping",
        lambda p: write(p, "presets.yaml", "presets:\n" + PRESET.replace("    app:\n      replicas: 1\n", "    - 1\n")),
        "presets.yaml",
        "has presets[0].add that is not a YAML mapping",
    ),
    (
        "two presets of one name",
        lambda p: write(p, "presets.yaml", "presets:\n" + PRESET + PRESET.replace("Small", "Tiny")),
        "presets.yaml",
        "has presets[1].name 'small', as presets[0] does",
    ),
    (
        "schema.yaml misspelt keyword",
        lambda p: write(p, "schema.yaml", "app.replicas:\n  schema: '{{ requried }}'\n"),
        "schema.yaml",
        "has app.replicas.schema '{{ requried }}', which is not a",
    ),
    (
        "schema.yaml format without a quoted string",
        lambda p: write(p, "schema.yaml", "app.port:\n  schema: '{{ format ${number} }}'\n"),
        "schema.yaml",
        "has app.port.schema '{{ format ${number} }}', which is not a",
    ),
    (
        "schema.yaml template without braces",
        lambda p: write(p, "schema.yaml", "app.port:\n  schema: required\n"),
        "schema.yaml",
        "has app.port.schema 'required', which is not a",
    ),
    (
        "schema.yaml value a string",
        lambda p: write(p, "schema.yaml", "app.port: '{{ required }}'\n"),
        "schema.yaml",
        "has app.port that is not a mapping",
    ),
    (
        "schema.yaml without schema",
        lambda p: write(p, "schema.yaml", "app.port:\n  hints: port\n"),
        "schema.yaml",
        "has no 'app.port.schema'",
    ),
    (
        "schema.yaml value path with a space",
        lambda p: write(p, "schema.yaml", "app port:\n  schema: '{{ required }}'\n"),
        "schema.yaml",
        "has the value path 'app port', which is not one",
    ),
    ("schema.yaml a list", lambda p: write(p, "schema.yaml", "- a\n"), "schema.yaml", "is not a mapping"),
    (
        "presets.yaml not UTF-8",
        lambda p: (p / "presets.yaml").write_bytes(b"presets: []\n# \xff\n"),
        "presets.yaml",
        "is not UTF-8 text",
    ),
    (
        ".packignore leaving out pack.json",
        lambda p: write(p, ".packignore", "*.json\n"),
        "pack.json",
        "is left out by .packignore",
    ),
    (
        ".packignore leaving out values.yaml",
        lambda p: write(p, ".packignore", "values.*\n"),
        "values.yaml",
        "is left out by .packignore",
    ),
    (
        ".packignore leaving out manifests/",
        lambda p: write(p, ".packignore", "manifests/\n"),
        "manifests/",
        "is left out by .packignore",
    ),
    (
        ".packignore leaving out a listed manifest",
        lambda p: write(p, ".packignore", "manifests/*.yaml\n"),
        "manifests/hello-universe.yaml",
        "(listed in pack.json kubeManifests) is left out by .packignore",
    ),
    (".packignore a directory", lambda p: (p / ".packignore").mkdir(), ".packignore", "is not a regular file"),
]


@pytest.mark.parametrize(
    ("change", "file", "fragment"),
    [r[1:] for r in REFUSALS + SHAPE_REFUSALS],
    ids=[r[0] for r in REFUSALS + SHAPE_REFUSALS],
)
def test_a_bad_pack_is_refused_naming_packs_the_directory_and_the_file(
    tmp_path: Path, change: Callable[[Path], None], file: str, fragment: str
) -> None:
    change(copy_sample(tmp_path))

    with pytest.raises(ConfigError) as raised:
        parse_packs(raw_for(["packs/hello"]), tmp_path, OCI)

    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith(f"config key '{KEY}': pack directory 'packs/hello': ")
    assert file in message
    assert fragment in message
    assert raised.value.key == "packs"


def test_the_sample_pack_is_accepted(tmp_path: Path) -> None:
    pack = copy_sample(tmp_path)

    sources, warnings = parse_packs(raw_for(["packs/hello"]), tmp_path, OCI)

    (source,) = sources
    assert source.directory == pack.resolve()
    assert (source.name, source.version, source.layer) == ("hello-universe", "1.0.0", "addon")
    assert source.display_name == "Hello Universe"
    assert source.archive_name == "hello-universe-1.0.0.tar.gz"
    assert warnings == []


def test_an_absolute_directory_empty_values_charts_and_an_inner_symlink_are_accepted(tmp_path: Path) -> None:
    pack = copy_sample(tmp_path, "elsewhere/hello")
    (pack / "values.yaml").write_text("")
    shutil.rmtree(pack / "manifests")
    (pack / "charts").mkdir()
    (pack / "charts" / "chart.tgz").write_bytes(b"chart")
    os.symlink("../values.yaml", pack / "charts" / "values-link.yaml")
    edit_pack_json(pack, kubeManifests=None, layer="cni", addonType=None)

    (source,), _ = parse_packs(raw_for([str(pack)]), tmp_path / "project", OCI)

    assert source.directory == pack.resolve()
    assert source.layer == "cni"


def test_kube_manifests_reached_through_dots_or_an_inner_symlink_are_accepted(tmp_path: Path) -> None:
    pack = copy_sample(tmp_path)
    os.symlink("hello-universe.yaml", pack / "manifests" / "link.yaml")
    os.symlink("manifests", pack / "inner")
    listed = [
        "manifests/hello-universe.yaml",
        "./manifests/hello-universe.yaml",
        "manifests/../manifests/hello-universe.yaml",
        "manifests//hello-universe.yaml",
        "manifests/link.yaml",
        "inner/hello-universe.yaml",
        str(pack / "manifests" / "hello-universe.yaml"),
    ]
    edit_pack_json(pack, kubeManifests=listed)

    (source,), _ = parse_packs(raw_for(["packs/hello"]), tmp_path, OCI)

    assert source.name == "hello-universe"


def test_a_missing_logo_is_a_warning(tmp_path: Path) -> None:
    (copy_sample(tmp_path) / "logo.png").unlink()

    sources, warnings = parse_packs(raw_for(["packs/hello"]), tmp_path, OCI)

    assert len(sources) == 1
    assert warnings == [
        "packs: pack directory 'packs/hello': logo.png is missing: Palette shows the pack without a logo."
    ]


def test_a_missing_readme_is_a_warning(tmp_path: Path) -> None:
    (copy_sample(tmp_path) / "README.md").unlink()

    sources, warnings = parse_packs(raw_for(["packs/hello"]), tmp_path, OCI)

    assert len(sources) == 1
    assert warnings == [
        "packs: pack directory 'packs/hello': README.md is missing: Palette shows the pack without its description."
    ]


def test_a_logo_left_out_by_packignore_is_a_warning_saying_so(tmp_path: Path) -> None:
    write(copy_sample(tmp_path), ".packignore", "*.png\n")

    _, warnings = parse_packs(raw_for(["packs/hello"]), tmp_path, OCI)

    assert [warning.split(": ")[2] for warning in warnings] == ["logo.png is left out by .packignore"]


def test_the_documented_presets_and_schema_files_and_listed_charts_are_accepted(tmp_path: Path) -> None:
    pack = copy_sample(tmp_path)
    write(pack, "presets.yaml", DOCUMENTED_PRESETS)
    write(pack, "schema.yaml", DOCUMENTED_SCHEMA)
    (pack / "charts" / "app").mkdir(parents=True)
    (pack / "charts" / "app-1.0.0.tgz").write_bytes(b"chart")
    edit_pack_json(pack, charts=["charts/app-1.0.0.tgz", "charts/app", "./charts/app-1.0.0.tgz"])

    (source,), warnings = parse_packs(raw_for(["packs/hello"]), tmp_path, OCI)

    assert source.name == "hello-universe" and warnings == []


def test_a_missing_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"pack directory 'packs/none': .*packs/none is not a directory"):
        parse_packs(raw_for(["packs/none"]), tmp_path, OCI)


def test_two_packs_with_the_same_name_and_version_are_refused(tmp_path: Path) -> None:
    copy_sample(tmp_path, "packs/a")
    copy_sample(tmp_path, "packs/b")

    with pytest.raises(ConfigError) as raised:
        parse_packs(raw_for(["packs/a", "packs/b"]), tmp_path, OCI)

    assert str(raised.value).startswith(f"config key '{KEY}': pack directory 'packs/b': pack.json ")
    assert "as pack directory 'packs/a' does" in str(raised.value)


def test_the_same_name_with_another_version_is_accepted(tmp_path: Path) -> None:
    copy_sample(tmp_path, "packs/a")
    edit_pack_json(copy_sample(tmp_path, "packs/b"), version="1.1.0")

    sources, _ = parse_packs(raw_for(["packs/a", "packs/b"]), tmp_path, OCI)

    assert [s.version for s in sources] == ["1.0.0", "1.1.0"]


def test_packs_with_the_legacy_registry_are_refused_with_the_way_out(tmp_path: Path) -> None:
    copy_sample(tmp_path)

    with pytest.raises(ConfigError) as raised:
        parse_packs(raw_for(["packs/hello"]), tmp_path, LEGACY)

    message = str(raised.value)
    assert message.startswith(f"config key '{KEY}': ")
    assert "registryKind" in message and "oci" in message and "spectro pack push" in message


@pytest.mark.parametrize("kind", ["legacy", "oci"])
def test_no_packs_is_nothing_to_publish(tmp_path: Path, kind: str) -> None:
    assert parse_packs(raw_for(None), tmp_path, KINDS[kind]) == ((), [])
    assert parse_packs(raw_for([]), tmp_path, KINDS[kind]) == ((), [])


def test_an_empty_entry_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"'palette-pack-registry:packs': has an empty entry"):
        parse_packs(raw_for([""]), tmp_path, OCI)


def test_packs_is_declared_in_the_project_file() -> None:
    declared = declared_config()["packs"]
    assert declared["type"] == "array" and declared["items"] == {"type": "string"}
    assert declared["default"] == []


@pytest.mark.parametrize("what", ["file", "own file", "folder"])
def test_a_file_or_folder_this_user_cannot_read_is_refused_before_anything_exists(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, what: str
) -> None:
    """A pack file that another user owns with mode 0600 (left by a container run as root, say) passes every
    check that only looks at names and modes, and would fail the pack's digest after the program returned, once
    the rest of the stack is registered (components/pack_registry/component.py ``_content_after_the_program``):
    refused here instead, with the file named. Simulated: the tests may run as root, whom no mode stops."""
    import components.packs.walker as walker

    pack = copy_sample(tmp_path)
    if what == "file":
        target = pack / "README.md"
        real_access = os.access

        def access(path: Any, mode: int, **kwargs: Any) -> bool:
            return False if str(path) == str(target) else real_access(path, mode, **kwargs)

        monkeypatch.setattr(os, "access", access)
    elif what == "own file":
        # The user's own file without its read bit: answered from the walk's lstat, without access().
        target = pack / "README.md"
        if os.getuid() != 0:
            target.chmod(0o200)
        else:
            os.chown(target, 12345, 12345)
            target.chmod(0o200)
            monkeypatch.setattr(os, "getuid", lambda: 12345)
    else:
        target = pack / "manifests"
        real_scandir = os.scandir

        def scandir(path: Any) -> Any:
            if str(path) == str(target):
                raise PermissionError(13, "Permission denied", str(path))
            return real_scandir(path)

        monkeypatch.setattr(walker.os, "scandir", scandir)
    with pytest.raises(ConfigError) as raised:
        parse_packs(raw_for(["packs/hello"]), tmp_path, OCI)
    message = str(raised.value)
    assert "\n" not in message and message.startswith(f"config key '{KEY}': pack directory 'packs/hello': ")
    assert f"{target.name} cannot be read" in message, message
