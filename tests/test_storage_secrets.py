"""The S3 secret key reaches the server without showing in `docker inspect`."""

from __future__ import annotations

from tests.harness import CONTAINER
from tests.test_pack_registry import SECRET_KEY, ha_run


def test_the_s3_secret_key_is_not_in_the_container_env() -> None:
    """The project rule: no secret in the container env `docker inspect` shows, where avoidable.

    Here it is avoidable: distribution 2.8's S3 driver falls back, when no key is configured, to aws-sdk-go's
    credential chain, which reads a shared credentials file (distribution/distribution v2.8.2
    registry/storage/driver/s3-aws/s3.go: ``credentials.SharedCredentialsProvider``; the file is named by
    ``AWS_SHARED_CREDENTIALS_FILE``). Uploaded like the htpasswd file and the TLS key, the secret key stays
    out of the container's configuration.
    """
    run = ha_run()
    for container in run.all(CONTAINER):
        in_env = [entry.split("=", 1)[0] for entry in container.inputs["envs"] if SECRET_KEY in entry]
        assert in_env == [], f"{container.name} shows the S3 secret key in its env: {in_env}"
        uploaded = [upload["file"] for upload in container.inputs["uploads"] if SECRET_KEY in upload["content"]]
        assert uploaded, f"{container.name} does not get the S3 secret key at all"
