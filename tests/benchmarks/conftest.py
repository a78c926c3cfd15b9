"""The benchmark layer: every test is marked ``benchmark``, and ``integration`` too when it takes the real
Docker engine (the ``docker_engine`` fixture, directly or through the stand-in images)."""

from __future__ import annotations

import pytest

from tests.support.layers import items_in_layer


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items_in_layer(items, __file__):
        item.add_marker(pytest.mark.benchmark)
        if "docker_engine" in item.fixturenames:
            item.add_marker(pytest.mark.integration)
