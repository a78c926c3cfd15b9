"""Several instances on one bucket must agree on what the bucket holds."""

from __future__ import annotations

import secrets

from tests.support.docker_support import DockerJanitor
from tests.support.ha_support import evaluate, ha_config, start_instance
from tests.support.s3_support import S3Server
from tests.support.tls_support import free_port


def test_a_blob_deleted_through_one_instance_is_gone_through_the_other(
    s3_server: S3Server,
    bucket: str,
    janitor: DockerJanitor,
    standin_image: str,
    both_hosts_reach_the_engine: None,
) -> None:
    """Each instance keeps its own in-memory blob descriptor cache (REGISTRY_STORAGE_CACHE_BLOBDESCRIPTOR=
    inmemory): distribution answers a blob stat from the cache without asking the storage
    (distribution/distribution v2.8.2 registry/storage/cache/cachedblobdescriptorstore.go
    ``cachedBlobStatter.Stat``), and a delete clears only the cache of the instance that served it. So after a
    delete through A, B still says the blob is there: a client behind the load balancer that asks B skips the
    upload, and its manifest then refers to a blob the repository no longer has."""
    run = evaluate(ha_config(s3_server.endpoint, bucket, [free_port(), free_port()]))
    a = start_instance(run, 0, janitor, standin_image)
    b = start_instance(run, 1, janitor, standin_image)
    a.gate()
    b.gate()

    content = b"pack layer " + secrets.token_bytes(1024)
    digest = a.admin().push_blob("packs/gamma", content)
    path = f"/v2/packs/gamma/blobs/{digest}"
    assert b.admin().request("HEAD", path).status == 200  # B has now seen the blob

    deleted = a.admin().request("DELETE", path)
    assert deleted.status == 202, deleted.body[:200]
    assert a.admin().request("HEAD", path).status == 404
    assert b.admin().request("HEAD", path).status == 404, "B still reports the blob deleted through A"
