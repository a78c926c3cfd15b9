"""The stack's config as the tests give it: values parsed the way the program parses them (``parse``), and the
check that a value is refused with one line naming its key (``assert_refused``)."""

from __future__ import annotations

from typing import Any

import pytest

from components.config import PROJECT, SECRET_KEYS, ConfigError, parse_settings
from tests.support.harness import as_config_string

BASE: dict[str, Any] = {"hosts": ["registry.example.com"], "ipAddresses": ["10.0.0.5"]}
"""What every parsed test config starts from: a host name and an address."""


def parse(overrides: dict[str, Any], env: dict[str, str] | None = None, stack: str = "dev"):
    """``BASE`` with ``overrides`` (``None`` unsets a key), parsed as the program parses the stack's config."""
    values = {k: as_config_string(v) for k, v in {**BASE, **overrides}.items() if v is not None}
    return parse_settings(values.get, stack=stack, env=env or {})


def assert_refused(overrides: dict[str, Any], key: str, words: str) -> str:
    """``overrides`` stop the program with one ConfigError naming ``key``, saying ``words``, echoing no
    secret value; the message."""
    with pytest.raises(ConfigError) as caught:
        parse(overrides)
    message = str(caught.value)
    assert caught.value.key == key
    assert message.startswith(f"config key '{PROJECT}:{key}':")
    assert words in message
    for secret_key in SECRET_KEYS:
        value = overrides.get(secret_key)
        if isinstance(value, str) and len(value) > 8:
            assert value not in message
    return message
