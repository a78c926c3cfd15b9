"""The S3 storage env: what the server is told, and that the keys stay secret Outputs."""

from __future__ import annotations

import asyncio

import pulumi
import pytest

from components.config.storage import S3Storage
from components.instance.storage import s3_env, s3_files, storage_hint

SECRET_KEY = "storage-secret-key-0123456789"


def _resolve(storage: S3Storage) -> list[tuple[str, bool]]:
    """Each env entry's value and whether it is secret (Outputs are made and awaited on one loop)."""

    async def resolve() -> list[tuple[str, bool]]:
        result = []
        for entry in s3_env(storage):
            if isinstance(entry, pulumi.Output):
                result.append((await entry.future(), await entry.is_secret()))
            else:
                result.append((entry, False))
        return result

    return asyncio.new_event_loop().run_until_complete(resolve())


@pytest.mark.parametrize("endpoint", [None, "https://minio.example.com:9000"], ids=["aws", "s3-compatible store"])
def test_keys_go_into_a_secret_credentials_file_and_never_into_the_env(endpoint: str | None) -> None:
    """The env is what ``docker inspect`` shows; with no keys in its config the S3 driver falls back to the
    AWS SDK's credential chain (distribution v2.8.2 registry/storage/driver/s3-aws/s3.go:
    ``credentials.SharedCredentialsProvider``), which reads the shared credentials file named by
    AWS_SHARED_CREDENTIALS_FILE. This is the one check that no key is in the env; the program's tests check
    that the container's env is the storage env."""
    storage = S3Storage(
        bucket="packs",
        region="us-east-1",
        root_directory="/",
        access_key="AKIA1",
        secret_key=SECRET_KEY,
        endpoint=endpoint,
    )
    resolved = _resolve(storage)
    assert not [value for value, _ in resolved if SECRET_KEY in value or "AKIA1" in value]
    assert not [
        value
        for value, _ in resolved
        if value.startswith(("REGISTRY_STORAGE_S3_ACCESSKEY", "REGISTRY_STORAGE_S3_SECRETKEY"))
    ]
    assert "AWS_SHARED_CREDENTIALS_FILE=/auth/aws-credentials" in [value for value, _ in resolved]

    async def resolve() -> tuple[str, str, bool]:
        ((path, content),) = s3_files(storage).items()
        return path, await content.future(), await content.is_secret()

    path, text, secret = asyncio.new_event_loop().run_until_complete(resolve())
    assert path == "/auth/aws-credentials" and secret
    assert text == f"[default]\naws_access_key_id = AKIA1\naws_secret_access_key = {SECRET_KEY}\n"
    assert s3_files(S3Storage(bucket="packs", region="us-east-1", root_directory="/")) == {}


def test_storage_section_is_rebuilt_in_full() -> None:
    storage = S3Storage(bucket="packs", region="eu-west-1", root_directory="/spectro", endpoint="http://127.0.0.1:9")
    envs = dict(value.split("=", 1) for value, _ in _resolve(storage))
    assert envs["REGISTRY_STORAGE"] == "s3"
    assert envs["REGISTRY_STORAGE_S3_REGIONENDPOINT"] == "http://127.0.0.1:9"
    assert envs["REGISTRY_STORAGE_DELETE_ENABLED"] == "true"
    # No per-instance blob descriptor cache: it would go stale after another instance deletes a blob.
    assert "REGISTRY_STORAGE_CACHE_BLOBDESCRIPTOR" not in envs
    assert envs["REGISTRY_STORAGE_REDIRECT_DISABLE"] == "true"
    assert envs["REGISTRY_HEALTH_STORAGEDRIVER_ENABLED"] == "true"
    assert "REGISTRY_STORAGE_S3_ACCESSKEY" not in envs and "AWS_SHARED_CREDENTIALS_FILE" not in envs
    assert storage.location == "s3://packs/spectro"


def test_hint_names_the_bucket_key_and_no_secret() -> None:
    storage = S3Storage(
        bucket="packs", region="us-east-1", root_directory="/", access_key="AKIA1", secret_key=SECRET_KEY
    )
    hint = storage_hint(storage, "palette-pack-registry")
    assert "'packs' (palette-pack-registry:s3Bucket)" in hint
    assert SECRET_KEY not in hint and "AKIA1" not in hint
