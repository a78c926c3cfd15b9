"""The Pulumi CLI's own config rules, applied to Pulumi.yaml, every Pulumi.<stack>.yaml and every
``pulumi config set`` command the README, docs/ and the program's error messages show.

No Pulumi CLI can run here, so its rules are restated from its source (pulumi/pulumi) and applied:

- ``sdk/go/common/workspace/project.go``: ``Project.Validate`` (no key with both ``default`` and ``value``;
  an array declares ``items``; a default matches the declared type) and ``ValidateConfigValue`` (``string``:
  a string; ``integer``: an int, a whole float, or a string ``strconv.Atoi`` accepts; ``boolean``: a bool
  or exactly ``"true"``/``"false"``; ``array``: a list whose items match ``items``).
- ``pkg/workspace/config.go``: ``mergeConfig`` and ``validateStackConfigValue`` (a key with neither
  ``default`` nor ``value`` must be set in every stack; a key declared ``secret: true`` must hold an
  encrypted value, and the declared default is merged in as a plain value, so a secret key with a default
  fails on every stack: pulumi/pulumi#21865).
- ``sdk/go/common/resource/config/map.go``: ``Map.Set`` with ``--path`` (``'key[0]'`` builds a list;
  ``adjustObjectValue`` turns ``true``/``false`` into booleans and integers without a leading zero into
  ints; a ``--secret`` value stays a string).
"""

from __future__ import annotations

import ast
import json
import math
import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from components.config import SECRET_KEYS
from tests.support.harness import load_yaml
from tests.support.paths import ROOT

PROJECT = "palette-pack-registry"
_ATOI = re.compile(r"^[+-]?[0-9]+$")


# ------------------------------------------------------------------------------------------ the rules


def valid_value(type_name: str, items: dict[str, Any] | None, value: Any) -> bool:
    """``ValidateConfigValue``: does ``value`` (a string, or a JSON-decoded object) fit the type?"""
    if type_name == "string":
        return isinstance(value, str)
    if type_name == "integer":
        if isinstance(value, bool):
            return False
        if isinstance(value, int):
            return True
        if isinstance(value, float):
            return math.trunc(value) == value
        return isinstance(value, str) and bool(_ATOI.match(value)) and _fits_int64(value)
    if type_name == "boolean":
        return isinstance(value, bool) or value in ("true", "false")
    if type_name == "object":
        return isinstance(value, dict)
    if not isinstance(value, list) or items is None:
        return False
    return all(valid_value(items["type"], items.get("items"), item) for item in value)


def _fits_int64(text: str) -> bool:
    return -(2**63) <= int(text) < 2**63


def project_problems(declared: dict[str, Any]) -> list[str]:
    """``Project.Validate``, plus the merge rule that makes a secret key with a default fail everywhere."""
    problems = []
    for key, spec in declared.items():
        if spec.get("default") is not None and spec.get("value") is not None:
            problems.append(f"{key}: both 'default' and 'value'")
        if spec.get("type") == "array" and not spec.get("items"):
            problems.append(f"{key}: an array without 'items'")
        if spec.get("secret") and spec.get("default") is not None:
            problems.append(f"{key}: secret with a default (merged in as a plain value, then refused)")
        has_default = spec.get("default") is not None
        if "type" in spec and has_default and not valid_value(spec["type"], spec.get("items"), spec["default"]):
            problems.append(f"{key}: default {spec['default']!r} is not of type {spec['type']}")
    return problems


@dataclass(frozen=True)
class StackValue:
    """A value as the CLI holds it: whether it is encrypted (any leaf, for an object), its plain content,
    and the stack file's own form."""

    secure: bool
    content: Any
    raw: Any = None


def _plain_leaves(value: Any) -> list[Any]:
    """The leaves of a stack file's object that are not ``secure:`` (what the file keeps in clear text)."""
    if isinstance(value, dict) and set(value) == {"secure"}:
        return []
    if isinstance(value, dict):
        return [leaf for item in value.values() for leaf in _plain_leaves(item)]
    if isinstance(value, list):
        return [leaf for item in value for leaf in _plain_leaves(item)]
    return [value]


