"""What the project's dynamic providers share about the values the engine hands them.

During ``pulumi preview`` an input, or a part of one, may still be unknown (an Output not resolved yet);
on the wire, keys whose value is None are dropped, so every optional input needs its default filled in
again by the provider.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi.output import Unknown
from pulumi.runtime import rpc

__all__ = ["is_unknown", "with_defaults"]


def is_unknown(value: Any) -> bool:
    """Whether ``value``, or anything inside it, is not known yet (a preview)."""
    if isinstance(value, Unknown) or (isinstance(value, str) and value == rpc.UNKNOWN):
        return True
    if isinstance(value, Mapping):
        return any(is_unknown(item) for item in value.values())
    if isinstance(value, list | tuple):
        return any(is_unknown(item) for item in value)
    return False


def with_defaults(props: Mapping[str, Any], defaults: Mapping[str, Any]) -> dict[str, Any]:
    """``props`` without None values, each absent key set to its default."""
    out = {key: value for key, value in props.items() if value is not None}
    for key, value in defaults.items():
        out.setdefault(key, value)
    return out
