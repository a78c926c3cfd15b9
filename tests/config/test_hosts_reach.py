"""Docker host lists and S3 settings that cannot work are refused before any resource exists."""

from __future__ import annotations

from typing import Any

import pytest

from components.config import ConfigError
from tests.support.config_values import parse

S3: dict[str, Any] = {"storage": "s3", "s3Bucket": "packs-bucket"}


@pytest.mark.parametrize(
    "hosts",
    [
        ["ssh://ops@node-b.example.com", "ssh://ops@node-b.example.com:22"],
        ["ssh://ops@node-b.example.com:22", "ssh://ops@NODE-B.example.com"],
    ],
    ids=["ssh default port written out", "ssh default port and case"],
)
def test_the_same_ssh_engine_written_two_ways_is_refused(hosts: list[str]) -> None:
    """``ssh://host`` and ``ssh://host:22`` are one engine: two instances there clash on the container name
    and port (and both gates poll the same https://host:<port>, so the second gate would pass on the first
    instance). docker/cli's ssh connection helper (used by kreuzwerker/terraform-provider-docker
    internal/provider/config.go ``GetConnectionHelperWithSSHOpts``) passes ``-p`` to ssh only when the URL has
    a port, so without one ssh's default, 22, applies."""
    with pytest.raises(ConfigError) as caught:
        parse({**S3, "dockerHosts": [*hosts, "unix:///var/run/docker.sock"]})
    assert caught.value.key == "dockerHosts"
    assert "twice" in str(caught.value)


@pytest.mark.parametrize("region", ["eu-west1", "us-east-l", "useast1", "frankfurt"])
def test_an_aws_region_the_server_refuses_is_refused_naming_s3region(region: str) -> None:
    """Without s3Endpoint, distribution 2.8 only starts with a region aws-sdk-go knows
    (distribution/distribution v2.8.2 registry/storage/driver/s3-aws/s3.go: ``invalid region provided``).
    The container then restarts for ever and the readiness gate can only say nothing is listening, naming no
    config key: the region must be refused before any resource exists."""
    with pytest.raises(ConfigError) as caught:
        parse({**S3, "s3Region": region})
    assert caught.value.key == "s3Region"
    for real in ("us-east-1", "eu-central-2", "us-gov-west-1", "cn-northwest-1", "us-iso-east-1", "ap-southeast-5"):
        assert parse({**S3, "s3Region": real}).storage.s3 is not None, real
    # With an S3-compatible store the region is free-form (the server does not check it then).
    assert parse({**S3, "s3Region": region, "s3Endpoint": "https://minio.example.com:9000"}).storage.s3 is not None


def test_one_host_specific_bind_address_for_several_hosts_is_refused() -> None:
    """bindAddress is published on every host; an address of one machine cannot be bound on the others
    (Docker refuses to start the container: "cannot assign requested address"), so only the first instance
    would ever run. Unspecified (0.0.0.0, ::) and loopback addresses exist on every host."""
    hosts = ["ssh://ops@node-a.example.com", "ssh://ops@node-b.example.com"]
    with pytest.raises(ConfigError) as caught:
        parse({**S3, "dockerHosts": hosts, "bindAddress": "10.0.0.5"})
    assert caught.value.key == "bindAddress"
    for address in ("0.0.0.0", "::", "127.0.0.1"):  # noqa: S104 - addresses every host has
        assert len(parse({**S3, "dockerHosts": hosts, "bindAddress": address}).instances) == 2


@pytest.mark.parametrize(
    "host",
    ["ssh://ops@node-b.example.com/var/run/docker.sock", "ssh://ops@node-b?x=1", "ssh://ops@node-b#x"],
    ids=["socket path", "query", "fragment"],
)
def test_an_ssh_url_docker_cannot_use_is_refused_naming_dockerhosts(host: str) -> None:
    """docker/cli's ssh connection helper (cli/connhelper/ssh ``ParseURL``, used by
    kreuzwerker/terraform-provider-docker internal/provider/config.go) refuses any path, query or fragment
    after the host ("extra path after the host"): the first provider call would fail without naming a config
    key."""
    with pytest.raises(ConfigError) as caught:
        parse({**S3, "dockerHosts": ["unix:///var/run/docker.sock", host]})
    assert caught.value.key == "dockerHosts"


def test_an_ssh_url_with_a_trailing_slash_is_refused_or_reaches_docker_without_it() -> None:
    """The config check already treats ``ssh://host/`` as ``ssh://host`` (a duplicate), but hands the URL to
    the Docker provider as written, and docker/cli refuses the path "/" (see above)."""
    try:
        settings = parse({**S3, "dockerHosts": ["unix:///var/run/docker.sock", "ssh://ops@node-b.example.com/"]})
    except ConfigError as refused:
        assert refused.key == "dockerHosts"
        return
    assert settings.instances[1].docker.host == "ssh://ops@node-b.example.com"


def test_a_password_in_an_ssh_url_is_refused_and_not_repeated() -> None:
    """``ssh://user:password@host`` puts a password in plain text into the stack config, the Docker provider's
    ``host`` input (state) and, through the host slug, the resource names (URNs); docker/cli refuses it anyway
    ("plain-text password is not supported"). It must be refused before any resource exists, without the
    password in the message."""
    password = "hunter2-not-for-state"
    with pytest.raises(ConfigError) as caught:
        parse({**S3, "dockerHosts": ["unix:///var/run/docker.sock", f"ssh://ops:{password}@node-b.example.com"]})
    assert caught.value.key == "dockerHosts"
    assert password not in str(caught.value)