def _decrypted(value: Any) -> Any:
    """A stack file's object with its ``secure:`` leaves standing for the strings they decrypt to."""
    if isinstance(value, dict) and set(value) == {"secure"}:
        return "<decrypted>"
    if isinstance(value, dict):
        return {k: _decrypted(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decrypted(v) for v in value]
    return value


def _has_secure(value: Any) -> bool:
    if isinstance(value, dict):
        return set(value) == {"secure"} or any(_has_secure(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_secure(v) for v in value)
    return False


def from_stack_file(raw: Any) -> StackValue:
    """A ``Pulumi.<stack>.yaml`` value: scalars are read as their text, lists and maps are objects."""
    if raw is None:  # an empty YAML value: the JSON text `null`, decoded to nil (config/object.go)
        return StackValue(False, None)
    if isinstance(raw, bool):
        return StackValue(False, "true" if raw else "false")
    if isinstance(raw, list | dict):
        return StackValue(_has_secure(raw), _decrypted(raw), raw)
    return StackValue(False, str(raw))


def stack_problems(declared: dict[str, Any], stack: str, config: dict[str, Any]) -> list[str]:
    """``mergeConfig`` + ``validateStackConfigValue`` for one stack's ``config:`` block."""
    problems = []
    values = {k.removeprefix(f"{PROJECT}:"): v for k, v in config.items() if k.startswith(f"{PROJECT}:")}
    for key, spec in declared.items():
        if key not in values:
            if spec.get("default") is None and spec.get("value") is None:
                problems.append(f"Stack '{stack}' is missing configuration value '{key}'")
            continue
        value = from_stack_file(values[key])
        problems += value_problems(stack, key, spec, value)
    for key in values:
        if key not in declared:
            problems.append(f"Stack '{stack}': '{key}' is not declared in Pulumi.yaml")
    return problems


def value_problems(stack: str, key: str, spec: dict[str, Any], value: StackValue) -> list[str]:
    problems = []
    if spec.get("secret") and not value.secure:
        problems.append(f"Stack '{stack}' with configuration key '{key}' must be encrypted as it's secret")
    if key in SECRET_KEYS and not value.secure:
        problems.append(f"Stack '{stack}': '{key}' is set in plain text; the program refuses it")
    if key in SECRET_KEYS and value.secure and _plain_leaves(value.raw):
        problems.append(f"Stack '{stack}': '{key}' has entries in plain text beside encrypted ones")
    if "type" in spec and not valid_value(spec["type"], spec.get("items"), value.content):
        problems.append(f"Stack '{stack}' with configuration key '{key}' must be of type '{spec['type']}'")
    return problems


def adjust(value: str, *, secure: bool) -> Any:
    """``adjustObjectValue``: what ``--path`` stores for a leaf."""
    if secure:
        return value
    if value in ("true", "false"):
        return value == "true"
    if len(value) > 1 and value.startswith("0"):
        return value
    if _ATOI.match(value) and _fits_int64(value):
        return int(value)
    return value


_PLACEHOLDER = re.compile(r"<[^<>]*>")
_REDIRECT = re.compile(r"\s<\s+\S+")


@dataclass(frozen=True)
class SetCommand:
    text: str
    key: str
    path: list[Any]
    value: str
    secret: bool
    placeholder: bool


def parse_set(text: str) -> SetCommand | None:
    """A ``pulumi config set [--secret] [--path] <key> [<value>]`` command; None for a generic example."""
    command = _REDIRECT.sub(" FROM_STDIN", text.split("#", 1)[0])
    command = _PLACEHOLDER.sub("PLACEHOLDER", command)
    words = shlex.split(command)
    assert words[:3] == ["pulumi", "config", "set"], text
    flags = {word for word in words[3:] if word.startswith("--")}
    rest = [word for word in words[3:] if not word.startswith("--")]
    assert flags <= {"--secret", "--path", "--plaintext"}, text
    if not rest or rest[0] == "PLACEHOLDER":
        return None
    name = rest[0]
    value = rest[1] if len(rest) > 1 else "FROM_STDIN"
    path: list[Any] = [name]
    if "--path" in flags:
        path = [int(part) if part.isdigit() else part for part in re.findall(r"[^\[\].]+", name)]
    return SetCommand(
        text=text,
        key=str(path[0]).removeprefix(f"{PROJECT}:"),
        path=path,
        value=value,
        secret="--secret" in flags,
        placeholder=value in ("PLACEHOLDER", "FROM_STDIN"),
    )


def set_problems(declared: dict[str, Any], command: SetCommand) -> list[str]:
    """What the CLI stores for the command, checked as a stack value; plus the program's --secret rule."""
    where = f"`{command.text}`"
    spec = declared.get(command.key)
    if spec is None:
        return [f"{where}: '{command.key}' is not declared in Pulumi.yaml"]
    leaf: Any = adjust(command.value, secure=command.secret) if len(command.path) > 1 else command.value
    for part in reversed(command.path[1:]):
        leaf = [leaf] if isinstance(part, int) else {part: leaf}
    problems = []
    if (spec.get("secret") or command.key in SECRET_KEYS) and not command.secret:
        problems.append(f"{where}: '{command.key}' must be set with --secret")
    if "type" in spec:
        shape_only = command.placeholder and spec["type"] in ("integer", "boolean")
        if not shape_only and not valid_value(spec["type"], spec.get("items"), leaf):
            problems.append(f"{where}: stores {leaf!r}, not of type {spec['type']}")
        if shape_only and isinstance(leaf, list | dict):
            problems.append(f"{where}: stores a list or map for a {spec['type']} key")
    return problems


def set_commands(text: str) -> list[str]:
    """Every ``pulumi config set ...`` command in ``text`` (up to the end of its line or inline code)."""
    commands = []
    for match in re.findall(r"pulumi config set[^`\n]*", text):
        # A shell line may chain several commands: each one is a command of its own.
        commands += [
            part.strip() for part in re.split(r"&&|\|\||;", match) if part.strip().startswith("pulumi config set")
        ]
    return commands


def _string_literals(source: Path) -> list[str]:
    """The module's string literals as Python joins them (an f-string's fields stand as ``{}``)."""
    nodes = list(ast.walk(ast.parse(source.read_text())))
    parts = {id(value) for node in nodes if isinstance(node, ast.JoinedStr) for value in node.values}
    texts = []
    for node in nodes:
        if isinstance(node, ast.JoinedStr):
            texts.append("".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in parts:
            texts.append(node.value)
    return texts


# ------------------------------------------------------------------------------------------ the files


def declared() -> dict[str, Any]:
    return load_yaml((ROOT / "Pulumi.yaml").read_text())["config"]


def stack_files() -> list[Path]:
    return sorted(ROOT.glob("Pulumi.*.yaml"))


def load_stack_config(text: str) -> dict[str, Any]:
    """A stack file's ``config:`` block, read with the CLI's YAML 1.2 rules (tests/support/harness.py ``load_yaml``)."""
    return (load_yaml(text) or {}).get("config") or {}


def test_pulumi_yaml_follows_the_cli_rules() -> None:
    assert project_problems(declared()) == []


def test_the_dev_stack_exists() -> None:
    assert ROOT / "Pulumi.dev.yaml" in stack_files()


@pytest.mark.parametrize("path", stack_files(), ids=lambda path: path.name)
def test_every_stack_file_passes_the_cli_validation(path: Path) -> None:
    stack = path.name.removeprefix("Pulumi.").removesuffix(".yaml")
    assert stack_problems(declared(), stack, load_stack_config(path.read_text())) == []


def test_every_config_set_command_in_the_readme_and_docs_would_be_stored_and_accepted() -> None:
    readme = set_commands((ROOT / "README.md").read_text())
    assert len([command for command in map(parse_set, readme) if command is not None]) >= 5, readme
    commands = readme + [c for page in sorted((ROOT / "docs").glob("*.md")) for c in set_commands(page.read_text())]
    parsed = [command for command in map(parse_set, commands) if command is not None]
    assert len(parsed) >= 30, commands
    problems = [problem for command in parsed for problem in set_problems(declared(), command)]
    assert problems == []


def test_every_config_set_command_the_program_suggests_would_be_accepted() -> None:
    commands = []
    for source in sorted((ROOT / "components").rglob("*.py")):
        for text in _string_literals(source):
            commands += [c for c in set_commands(text) if "{" not in c]
    parsed = [command for command in map(parse_set, commands) if command is not None]
    assert len(parsed) >= 5, commands
    problems = [problem for command in parsed for problem in set_problems(declared(), command)]
    assert problems == []


# ------------------------------------------------------------------------------------------ the checker


def test_the_checker_refuses_what_the_cli_refuses() -> None:
    project = {
        "a": {"type": "string", "default": "", "secret": True},
        "b": {"type": "string", "default": "x", "value": "y"},
        "c": {"type": "array"},
        "d": {"type": "integer", "default": "twelve"},
        "required": {"type": "string"},
        "port": {"type": "integer", "default": 0},
        "flag": {"type": "boolean", "default": False},
        "names": {"type": "array", "items": {"type": "string"}, "default": []},
    }
    assert project_problems(project) == [
        "a: secret with a default (merged in as a plain value, then refused)",
        "b: both 'default' and 'value'",
        "c: an array without 'items'",
        "d: default 'twelve' is not of type integer",
    ]
    assert stack_problems(project, "dev", {}) == [
        "Stack 'dev' is missing configuration value 'c'",
        "Stack 'dev' is missing configuration value 'required'",
    ]
    bad = {
        f"{PROJECT}:c": ["x"],
        f"{PROJECT}:required": "set",
        f"{PROJECT}:port": "5_443",
        f"{PROJECT}:flag": "yes",
        f"{PROJECT}:names": ["ok", 7],
        f"{PROJECT}:a": "plain",
        f"{PROJECT}:undeclared": "x",
    }
    assert stack_problems(project, "dev", bad) == [
        "Stack 'dev' with configuration key 'a' must be encrypted as it's secret",
        "Stack 'dev' with configuration key 'c' must be of type 'array'",
        "Stack 'dev' with configuration key 'port' must be of type 'integer'",
        "Stack 'dev' with configuration key 'flag' must be of type 'boolean'",
        "Stack 'dev' with configuration key 'names' must be of type 'array'",
        "Stack 'dev': 'undeclared' is not declared in Pulumi.yaml",
    ]
    good = {
        f"{PROJECT}:c": [],
        f"{PROJECT}:required": "set",
        f"{PROJECT}:port": "5443",
        f"{PROJECT}:flag": True,
        f"{PROJECT}:names": ["ok"],
        f"{PROJECT}:a": {"secure": "v1:abc"},
    }
    # An array declared without items takes no value at all.
    assert stack_problems(project, "dev", good) == ["Stack 'dev' with configuration key 'c' must be of type 'array'"]


def test_the_checker_follows_path_coercion() -> None:
    project = {
        "hosts": {"type": "array", "items": {"type": "string"}, "default": []},
        "port": {"type": "integer", "default": 0},
        "adminPassword": {"type": "string", "default": ""},
        "readOnlyPasswords": {"type": "array", "items": {"type": "string"}, "default": []},
    }

    def problems(text: str) -> list[str]:
        command = parse_set(text)
        assert command is not None
        return set_problems(project, command)

    assert problems("pulumi config set --path 'hosts[0]' registry.example.com") == []
    assert problems("pulumi config set --path 'hosts[0]' 0123") == []  # a leading zero stays text
    assert problems("pulumi config set --path 'hosts[0]' 1234")  # stored as an int
    assert problems("pulumi config set --path 'hosts[0]' true")  # stored as a bool
    assert problems("pulumi config set hosts registry.example.com")  # a string, not a list
    assert problems("pulumi config set port 5443") == []
    assert problems("pulumi config set port https")
    assert problems("pulumi config set adminPassword <password>")  # without --secret
    assert problems("pulumi config set --secret adminPassword <password>") == []
    assert problems("pulumi config set --secret --path 'readOnlyPasswords[0]' 1234") == []
    assert problems("pulumi config set --secret readOnlyPasswords <password>")  # a string, not a list
    assert parse_set("pulumi config set <key> <value>") is None
    assert json.dumps(adjust("12", secure=False)) == "12"


# ------------------------------------------------------------------------------------------ where the checker
# and the CLI disagree (each lets a stack file or Pulumi.yaml pass that the CLI refuses)


def test_the_checker_reads_stack_files_with_the_clis_yaml_rules() -> None:
    """The CLI reads stack files with ``gopkg.in/yaml.v3`` (pulumi/pulumi ``sdk/go/common/encoding/marshal.go``),
    whose resolver (go-yaml ``resolve.go``) takes only true/True/TRUE and false/False/FALSE as booleans: ``yes``
    and ``off`` stay strings, which ``ValidateConfigValue`` refuses for a boolean key. PyYAML's ``safe_load``
    is YAML 1.1 and turns them into booleans, so the checker passes them."""
    text = "config:\n  palette-pack-registry:readinessCheck: yes\n  palette-pack-registry:allowInsecureHttp: off\n"
    problems = stack_problems(declared(), "dev", load_stack_config(text))
    assert problems == [
        "Stack 'dev' with configuration key 'allowInsecureHttp' must be of type 'boolean'",
        "Stack 'dev' with configuration key 'readinessCheck' must be of type 'boolean'",
    ]


def test_a_null_stack_value_is_not_an_empty_string() -> None:
    """An empty YAML value is ``nil``: ``unmarshalObject`` keeps it as a nil object, ``MarshalString`` writes
    it as the JSON text ``null`` with ``object`` set (sdk/go/common/resource/config/object.go), and
    ``validateStackConfigValue`` decodes that to nil, which is no ``string``. The program would read the text
    "null"."""
    problems = stack_problems(
        declared(), "dev", load_stack_config("config:\n  palette-pack-registry:imagePullUsername:\n")
    )
    assert problems == ["Stack 'dev' with configuration key 'imagePullUsername' must be of type 'string'"]


def test_a_null_default_is_no_default() -> None:
    """``mergeConfig`` and ``Project.Validate`` test ``Default != nil`` (pkg/workspace/config.go,
    sdk/go/common/workspace/project.go): ``default:`` with nothing after it declares a required key, missing
    on every stack that does not set it."""
    project = {"image": {"type": "string", "default": None}}
    assert stack_problems(project, "dev", {}) == ["Stack 'dev' is missing configuration value 'image'"]


def test_every_entry_of_a_secret_list_must_be_encrypted() -> None:
    """``Value.Secure()`` of an object is true when any leaf is encrypted (object.go ``Secure``), so the CLI lists
    ``readOnlyPasswords`` in PULUMI_CONFIG_SECRET_KEYS and the program accepts it even when one entry was set
    without --secret and sits in the stack file in plain text. The checker must look at every leaf."""
    config = {f"{PROJECT}:readOnlyPasswords": [{"secure": "v1:abc"}, "Plain-password-0123456789"]}
    problems = stack_problems(declared(), "dev", config)
    assert problems == ["Stack 'dev': 'readOnlyPasswords' has entries in plain text beside encrypted ones"]
