"""A pack's files in the shapes Spectro documents: ``pack.json``, ``presets.yaml`` and ``schema.yaml``.

Each is checked against a JSON Schema written into the project from Spectro's documentation
(``schemas/*.schema.json``; where the documentation contradicts itself, what Spectro's own packs use, said in a
``$comment`` there), with the ``jsonschema`` library; then what a schema cannot say: unique preset names, and a
preset's ``add`` that parses as YAML. The validators are built once per process (220 packs check in one run).

A problem is raised as ``ShapeProblem`` (the file, the problem naming the field, the fix); ``directory`` makes it
the refusal that names ``packs`` and the pack directory.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft7Validator
from jsonschema.exceptions import ValidationError, best_match

from components.config import values_yaml

__all__ = ["SCHEMAS", "ShapeProblem", "check_pack_json", "check_presets", "check_schema_yaml", "validator"]

SCHEMAS = Path(__file__).parent / "schemas"
"""``<file>.schema.json`` for pack.json, presets.yaml and schema.yaml."""

_TEMPLATE = '\'{{ required | readonly | format "..." | hints "..." }}\''


class ShapeProblem(ValueError):
    """``file`` is not in its documented shape: ``problem`` (naming the field) and ``fix``."""

    def __init__(self, file: str, problem: str, fix: str) -> None:
        self.file = file
        self.problem = problem
        self.fix = fix
        super().__init__(f"{file} {problem}. {fix}")


@functools.cache
def validator(name: str) -> Draft7Validator:
    """The validator of ``schemas/<name>.schema.json`` (``pack_json``, ``presets_yaml``, ``schema_yaml``), the
    schema itself checked once, and its local ``$ref``s replaced by what they name: following a reference is
    most of jsonschema's work otherwise (a pack listing 50 manifests follows 50), and these schemas have no
    cycle."""
    schema = json.loads((SCHEMAS / f"{name}.schema.json").read_text(encoding="utf-8"))
    Draft7Validator.check_schema(schema)
    return Draft7Validator(_inline(schema, schema.get("definitions", {})))


def _inline(schema: Any, definitions: Mapping[str, Any]) -> Any:
    """``schema`` with every ``{"$ref": "#/definitions/x"}`` replaced by ``x`` (its siblings, ``$comment``, kept)."""
    if isinstance(schema, list):
        return [_inline(item, definitions) for item in schema]
    if not isinstance(schema, Mapping):
        return schema
    if "$ref" in schema:
        rest = {key: value for key, value in schema.items() if key != "$ref"}
        return {**_inline(definitions[str(schema["$ref"]).rsplit("/", 1)[-1]], definitions), **rest}
    return {key: _inline(value, definitions) for key, value in schema.items()}


def check_pack_json(data: Any) -> None:
    """Raise ``ShapeProblem`` for a ``pack.json`` (parsed) that is not in Spectro's documented schema."""
    _validate("pack.json", "pack_json", data)


def check_presets(text: str) -> None:
    """Raise ``ShapeProblem`` for a ``presets.yaml`` that is not in its documented shape."""
    presets = _load("presets.yaml", text)
    if presets is None:
        return
    _validate("presets.yaml", "presets_yaml", presets)
    seen: dict[str, int] = {}
    for index, preset in enumerate(presets["presets"]):
        name = preset["name"]
        if name in seen:
            raise ShapeProblem(
                "presets.yaml",
                f"has presets[{index}].name '{name}', as presets[{seen[name]}] does",
                "Give each preset its own name: Palette tells them apart by it.",
            )
        seen[name] = index
        add = preset.get("add")
        if add is None:
            continue
        try:
            values = values_yaml.safe_load(add)
        except yaml.YAMLError as error:
            raise ShapeProblem(
                "presets.yaml",
                f"has presets[{index}].add that is not valid YAML ({' '.join(str(error).split())})",
                "Write add as YAML text: `add: |`, then the values, indented.",
            ) from None
        if values is not None and not isinstance(values, dict):
            raise ShapeProblem(
                "presets.yaml",
                f"has presets[{index}].add that is not a YAML mapping",
                "Write the values it adds as keys and values, as in values.yaml.",
            )


def check_schema_yaml(text: str) -> None:
    """Raise ``ShapeProblem`` for a ``schema.yaml`` that is not in its documented shape."""
    constraints = _load("schema.yaml", text)
    if constraints is not None:
        _validate("schema.yaml", "schema_yaml", constraints)


