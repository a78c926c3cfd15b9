"""Shared pieces of the Palette tests: fast HTTP settings, a CA certificate, a registration's inputs, and
the table of registration kinds the lifecycle tests run for (the ``kind`` fixture of tests/palette/conftest.py)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from pulumi.dynamic import Config, ConfigureRequest

from components.palette import API_KEY_CONFIG, PackRegistryProvider
from components.palette.policy import HttpPolicy
from components.palette.shapes import OCI_REGISTRY_API, PACK_REGISTRY_API, RegistryShape
from components.project import PROJECT
from tests.support.certs import make_ca
from tests.support.palette_fake import FakePalette

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


@dataclass(frozen=True)
class Kind:
    """One row of the table the lifecycle tests run for: a registration kind, as a test sees it.

    The paths are written out here rather than taken from the product's shape, so that a wrong path
    in the product fails a test instead of moving the expectation with it."""

    name: str
    shape: RegistryShape
    """The product's shape for the kind (for what is not a path: e.g. building an expected body)."""
    inputs: dict[str, Any]
    """What a program adds to ``declared`` for this kind."""
    create: str
    validate: str
    listing: str
    listing_query: dict[str, list[str]]
    """The query of the first (lookup) listing call."""
    key_check_query: dict[str, list[str]]
    """The query of the call that confirms the key before a 404 counts."""
    item_prefix: str
    item_suffix: str
    drift: dict[str, Any] = field(default_factory=dict)
    """An out-of-band edit (``FakePalette.edit``) of a field only this kind holds ..."""
    drift_seen: dict[str, Any] = field(default_factory=dict)
    """... and the outputs a refresh reports after it."""
    absent: frozenset[str] = frozenset()
    """Inputs the kind's outputs do not carry."""
    extra_outputs: frozenset[str] = frozenset()
    """Outputs only this kind has."""

    def item(self, uid: str) -> str:
        return f"{self.item_prefix}/{uid}{self.item_suffix}"

    def sync(self, uid: str) -> str:
        return self.item(uid) + "/sync"

    def sync_status(self, uid: str) -> str:
        return self.item(uid) + "/sync/status"

    @property
    def create_re(self) -> str:
        """A regex matching the create path only (``FakePalette.calls``/``fail_next``)."""
        return f"^{self.create}$"

    @property
    def listing_re(self) -> str:
        return f"^{self.listing}$"

    def declared(self, api_url: str, **overrides: Any) -> dict[str, Any]:
        """``declared`` for this kind."""
        return declared(api_url, **{**self.inputs, **overrides})

    def add(self, palette: FakePalette, name: str, **fields: Any) -> str:
        """A registration of this kind made by someone else."""
        return palette.add_registry(name, kind=self.name, **fields)


KINDS = {
    "legacy": Kind(
        name="legacy",
        shape=PACK_REGISTRY_API,
        inputs={},
        create="/v1/registries/pack",
        validate="/v1/registries/pack/validate",
        listing="/v1/registries/pack",
        listing_query={"limit": ["50"]},
        key_check_query={"limit": ["1"]},
        item_prefix="/v1/registries/pack",
        item_suffix="",
        drift={"private": False},
        drift_seen={"private": False},
        absent=frozenset({"base_content_path"}),
    ),
    "oci": Kind(
        name="oci",
        shape=OCI_REGISTRY_API,
        inputs={"registry_kind": "oci", "base_content_path": "packs"},
        create="/v1/registries/oci/basic",
        validate="/v1/registries/oci/basic/validate",
        listing="/v1/registries/oci/summary",
        listing_query={},
        key_check_query={},
        item_prefix="/v1/registries/oci",
        item_suffix="/basic",
        drift={"baseContentPath": "elsewhere", "providerType": "helm"},
        drift_seen={"base_content_path": "elsewhere", "provider_type": "helm"},
        extra_outputs=frozenset({"provider_type"}),
    ),
}


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
