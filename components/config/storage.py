"""Where pack data lives (the filesystem of each host, or one S3-compatible bucket shared by every instance), and
how the registry looks after it: the read-only maintenance mode and the purge of abandoned uploads."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from components.config.source import ABSOLUTE_PATH, ConfigError, Raw, base_url

STORAGE_KINDS = ("filesystem", "s3")


@dataclass(frozen=True)
class S3Storage:
    """One S3 (or S3-compatible) bucket shared by every instance."""

    bucket: str
    region: str
    root_directory: str
    """Prefix inside the bucket ("/" for the whole bucket)."""
    endpoint: str | None = None
    """URL of an S3-compatible store (MinIO, Ceph RGW); None for AWS."""
    access_key: Any = None
    """Access key id (a secret Output), or None to use the Docker host's own AWS credentials."""
    secret_key: Any = None
    """Secret access key (a secret Output), or None with ``access_key``."""

    @property
    def location(self) -> str:
        """s3://bucket/prefix, for outputs and messages."""
        return f"s3://{self.bucket}/{self.root_directory.strip('/')}".rstrip("/")


@dataclass(frozen=True)
class Maintenance:
    """How the registry's storage is looked after (registryKind oci; docs/operating.md "Disk space")."""

    read_only: bool
    """Every instance refuses pushes and deletes and keeps serving pulls, so that garbage collection can run
    (``maintenanceReadOnly``)."""
    upload_purge_hours: int
    """An upload unfinished after this many hours is deleted (``uploadPurgeAgeHours``)."""


@dataclass(frozen=True)
class StorageSettings:
    """The ``storage`` choice: today's filesystem, or S3 shared by every instance; and its maintenance."""

    kind: str
    """filesystem or s3."""
    maintenance: Maintenance
    """The read-only mode and the purge of abandoned uploads, whatever the storage."""
    s3: S3Storage | None = None
    """The bucket (storage s3)."""

    @property
    def shared(self) -> bool:
        """True when every instance sees the same data whatever host it runs on."""
        return self.kind == "s3"


_S3_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")

_AWS_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")
_S3_REGION = re.compile(r"^[a-z0-9][a-z0-9-]*$")

_S3_KEYS = ("storage", "s3Bucket", "s3Endpoint", "s3AccessKey", "s3SecretKey")

MAX_UPLOAD_PURGE_HOURS = 8760
"""A year: far beyond any push, and far below where a Go duration in hours overflows."""


def maintenance_settings(raw: Raw) -> Maintenance:
    hours = raw.integer("uploadPurgeAgeHours")
    if not 1 <= hours <= MAX_UPLOAD_PURGE_HOURS:
        raise ConfigError(
            "uploadPurgeAgeHours",
            f"{hours} is not between 1 and {MAX_UPLOAD_PURGE_HOURS}",
            "Set it to the hours after which an unfinished upload is abandoned, e.g. 6 (no push of a pack takes "
            "that long).",
        )
    return Maintenance(read_only=raw.boolean("maintenanceReadOnly"), upload_purge_hours=hours)


def storage_settings(raw: Raw, secret: Callable[[str], Any], reveal: Callable[[str], str | None]) -> StorageSettings:
    maintenance = maintenance_settings(raw)
    kind = raw.text("storage").strip()
    if kind not in STORAGE_KINDS:
        raise ConfigError("storage", f"'{kind}' is not a storage kind", f"Use one of {', '.join(STORAGE_KINDS)}.")
    bucket = raw.text("s3Bucket").strip()
    endpoint = raw.text("s3Endpoint").strip().rstrip("/")
    has_access = bool(reveal("s3AccessKey"))
    has_secret = bool(reveal("s3SecretKey"))
    if kind == "filesystem":
        values = (bucket, endpoint, has_access, has_secret)
        stray = [key for key, value in zip(_S3_KEYS[1:], values, strict=True) if value]
        if stray:
            raise ConfigError(
                "storage",
                f"is 'filesystem' but {', '.join(stray)} {'is' if len(stray) == 1 else 'are'} set",
                "Set storage to s3 to use the bucket, or unset the s3* keys.",
            )
        return StorageSettings(kind="filesystem", maintenance=maintenance)
    if not bucket:
        raise ConfigError(
            "s3Bucket",
            "is required when storage is 's3'",
            "Set it: `pulumi config set s3Bucket <bucket>` (an existing bucket; the program never creates or "
            "deletes it).",
        )
    if not _S3_BUCKET.match(bucket) or ".." in bucket:
        raise ConfigError(
            "s3Bucket",
            f"'{bucket}' is not a bucket name",
            "Use 3-63 lower-case letters, digits, '.' and '-', starting and ending with a letter or digit.",
        )
    region = raw.text("s3Region").strip()
    if not _S3_REGION.match(region):
        raise ConfigError("s3Region", f"'{region}' is not a region name", "Use e.g. us-east-1.")
    if not endpoint and not _AWS_REGION.match(region):
        # Without an endpoint the server only starts with a region the AWS SDK knows.
        raise ConfigError(
            "s3Region",
            f"'{region}' is not an AWS region name",
            "Use one such as us-east-1 or eu-central-1 (or set s3Endpoint for an S3-compatible store).",
        )
    if endpoint:
        base_url("s3Endpoint", endpoint, allow_path=False, example="https://minio.example.com:9000")
    if has_access != has_secret:
        missing, present = ("s3SecretKey", "s3AccessKey") if has_access else ("s3AccessKey", "s3SecretKey")
        raise ConfigError(
            missing,
            f"is not set but {present} is (the two go together)",
            "Set both with --secret, or neither to use the Docker hosts' own AWS credentials or instance role.",
        )
    root = raw.text("s3RootDirectory").strip() or "/"
    if not ABSOLUTE_PATH.match(root):
        raise ConfigError(
            "s3RootDirectory", f"'{root}' is not an absolute prefix", "Start it with '/', e.g. /spectro-registry."
        )
    return StorageSettings(
        kind="s3",
        maintenance=maintenance,
        s3=S3Storage(
            bucket=bucket,
            region=region,
            root_directory=root,
            endpoint=endpoint or None,
            access_key=secret("s3AccessKey") if has_access else None,
            secret_key=secret("s3SecretKey") if has_secret else None,
        ),
    )
