"""A real S3 server for the tests: moto's standalone server on 127.0.0.1, buckets made with boto3.

moto speaks the S3 REST API over HTTP like AWS, MinIO or Ceph RGW; the registry containers reach it on
127.0.0.1 through host networking. moto does not check request signatures (docs/registry-servers.md "S3 storage"), so
the access keys here are placeholders and these tests cannot prove an authentication failure.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from tests.support.tls_support import free_port

__all__ = ["ACCESS_KEY", "REGION", "SECRET_KEY", "S3Server", "running_s3_server"]

ACCESS_KEY = "moto-access-key"
SECRET_KEY = "moto-secret-key-0123456789abcdef"
REGION = "us-east-1"


@dataclass
class S3Server:
    """The running server: its endpoint and a boto3 client for it."""

    endpoint: str
    process: subprocess.Popen[bytes]

    def client(self) -> Any:
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            region_name=REGION,
        )

    def create_bucket(self, name: str) -> str:
        self.client().create_bucket(Bucket=name)
        return name

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        """Every object key under ``prefix`` (paginated)."""
        paginator = self.client().get_paginator("list_objects_v2")
        return [
            item["Key"]
            for page in paginator.paginate(Bucket=bucket, Prefix=prefix)
            for item in page.get("Contents", [])
        ]


def _wait_listening(port: int, process: subprocess.Popen[bytes], log: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"moto's server exited with {process.returncode}:\n{log.read_text()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"moto's server did not listen on 127.0.0.1:{port} within {timeout}s")


@contextmanager
def running_s3_server(log_directory: Path) -> Iterator[S3Server]:
    """moto's S3 server on a free 127.0.0.1 port (its request log in ``log_directory``), stopped on exit."""
    port = free_port()
    log = log_directory / "server.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_listening(port, process, log)
        yield S3Server(f"http://127.0.0.1:{port}", process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
