"""Where pack data lives: the container's filesystem (a volume or host path) or one shared S3 bucket.

With S3, every instance reads and writes the same bucket, so any instance can serve what another pushed
and an instance can die without taking data with it. The bucket is the user's: the program never creates
or deletes it, so `pulumi destroy` leaves its contents alone.

The server is configured through distribution's env rule ``REGISTRY_<SECTION>_<KEY>``; the traps are in
docs/registry-servers.md ("S3 storage"):

* ``REGISTRY_STORAGE=s3`` replaces the image's whole ``storage`` section, so ``delete.enabled`` comes back
  as env (the in-memory blob descriptor cache does not: per instance, it goes stale after another
  instance deletes a blob);
* the access keys go into a credentials file uploaded read-only, not into the env that ``docker inspect``
  shows;
* blob reads answer 307 to a presigned bucket URL unless redirects are off, and neither Palette nor the
  clusters can be assumed to reach the bucket;
* a missing or wrong bucket is not noticed at start; the storage driver health check makes the server
  answer 503 instead of accepting pushes that fail with 500.
"""

from __future__ import annotations

import pulumi

from components.config.storage import S3Storage

__all__ = ["s3_env", "s3_files", "storage_hint"]

# How often the server checks its storage driver, and after how many failures it answers 503.
HEALTH_INTERVAL = "10s"
HEALTH_THRESHOLD = 1
CREDENTIALS_FILE = "/auth/aws-credentials"


def s3_env(s3: S3Storage) -> list[pulumi.Input[str]]:
    """The server's env for S3 storage. The keys are secret Outputs, so the env that holds them is too."""
    envs: list[pulumi.Input[str]] = [
        # Replaces the image's storage section: everything that section said comes back below.
        "REGISTRY_STORAGE=s3",
        f"REGISTRY_STORAGE_S3_REGION={s3.region}",
        f"REGISTRY_STORAGE_S3_BUCKET={s3.bucket}",
    ]
    if s3.endpoint:
        # distribution 2.8 switches to path-style addressing when an endpoint is set.
        envs.append(f"REGISTRY_STORAGE_S3_REGIONENDPOINT={s3.endpoint}")
    if s3.access_key is not None and s3.secret_key is not None:
        # The keys go into a file, not the env (which `docker inspect` shows): with no keys in its config
        # the S3 driver falls back to the AWS SDK's credential chain, which reads this file.
        envs.append(f"AWS_SHARED_CREDENTIALS_FILE={CREDENTIALS_FILE}")
    envs += [
        f"REGISTRY_STORAGE_S3_ROOTDIRECTORY={s3.root_directory}",
        "REGISTRY_STORAGE_DELETE_ENABLED=true",
        # No blob descriptor cache: each instance would keep its own, and after a delete through one
        # instance the others would go on answering for the deleted blob.
        # Blobs go through the registry: Palette and the clusters may not reach the bucket.
        "REGISTRY_STORAGE_REDIRECT_DISABLE=true",
        # A missing or unreachable bucket turns every answer into 503 instead of failing pushes later.
        "REGISTRY_HEALTH_STORAGEDRIVER_ENABLED=true",
        f"REGISTRY_HEALTH_STORAGEDRIVER_INTERVAL={HEALTH_INTERVAL}",
        f"REGISTRY_HEALTH_STORAGEDRIVER_THRESHOLD={HEALTH_THRESHOLD}",
    ]
    return envs


def s3_files(s3: S3Storage) -> dict[str, pulumi.Output[str]]:
    """The files S3 storage needs in the container: the credentials file, when keys are configured."""
    if s3.access_key is None or s3.secret_key is None:
        return {}
    content = pulumi.Output.all(s3.access_key, s3.secret_key).apply(
        lambda keys: f"[default]\naws_access_key_id = {keys[0]}\naws_secret_access_key = {keys[1]}\n"
    )
    return {CREDENTIALS_FILE: pulumi.Output.secret(content)}


def storage_hint(s3: S3Storage, project: str) -> str:
    """What the readiness gate adds when the server reports a server-side failure in S3 mode."""
    where = f" at {s3.endpoint}" if s3.endpoint else f" in AWS region {s3.region}"
    return (
        f"the registry cannot use its S3 storage: check that bucket '{s3.bucket}' ({project}:s3Bucket) exists"
        f"{where} and that the Docker host reaches it with the configured credentials "
        f"({project}:s3Endpoint, {project}:s3Region, {project}:s3AccessKey/s3SecretKey)"
    )
