"""Palette's definition of the pack listing (``GET /v1/packs/{packName}/registries/{registryUid}``), from the spec
excerpt in tests/data/palette/pack-listing-spec.json, as a JSON Schema validator (``jsonschema``).

Swagger 2.0 definitions are JSON Schema draft 4 with ``x-`` extensions (which a validator ignores). ``strict``
adds ``additionalProperties: false`` to every object the spec lists properties for: an answer then holds nothing
the spec does not define, so a fake cannot drift from the spec by adding what Palette never sends."""

from __future__ import annotations

import copy
import json
from functools import cache
from typing import Any

from jsonschema import Draft4Validator

from tests.support.paths import DATA

__all__ = ["LISTING_PATH", "SPEC", "listing_validator"]

SPEC: dict[str, Any] = json.loads((DATA / "palette" / "pack-listing-spec.json").read_text())
LISTING_PATH = "/v1/packs/{packName}/registries/{registryUid}"


def _closed(node: Any) -> Any:
    if isinstance(node, dict):
        closed = {key: _closed(value) for key, value in node.items()}
        if "properties" in closed and "additionalProperties" not in closed:
            closed["additionalProperties"] = False
        return closed
    if isinstance(node, list):
        return [_closed(item) for item in node]
    return node


@cache
def listing_validator(*, strict: bool = True) -> Draft4Validator:
    """A validator of the 200 answer's body (``v1PackTagEntity``)."""
    definitions = copy.deepcopy(SPEC["definitions"])
    schema = {
        "definitions": _closed(definitions) if strict else definitions,
        **SPEC["paths"][LISTING_PATH]["get"]["responses"]["200"]["schema"],
    }
    Draft4Validator.check_schema(schema)
    return Draft4Validator(schema)
