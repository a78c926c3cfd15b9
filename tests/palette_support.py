"""Shared pieces of the Palette tests: fast HTTP settings, a CA certificate, a registration's inputs."""

from __future__ import annotations

import secrets
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from pulumi.dynamic import Config, ConfigureRequest

from components.palette import API_KEY_CONFIG, PROJECT, PackRegistryProvider
from components.palette_client import HttpPolicy
from tests.certs import make_ca
from tests.palette_fake import FakePalette

ROOT = Path(__file__).resolve().parent.parent

# No backoff, few retries, no sync polling delay: the production defaults would make the suite slow.
FAST_HTTP_ENV = {
    "PALETTE_HTTP_BACKOFF_FACTOR": "0",
    "PALETTE_HTTP_RETRIES": "3",
    "PALETTE_HTTP_TIMEOUT_SECONDS": "5",
    "PALETTE_SYNC_POLL_SECONDS": "0",
}
FAST_POLICY = HttpPolicy(retries=3, backoff_factor=0, backoff_jitter=0, read_timeout=5, sync_poll_seconds=0)


@cache
def ca_pem() -> str:
    """A self-signed CA certificate, PEM."""
    return make_ca("palette test CA")[0].certificate_pem


@cache
def private_key_pem() -> str:
    return make_ca("palette test key")[0].key_pem


def new_password() -> str:
    """A registry password that is easy to look for in logs and messages."""
    return "registry-pw-" + secrets.token_hex(8)


def declared(api_url: str, **overrides: Any) -> dict[str, Any]:
    """A registration's inputs as a program declares them (before ``check`` fills the defaults)."""
    props: dict[str, Any] = {
        "api_url": api_url,
        "name": "custom-packs",
        "endpoint": "https://registry.example.com:5000",
        "username": "palette",
        "password": new_password(),
        "ca_certificate": ca_pem(),
    }
    props.update(overrides)
    return {key: value for key, value in props.items() if value is not None}


def configure(provider: PackRegistryProvider, api_key: str | None) -> None:
    """Call ``configure`` the way the provider host does, with or without the key in the stack config."""
    config = {API_KEY_CONFIG: api_key} if api_key is not None else {}
    provider.configure(ConfigureRequest(Config(raw_config=config, project_name=PROJECT)))


SERIALIZED = "gASVserialized-provider"
"""What the wire carries in ``__provider``: opaque to the provider."""


def checked(provider: PackRegistryProvider, props: dict[str, Any]) -> dict[str, Any]:
    """``check`` as the engine calls it: the wire's shape in, the inputs it will create with out."""
    result = provider.check({}, {**props, "__provider": SERIALIZED})
    assert [(f.property, f.reason) for f in result.failures] == []
    return result.inputs


# Fixtures (a test module takes them with ``palette = palette_support.palette``).


@pytest.fixture
def palette() -> Any:
    with FakePalette() as fake:
        yield fake


@pytest.fixture
def provider(palette: FakePalette) -> Any:
    """A provider configured with the fake Palette's key (and unconfigured afterwards)."""
    provider = PackRegistryProvider()
    configure(provider, palette.api_key)
    yield provider
    configure(provider, None)
