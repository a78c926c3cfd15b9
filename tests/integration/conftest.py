"""The integration layer: every test is marked ``integration`` (a real Docker engine and the stand-in images);
fixtures of the instances that share one S3 bucket."""

from __future__ import annotations

import secrets

import pytest

from tests.support.docker_support import DockerJanitor, docker
from tests.support.ha_support import DOCKER_HOSTS
from tests.support.layers import items_in_layer
from tests.support.s3_support import S3Server


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items_in_layer(items, __file__):
        item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="module")
def both_hosts_reach_the_engine(docker_engine: None) -> None:
    """The two Docker host URLs of the config are distinct and both reach this machine's engine."""
    ids = {docker("-H", host, "info", "--format", "{{.ID}}").strip() for host in DOCKER_HOSTS}
    assert len(ids) == 1, ids


@pytest.fixture
def bucket(s3_server: S3Server, janitor: DockerJanitor) -> str:
    """A new bucket on moto's S3 server, named for this run."""
    return s3_server.create_bucket(f"packs-{janitor.token}-{secrets.token_hex(3)}")
