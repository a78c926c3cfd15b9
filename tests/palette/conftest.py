"""Fixtures of the Palette layer: each registration kind in turn, and a provider configured for the fake."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from components.palette import PackRegistryProvider
from tests.support.palette_fake import FakePalette
from tests.support.palette_support import KINDS, Kind, configure


@pytest.fixture(params=sorted(KINDS), ids=str)
def kind(request: pytest.FixtureRequest) -> Kind:
    """Each registration kind in turn: a test that takes it runs once per row of ``KINDS``."""
    return KINDS[request.param]


@pytest.fixture
def provider(palette: FakePalette) -> Iterator[PackRegistryProvider]:
    """A provider configured with the fake Palette's key (and unconfigured afterwards)."""
    provider = PackRegistryProvider()
    configure(provider, palette.api_key)
    yield provider
    configure(provider, None)
