"""The Pack provider on day two, against a registry that answers the TLS handshake and then nothing (the nginx
proxy of the OCI kind in front of a paused or hung registry: its proxy_read_timeout is 900 s, so the client's own
read timeout is what ends each request).

A refresh reads every pack; the SDK's provider host serves them on 4 threads (pulumi/dynamic/__main__.py
``ThreadPoolExecutor(max_workers=4)``). Each read of a hung registry waits ``oci_client.TIMEOUT``'s read timeout
(120 s) for each of its attempts (``_RETRY``: 1 + 4). Unless the reads after the first verdict take it as given
(``unreachable.recently_unreachable``), the benchmarks' 220 packs cost 1100 x 120 s / 4 = 9 hours.
"""

from __future__ import annotations

import math
import socket
import ssl
import tempfile
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest

from components.packs import PackProvider, oci_client
from tests.packs.test_unreachable import NAME, pack_props
from tests.support.oci_scripted import Scripted
from tests.support.tls_support import Authority

PACKS = 220
"""The benchmark corpus (docs/benchmarks.md)."""
WORKERS = 4
"""The SDK's provider host: one thread per concurrent gRPC call, four at most."""
BUDGET_SECONDS = 600.0
"""What a refresh of 220 packs may cost when the registry hangs: the user learns in one warning that it cannot be
reached; ten minutes to get there is already generous."""
REAL_READ_TIMEOUT = oci_client.TIMEOUT[1]


@contextmanager
def hung_tls_registry(authority: Authority) -> Iterator[tuple[str, list[bytes]]]:
    """HTTPS on 127.0.0.1 that completes the handshake, reads the request, and never answers. Yields its URL and
    the request lines it received (one per attempt)."""
    leaf = authority.issue([NAME], [])
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with tempfile.TemporaryDirectory() as directory:
        Path(directory, "tls.crt").write_text(leaf.certificate_pem)
        Path(directory, "tls.key").write_text(leaf.private_key_pem)
        context.load_cert_chain(Path(directory, "tls.crt"), Path(directory, "tls.key"))
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    listener.settimeout(0.05)
    received: list[bytes] = []
    held: list[socket.socket] = []
    stop = threading.Event()

    def serve(connection: socket.socket) -> None:
        try:
            wrapped = context.wrap_socket(connection, server_side=True)
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = wrapped.recv(4096)
                if not chunk:
                    return
                data += chunk
            received.append(data.split(b"\r\n", 1)[0])
            held.append(wrapped)
        except (OSError, ssl.SSLError):
            return

    def accept() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=serve, args=(connection,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{listener.getsockname()[1]}", received
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()
        for connection in held:
            connection.close()


def test_a_refresh_of_220_packs_behind_a_hung_registry_ends_within_ten_minutes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every attempt that reaches the hung registry costs the real read timeout; the attempts are counted with the
    timeout cut to 50 ms (and no backoff sleeps) and priced at the real timeout, over the host's 4 threads."""
    authority = Authority.create("Hung Registry CA")
    monkeypatch.setattr(oci_client, "TIMEOUT", (5.0, 0.05))
    monkeypatch.setattr(oci_client, "_RETRY", oci_client._RETRY.new(backoff_factor=0))
    with hung_tls_registry(authority) as (url, received):
        props = {**pack_props(Scripted(url=url), authority), "reference": "r", "manifest_digest": "sha256:0"}
        provider = PackProvider()
        with ThreadPoolExecutor(max_workers=WORKERS) as pool:
            reads = list(pool.map(lambda index: provider.read(f"pack-{index}", props), range(PACKS)))

    assert all(read.id for read in reads), "a hung registry must keep every pack"
    attempts = len(received)
    estimate = math.ceil(attempts / WORKERS) * REAL_READ_TIMEOUT
    assert estimate <= BUDGET_SECONDS, (
        f"a refresh of {PACKS} packs behind a hung registry makes {attempts} requests, each waiting the "
        f"{REAL_READ_TIMEOUT:g} s read timeout: about {estimate / 3600:.1f} h on the provider host's {WORKERS} threads"
    )
