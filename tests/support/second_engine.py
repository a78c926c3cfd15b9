"""A second Docker engine with a daemon.json of its own, beside the one every test shares.

Everything it has is its own, in a temporary directory: the config file, ``--data-root``, ``--exec-root``
(its containerd's state too), ``--pidfile`` and the API socket (``-H unix://...``); its containers use a
bridge made for it (``--bridge``), with ``--iptables=false --ip6tables=false --ip-masq=false`` so the main
engine's rules are untouched; vfs storage works on any file system. Ports published on loopback still work
through docker-proxy. The stand-in image is copied in with `docker save | docker load`. Needs root (dockerd),
like scripts/start-dockerd.sh.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["SecondEngine", "second_engine"]


@dataclass(frozen=True)
class SecondEngine:
    host: str
    """unix:// URL of its API socket."""
    daemon_json: dict[str, Any]
    restart: Callable[[], float] = field(repr=False, default=lambda: 0.0)
    """Stops the daemon (SIGTERM: it stops its containers, as on a host's shutdown) and starts it again with the
    same flags and data; returns the seconds until it answered again. Its ``restart: always`` containers are
    started again by the daemon itself, in an order of its own."""


def _root(command: list[str]) -> list[str]:
    return command if os.geteuid() == 0 else ["sudo", "-n", *command]


@contextmanager
def second_engine(daemon_json: dict[str, Any], image: str, wait_seconds: float = 60) -> Iterator[SecondEngine]:
    if shutil.which("dockerd") is None or shutil.which("ip") is None:
        raise RuntimeError("dockerd and ip are needed for a second engine: install docker.io and iproute2")
    directory = Path(tempfile.mkdtemp(prefix="second-dockerd-"))
    bridge = f"dhbr{secrets.token_hex(3)}"
    socket = directory / "docker.sock"
    config = directory / "daemon.json"
    config.write_text(json.dumps(daemon_json))
    log = (directory / "dockerd.log").open("wb")
    subprocess.run(_root(["ip", "link", "add", bridge, "type", "bridge"]), check=True, capture_output=True)
    process = None
    try:
        subprocess.run(_root(["ip", "link", "set", bridge, "up"]), check=True, capture_output=True)
        flags = [
            *("--config-file", str(config)),
            *("--data-root", str(directory / "data")),
            *("--exec-root", str(directory / "exec")),
            *("--pidfile", str(directory / "dockerd.pid")),
            *("-H", f"unix://{socket}"),
            *("--bridge", bridge),
            *("--iptables=false", "--ip6tables=false", "--ip-masq=false"),
            *("--storage-driver", "vfs"),
        ]
        host = f"unix://{socket}"

        def start() -> subprocess.Popen[bytes]:
            started = subprocess.Popen(_root(["dockerd", *flags]), stdout=log, stderr=subprocess.STDOUT)
            deadline = time.monotonic() + wait_seconds
            while subprocess.run(["docker", "-H", host, "info"], capture_output=True, check=False).returncode != 0:
                if started.poll() is not None or time.monotonic() > deadline:
                    tail = (directory / "dockerd.log").read_text()[-2000:]
                    raise RuntimeError(f"the second dockerd did not answer: {tail}")
                time.sleep(0.2)
            return started

        def restart() -> float:
            nonlocal process
            assert process is not None
            _stop(process)
            began = time.monotonic()
            process = start()
            return time.monotonic() - began

        process = start()
        saved = subprocess.run(["docker", "save", image], capture_output=True, check=True).stdout
        subprocess.run(["docker", "-H", host, "load", "-q"], input=saved, capture_output=True, check=True)
        yield SecondEngine(host, daemon_json, restart)
    finally:
        if process is not None:
            # Its containers go with it: the data root is removed below.
            subprocess.run(["docker", "-H", f"unix://{socket}", "rm", "-f", "-v", *_containers(socket)], check=False,
                           capture_output=True)  # fmt: skip
            _stop(process)
        subprocess.run(_root(["ip", "link", "del", bridge]), check=False, capture_output=True)
        log.close()
        subprocess.run(_root(["rm", "-rf", str(directory)]), check=False, capture_output=True)


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the daemon (it stops its containers first), SIGKILL after 30 s."""
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def _containers(socket: Path) -> list[str]:
    listed = subprocess.run(
        ["docker", "-H", f"unix://{socket}", "ps", "-aq"], capture_output=True, check=False, text=True
    ).stdout
    return listed.split()