def _load(file: str, text: str) -> Any:
    try:
        return values_yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ShapeProblem(
            file, f"is not valid YAML ({' '.join(str(error).split())})", "Fix the YAML syntax."
        ) from None


def _validate(file: str, name: str, instance: Any) -> None:
    checker = validator(name)
    error = best_match(checker.iter_errors(instance))
    if error is not None:
        raise _problem(file, checker.schema, error)


def _field(path: Iterable[Any]) -> str:
    """``constraints.dependencies[0].type``."""
    field = ""
    for part in path:
        field += f"[{part}]" if isinstance(part, int) else (f".{part}" if field else str(part))
    return field


def _value(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return f"'{text if len(text) <= 60 else text[:57] + '...'}'"


def _resolve(root: Mapping[str, Any], schema: Any) -> Mapping[str, Any]:
    """``schema`` with a local ``$ref`` (``#/definitions/...``) or an ``allOf``'s first part followed."""
    while isinstance(schema, Mapping):
        if "$ref" in schema:
            schema = root["definitions"][str(schema["$ref"]).rsplit("/", 1)[-1]]
        elif "allOf" in schema and "type" not in schema:
            schema = schema["allOf"][0]
        else:
            return schema
    return {}


def _expected(root: Mapping[str, Any], schema: Any, *, enum: bool = True) -> str:
    """What a value of ``schema`` is, in words: "one of a | b" (unless not ``enum``), "a list of strings", "a
    non-empty string"."""
    schema = _resolve(root, schema)
    if enum and "enum" in schema:
        return "one of " + " | ".join(str(item) for item in schema["enum"])
    kind = schema.get("type")
    if kind == "array":
        item = _resolve(root, schema.get("items", {})).get("type")
        return f"a list of {item}s" if isinstance(item, str) else "a list"
    if kind == "object":
        values = _resolve(root, schema.get("additionalProperties", {})).get("type")
        return f"a mapping of {values}s" if isinstance(values, str) and "properties" not in schema else "a mapping"
    if kind == "string":
        return "a non-empty string" if schema.get("minLength") else "a string"
    return f"a {kind}" if isinstance(kind, str) else "a value"


def _problem(file: str, root: Mapping[str, Any], error: ValidationError) -> ShapeProblem:
    """The one line for the first (most relevant) way ``error``'s instance breaks the schema."""
    path = list(error.absolute_path)
    field = _field(path)
    kind = error.validator
    if kind == "required":
        missing = next(name for name in error.validator_value if name not in error.instance)
        if missing == "addonType" and "then" in error.schema_path:
            return ShapeProblem(file, "is an addon pack without 'addonType'", 'Add "addonType", e.g. "app services".')
        expected = _expected(root, error.schema.get("properties", {}).get(missing, {}))
        return ShapeProblem(file, f"has no '{_field([*path, missing])}'", f'Add "{missing}" as {expected}.')
    if kind == "pattern" and "propertyNames" in error.schema_path:
        return ShapeProblem(
            file,
            f"has the value path {_value(error.instance)}, which is not one",
            "Name each value by its path in values.yaml, without spaces (e.g. registry.hostname).",
        )
    if kind == "pattern" and error.validator_value == "^(?!v)":
        return ShapeProblem(
            file,
            f"has {field} {_value(error.instance)}, with a leading 'v'",
            f"Write it without the 'v' ({error.instance[1:]}): Spectro's pack repository refuses it.",
        )
    if kind == "pattern" and str(error.validator_value).startswith("^\\s*\\{\\{"):
        return ShapeProblem(
            file,
            f"has {field} {_value(error.instance)}, which is not a {_TEMPLATE} template",
            'Write one or more of required, readonly, format "${string}" and hints "..." inside {{ }}, separated by |.',
        )
    if kind in ("minLength", "pattern"):
        return ShapeProblem(file, f"has no '{field}'", f'Give "{field}" a non-empty value.')
    if kind == "enum":
        return ShapeProblem(
            file,
            f"has {field} {_value(error.instance)}, which Palette does not know",
            f"Use {_expected(root, error.schema)}.",
        )
    if kind == "type":
        expected = _expected(root, error.schema, enum=False)
        if not field:
            return ShapeProblem(file, f"is not {expected}", f"Write it as {expected}.")
        return ShapeProblem(file, f"has {field} that is not {expected}", f"Write it as {expected}.")
    return ShapeProblem(file, f"has {field or 'a value'} that breaks its documented shape ({error.message})", "Fix it.")
