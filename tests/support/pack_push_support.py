"""A real OCI registry for the pack tests, and a client independent of the code under test.

The registry is the stand-in image (CNCF distribution 2.8, deletes enabled) started directly with TLS (a test
CA, SANs ``registry.test`` and 127.0.0.1) and bcrypt htpasswd auth, published on 127.0.0.1. ``OciReader``
reads it back with plain ``requests`` against ``/v2/``, trusting the CA from a file (it shares nothing with
``components.packs.oci_client``: not its session, TLS adapter, manifest builder or digests).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import secrets
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import bcrypt
import requests

from tests.support.docker_support import DockerJanitor, RunningContainer, start_container
from tests.support.registry_client import wait_until_answering
from tests.support.tls_support import Authority

__all__ = ["OciReader", "OciRegistry", "existing_registry_config", "start_oci_registry"]

SERVER_NAME = "registry.test"
ADMIN = "admin"


@dataclass(frozen=True)
class OciRegistry:
    container: RunningContainer
    ca_certificate: str
    ca_file: Path
    password: str = field(repr=False)
    username: str = ADMIN

    @property
    def url(self) -> str:
        return self.container.url("https")

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.container.host_port}"

    def request_count(self) -> int:
        """How many HTTP requests the registry has answered so far (distribution logs each with its status)."""
        return self.container.logs("all").count("http.response.status=")

    def reader(self, password: str | None = None) -> OciReader:
        return OciReader(self.url, self.ca_file, self.username, self.password if password is None else password)


def start_oci_registry(janitor: DockerJanitor, image: str, directory: Path) -> OciRegistry:
    authority = Authority.create("Pack Push Test CA")
    leaf = authority.issue([SERVER_NAME], ["127.0.0.1"])
    password = "Adm1n-" + secrets.token_urlsafe(18)
    hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=10)).decode()
    spec = {
        "name": "pack-push-registry",
        "envs": [
            "REGISTRY_AUTH=htpasswd",
            "REGISTRY_AUTH_HTPASSWD_REALM=Pack push tests",
            "REGISTRY_AUTH_HTPASSWD_PATH=/auth/htpasswd",
            "REGISTRY_HTTP_TLS_CERTIFICATE=/certs/tls.crt",
            "REGISTRY_HTTP_TLS_KEY=/certs/tls.key",
            "REGISTRY_LOG_LEVEL=info",
        ],
        "uploads": [
            {"file": "/auth/htpasswd", "content": f"{ADMIN}:{hashed}\n", "permissions": "0444"},
            {"file": "/certs/tls.crt", "content": leaf.certificate_pem, "permissions": "0444"},
            {"file": "/certs/tls.key", "content": leaf.private_key_pem, "permissions": "0444"},
        ],
        "ports": [{"internal": 5000}],
    }
    container = start_container(spec, janitor, image=image, name=janitor.name(f"pack-push-{secrets.token_hex(3)}"))
    wait_until_answering(container.url("https"), timeout=30)
    ca_file = directory / "registry-ca.pem"
    ca_file.write_text(authority.certificate_pem)
    return OciRegistry(container, authority.certificate_pem, ca_file, password)


@dataclass(frozen=True)
class OciReader:
    """Reads what a registry holds, as Palette would pull it."""

    base_url: str
    ca_file: Path
    username: str
    password: str = field(repr=False)

    def _request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        with requests.Session() as session:
            session.trust_env = False
            return session.request(
                method,
                self.base_url + path,
                auth=(self.username, self.password),
                verify=str(self.ca_file),
                timeout=30,
                **kwargs,
            )

    def manifest(self, repository: str, reference: str) -> tuple[int, bytes, dict[str, str]]:
        response = self._request(
            "GET",
            f"/v2/{repository}/manifests/{reference}",
            headers={"Accept": "application/vnd.oci.image.manifest.v1+json"},
        )
        return response.status_code, response.content, dict(response.headers)

    def blob(self, repository: str, digest: str) -> bytes:
        response = self._request("GET", f"/v2/{repository}/blobs/{digest}")
        assert response.status_code == 200, (response.status_code, response.text[:200])
        assert "sha256:" + hashlib.sha256(response.content).hexdigest() == digest
        return response.content

    def tags(self, repository: str) -> list[str]:
        response = self._request("GET", f"/v2/{repository}/tags/list")
        if response.status_code == 404:
            return []
        return list(response.json().get("tags") or [])

    def delete(self, repository: str, digest: str) -> int:
        return self._request("DELETE", f"/v2/{repository}/manifests/{digest}").status_code

    def push_other(self, repository: str, tag: str) -> str:
        """Pushes a different manifest under ``tag`` (someone else's push), returning its digest."""
        config = json.dumps({"other": True}).encode()
        digest = "sha256:" + hashlib.sha256(config).hexdigest()
        started = self._request("POST", f"/v2/{repository}/blobs/uploads/")
        assert started.status_code == 202, started.text
        location = started.headers["Location"]
        separator = "&" if "?" in location else "?"
        put = self._request(
            "PUT",
            location.split(self.base_url, 1)[-1] + f"{separator}digest={digest}",
            data=config,
            headers={"Content-Type": "application/octet-stream"},
        )
        assert put.status_code == 201, put.text
        manifest = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {
                    "mediaType": "application/vnd.unknown.config.v1+json",
                    "digest": digest,
                    "size": len(config),
                },
                "layers": [],
            }
        ).encode()
        pushed = self._request(
            "PUT",
            f"/v2/{repository}/manifests/{tag}",
            data=manifest,
            headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"},
        )
        assert pushed.status_code == 201, pushed.text
        return "sha256:" + hashlib.sha256(manifest).hexdigest()


def layer_members(layer: bytes) -> dict[str, tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(layer))) as tar:
        return {member.name: member for member in tar.getmembers()}


def layer_file(layer: bytes, name: str) -> bytes:
    with tarfile.open(fileobj=io.BytesIO(layer), mode="r:gz") as tar:
        extracted = tar.extractfile(name)
        assert extracted is not None
        return extracted.read()


def existing_registry_config(
    registry: OciRegistry, palette_url: str, palette_api_key: str, pack_dirs: list[Path]
) -> dict[str, Any]:
    """The stack config of a registry the program does not deploy (``ociEndpoint``: the stand-in, reached by
    ``SERVER_NAME``), registered in the Palette fake, publishing ``pack_dirs``."""
    return {
        "registryKind": "oci",
        "ociEndpoint": f"https://{SERVER_NAME}:{registry.container.host_port}",
        "ociCaCertificate": registry.ca_certificate,
        "ociPushUser": registry.username,
        "ociPushPassword": registry.password,
        # The stand-in has one user: Palette pulls as the push user, named explicitly (the program warns).
        "paletteUser": registry.username,
        "readinessUrl": registry.url,
        "paletteApiUrl": palette_url,
        "paletteApiKey": palette_api_key,
        "packs": [str(pack_dir) for pack_dir in pack_dirs],
    }
