"""The docker stand-in's connection: the provider's host settings, and the docker CLI run against that host."""

from __future__ import annotations

import json
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.cli.plugins.server import Props
from tests.support.docker_support import DockerError

__all__ = ["TIMEOUT", "DockerHost"]

TIMEOUT = 120
"""Seconds for one docker command (a stop adds its grace period)."""


@dataclass
class DockerHost:
    """The provider's configuration: where the docker CLI connects."""

    host: str = ""
    context: str = ""
    cert_path: str = ""
    ca_material: str = ""
    cert_material: str = ""
    key_material: str = field(default="", repr=False)

    def configure(self, config: Props) -> None:
        """Takes the provider's settings (the Python SDK sends sshOpts and registryAuth as JSON text,
        pulumi_docker/provider.py to_json). registryAuth is not needed: nothing is pulled."""
        ssh_opts = config.get("sshOpts") or []
        if json.loads(ssh_opts) if isinstance(ssh_opts, str) else ssh_opts:
            raise ValueError("the docker stand-in cannot pass sshOpts to ssh: leave them empty")
        self.host = str(config.get("host") or "")
        self.context = str(config.get("context") or "")
        self.cert_path = str(config.get("certPath") or "")
        self.ca_material = str(config.get("caMaterial") or "")
        self.cert_material = str(config.get("certMaterial") or "")
        self.key_material = str(config.get("keyMaterial") or "")

    @property
    def where(self) -> str:
        if self.context:
            return f"Docker context {self.context}"
        return self.host or "the default Docker host"

    @contextmanager
    def flags(self) -> Iterator[list[str]]:
        # The provider's DOCKER_CONTEXT wins over host (provider.go configure); the CLI refuses both at once.
        if self.context:
            yield ["--context", self.context]
            return
        flags = ["--host", self.host] if self.host else []
        if self.cert_path:
            files = {name: str(Path(self.cert_path, f"{name}.pem")) for name in ("ca", "cert", "key")}
            flags += ["--tlsverify", "--tlscacert", files["ca"], "--tlscert", files["cert"], "--tlskey", files["key"]]
        materials = {"--tlscacert": self.ca_material, "--tlscert": self.cert_material, "--tlskey": self.key_material}
        if not any(materials.values()):
            yield flags
            return
        with tempfile.TemporaryDirectory() as directory:
            flags.append("--tlsverify" if self.ca_material else "--tls")
            for flag, content in materials.items():
                if content:
                    path = Path(directory, flag.removeprefix("--tls"))
                    path.touch(mode=0o600)
                    path.write_text(content)
                    flags += [flag, str(path)]
            yield flags

    def run(
        self, *args: str, input_: bytes | None = None, missing_ok: bool = False, timeout: float = TIMEOUT
    ) -> str | None:
        """``docker ARGS`` on this host, its stdout; None when ``missing_ok`` and the object does not exist."""
        with self.flags() as flags:
            result = subprocess.run(
                ["docker", *flags, *args], input=input_, capture_output=True, timeout=timeout, check=False
            )
        if result.returncode == 0:
            return result.stdout.decode(errors="replace")
        stderr = result.stderr.decode(errors="replace").strip()
        # "No such container/volume/image", "network <id> not found".
        if missing_ok and ("no such" in stderr.lower() or stderr.lower().endswith("not found")):
            return None
        raise DockerError(f"docker {args[0]} {args[1] if len(args) > 1 else ''} on {self.where} failed: {stderr}")

    def inspect(self, kind: str, name: str) -> dict[str, Any] | None:
        found = self.run(kind, "inspect", name, missing_ok=True)
        return json.loads(found)[0] if found else None
