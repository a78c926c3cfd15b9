"""What the project's dynamic providers share about the values the engine hands them, and the one checker of them.

During ``pulumi preview`` an input, or a part of one, may still be unknown (an Output not resolved yet);
on the wire, keys whose value is None are dropped, so every optional input needs its default filled in
again by the provider. ``InputCheck`` collects a provider's ``CheckFailure``s, skipping what is not known yet.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi.dynamic import CheckFailure
from pulumi.output import Unknown
from pulumi.runtime import rpc

__all__ = ["InputCheck", "is_unknown", "with_defaults"]


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


class InputCheck:
    """The failures found in a provider's inputs. A value not known yet (a preview) is never checked; an absent one
    is checked as None (the wire drops None keys)."""

    def __init__(self, inputs: Mapping[str, Any]) -> None:
        self.inputs = inputs
        self.failures: list[CheckFailure] = []

    def fail(self, key: str, reason: str) -> None:
        self.failures.append(CheckFailure(key, reason))

    def known(self, key: str) -> bool:
        return not is_unknown(self.inputs.get(key))

    def text(self, key: str) -> str | None:
        """The value when it is a non-empty string; else a failure (None too while it is unknown)."""
        value = self.inputs.get(key)
        if not self.known(key):
            return None
        if not isinstance(value, str) or not value:
            self.fail(key, f"a non-empty {key} is required")
            return None
        return value

    def flag(self, key: str) -> None:
        """A failure unless the value is true or false (absent is false)."""
        if self.known(key) and not isinstance(self.inputs.get(key, False), bool):
            self.fail(key, "must be true or false")

    def pem_certificate(self, key: str) -> str | None:
        """The value when it is a PEM certificate; a failure when it is set but is not one; None when absent."""
        value = self.inputs.get(key)
        if not self.known(key) or value is None:
            return None
        if not (isinstance(value, str) and "-----BEGIN CERTIFICATE-----" in value):
            self.fail(key, "a PEM certificate (-----BEGIN CERTIFICATE-----) is required")
            return None
        return value
