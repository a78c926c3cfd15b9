"""A version bump on a real registry (the stand-in: distribution, TLS, bcrypt htpasswd): the new version is a new
Pack, published first; the old Pack's delete, at the end of the run, removes the old tag and leaves the new one.
The rules before it (changed files under the same version refused, the opt-in) are in
tests/packs/test_published_versions.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from components.packs import PackProvider
from tests.packs.test_published_versions import copy_sample, props, set_version
from tests.support import docker_support
from tests.support.pack_push_support import SERVER_NAME, OciRegistry, start_oci_registry


@pytest.fixture(scope="module")
def registry(janitor: docker_support.DockerJanitor, standin_image: str, tmp_path_factory: Any) -> OciRegistry:
    return start_oci_registry(janitor, standin_image, tmp_path_factory.mktemp("published-versions"))


def test_a_version_bump_publishes_the_new_version_and_the_old_ones_delete_removes_it(
    registry: OciRegistry, tmp_path: Path
) -> None:
    """On the stand-in registry (distribution): the new version is a new resource, created first; the old
    resource's delete, at the end of the run, removes the old tag and leaves the new one."""
    pack = copy_sample(tmp_path)
    provider = PackProvider()
    common = {
        "registry_url": registry.url,
        "server_name": SERVER_NAME,
        "ca_certificate": registry.ca_certificate,
        "username": registry.username,
        "password": registry.password,
        "repository": "bump/spectro-packs/archive",
    }
    old = provider.create(provider.check({}, props(pack, **common)).inputs)
    (pack / "values.yaml").write_text("replicas: 2\n")
    set_version(pack, "1.0.1")
    news = props(pack, version="1.0.1", **common)
    assert provider.check({}, news).failures == []

    new = provider.create(provider.check({}, news).inputs)
    reader = registry.reader()
    assert sorted(reader.tags("bump/spectro-packs/archive/hello-universe")) == ["1.0.0", "1.0.1"]
    provider.delete(old.id, old.outs)

    assert reader.tags("bump/spectro-packs/archive/hello-universe") == ["1.0.1"]
    status, _, headers = reader.manifest("bump/spectro-packs/archive/hello-universe", "1.0.1")
    assert status == 200 and headers["Docker-Content-Digest"] == new.outs["manifest_digest"]
