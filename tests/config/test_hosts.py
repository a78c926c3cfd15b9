"""Storage and hosts config: several instances, one shared bucket, and the refusals that keep data whole."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.config_values import assert_refused, parse

S3_SECRET = "s3-secret-key-value-0123456789"
S3: dict[str, Any] = {"storage": "s3", "s3Bucket": "packs-bucket"}
TWO = ["unix:///var/run/docker.sock", "ssh://ops@node-b.example.com"]
TCP = "tcp://node-c.example.com:2376"
TLS: dict[str, Any] = {"dockerCaCert": "ca", "dockerCert": "cert", "dockerKey": "key-material"}

# (case, overrides, key named in the message, words the message must contain)
BAD: list[tuple[str, dict[str, Any], str, str]] = [
    ("unknown storage", {"storage": "nfs"}, "storage", "not a storage kind"),
    ("s3 without bucket", {"storage": "s3"}, "s3Bucket", "required when storage is 's3'"),
    ("bucket name", {**S3, "s3Bucket": "Packs_Bucket"}, "s3Bucket", "not a bucket name"),
    ("region", {**S3, "s3Region": "EU West"}, "s3Region", "not a region name"),
    ("endpoint", {**S3, "s3Endpoint": "minio:9000"}, "s3Endpoint", "not an http(s) URL"),
    ("secret key without access key", {**S3, "s3SecretKey": S3_SECRET}, "s3AccessKey", "go together"),
    ("access key without secret key", {**S3, "s3AccessKey": "AKIAEXAMPLE"}, "s3SecretKey", "go together"),
    ("root directory", {**S3, "s3RootDirectory": "packs"}, "s3RootDirectory", "absolute prefix"),
    ("bucket with filesystem", {"s3Bucket": "packs-bucket"}, "storage", "s3Bucket is set"),
    ("secret with filesystem", {"s3SecretKey": S3_SECRET, "s3AccessKey": "AK"}, "storage", "s3AccessKey"),
    ("named volume on two hosts", {"dockerHosts": TWO}, "dataVolume", "silently diverge"),
    ("same host twice", {**S3, "dockerHosts": [TWO[1], TWO[0], TWO[1] + "/"]}, "dockerHosts", "twice"),
    ("host scheme", {**S3, "dockerHosts": [TWO[0], "http://node-b:2375"]}, "dockerHosts", "not a Docker host URL"),
    (
        "hosts that name alike",
        {**S3, **TLS, "dockerHosts": [TWO[0], "tcp://node.b:2376", "tcp://node-b:2376"]},
        "dockerHosts",
        "same resource name",
    ),
    ("tcp host without TLS", {**S3, "dockerHosts": [*TWO, TCP]}, "dockerHosts", "without TLS"),
    ("TLS without a tcp host", {**S3, **TLS, "dockerHosts": TWO}, "dockerHosts", "only used with tcp://"),
    ("dockerHost not listed", {**S3, "dockerHost": "ssh://ops@a", "dockerHosts": TWO}, "dockerHost", "not one of"),
    (
        "too few urls",
        {**S3, "dockerHosts": TWO, "readinessUrls": ["https://10.0.0.1:443"]},
        "readinessUrls",
        "1 entries for 2",
    ),
    ("too many urls", {"readinessUrls": ["https://a:1", "https://b:2"]}, "readinessUrls", "2 entries for 1"),
    (
        "url not a base url",
        {**S3, "dockerHosts": TWO, "readinessUrls": ["a", "b"]},
        "readinessUrls",
        "not an http(s) URL",
    ),
    (
        "one url for two",
        {**S3, "dockerHosts": TWO, "readinessUrl": "https://10.0.0.1:443"},
        "readinessUrl",
        "readinessUrls",
    ),
    (
        "both url keys",
        {"readinessUrl": "https://10.0.0.1:443", "readinessUrls": ["https://10.0.0.1:443"]},
        "readinessUrls",
        "together with readinessUrl",
    ),
]


@pytest.mark.parametrize(("overrides", "key", "words"), [row[1:] for row in BAD], ids=[row[0] for row in BAD])
def test_bad_value_names_the_key(overrides: dict[str, Any], key: str, words: str) -> None:
    assert S3_SECRET not in assert_refused(overrides, key, words)


def test_single_host_is_todays_instance() -> None:
    settings = parse({})
    assert settings.storage.kind == "filesystem" and settings.storage.s3 is None
    assert [(i.key, i.docker.host, i.readiness_url) for i in settings.instances] == [
        ("", "unix:///var/run/docker.sock", "https://registry.example.com:443")
    ]
    one = parse({"readinessUrls": ["https://10.0.0.9:443"]})
    assert one.instances[0].readiness_url == "https://10.0.0.9:443"


def test_several_hosts_with_s3_or_a_shared_mount() -> None:
    settings = parse({**S3, "dockerHosts": TWO, "s3AccessKey": "AK", "s3SecretKey": S3_SECRET})
    assert [i.key for i in settings.instances] == ["var-run-docker-sock", "node-b-example-com"]
    # The instance on dockerHost (here its default) takes over the single-host resources.
    assert [i.on_docker_host for i in settings.instances] == [True, False]
    assert settings.storage.s3 is not None
    assert settings.storage.s3.region == "us-east-1" and settings.storage.s3.root_directory == "/"
    assert settings.storage.s3.endpoint is None
    shared = parse({"dockerHosts": TWO, "dataVolume": "/mnt/nfs/spectro-registry"})
    assert len(shared.instances) == 2 and not shared.storage.shared
    # dockerHost may stay set when it is one of dockerHosts, in any place.
    moved = parse({**S3, "dockerHost": TWO[0], "dockerHosts": [TWO[1], TWO[0]]})
    assert [i.on_docker_host for i in moved.instances] == [False, True]


def test_docker_tls_material_goes_to_tcp_hosts_only() -> None:
    settings = parse({**S3, **TLS, "dockerHosts": [*TWO, TCP]})
    first, second, third = settings.instances
    for instance in (first, second):
        assert instance.docker.ca_material is None and instance.docker.key_material is None
    assert third.docker.ca_material == "ca" and third.docker.key_material is not None
    assert third.readiness_url == "https://node-c.example.com:443"
    assert second.readiness_url == "https://node-b.example.com:443"
