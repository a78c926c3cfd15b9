"""Review test: asking a tcp+TLS engine never stops `pulumi preview`/`up` at a terminal prompt.

components/docker_engine.py loads the stack's client certificate and key with ``SSLContext.load_cert_chain``
and no ``password``. For an encrypted key (``-----BEGIN ENCRYPTED PRIVATE KEY-----``, which the config accepts
as dockerKey), Python's documentation of load_cert_chain says: "If the password argument is not specified and a
password is required, OpenSSL's built-in password prompting mechanism will be used to interactively prompt the
user for a password." Under `pulumi up` in a terminal the program shares the CLI's controlling terminal (the
language host runs it as a plain child process), so the run stops at "Enter PEM pass phrase:" with no timeout:
none of docker_engine's TIMEOUT_SECONDS applies before the connection is made. (The provider could not use such a
key either: Go's tls.X509KeyPair in config.go buildHTTPClientFromBytes does not decrypt it.)

The engine is asked here in a child process that has a pseudo-terminal as its controlling terminal, as under
`pulumi up`; the test reads that terminal. The 30-second guard only ends the child if it hangs.
"""

from __future__ import annotations

import os
import pty
import select
import signal
import time

from cryptography.hazmat.primitives import serialization

from components import docker_engine
from tests.support.fake_engine import serve_tls_engine
from tests.support.tls_support import Authority

GUARD_SECONDS = 30


def _encrypted(private_key_pem: str) -> str:
    key = serialization.load_pem_private_key(private_key_pem.encode(), password=None)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"passphrase-of-the-key"),
    ).decode()


def _ask_on_a_terminal(host: str, ca: str, cert: str, key: str) -> tuple[bytes, bool]:
    """What the child printed on its terminal, and whether it finished by itself."""
    pid, terminal = pty.fork()
    if pid == 0:  # the child: ask, report on its terminal (fd 1: pytest captures sys.stdout), exit at once
        report = "ASKED: answered"
        try:
            docker_engine.ask_engine(host, "spectro-registry", ca_material=ca, cert_material=cert, key_material=key)
        except Exception as error:  # reported to the parent, which asserts on it
            report = f"ASKED: {type(error).__name__}: {error}"
        finally:
            os.write(1, report.encode() + b"\n")
            os._exit(0)
    seen = b""
    deadline = time.monotonic() + GUARD_SECONDS
    # poll, not select: in a long test run the terminal's descriptor may be past select's 1024.
    poller = select.poll()
    poller.register(terminal, select.POLLIN)
    while time.monotonic() < deadline and b"ASKED:" not in seen:
        ready = poller.poll(200)
        if ready:
            try:
                chunk = os.read(terminal, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    finished = b"ASKED:" in seen
    if finished:
        os.waitpid(pid, 0)
    else:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    os.close(terminal)
    return seen, finished


def test_an_encrypted_client_key_does_not_stop_the_run_at_a_passphrase_prompt() -> None:
    authority = Authority.create("Docker daemon CA")
    server = authority.issue([], ["127.0.0.1"])
    client = authority.issue(["pulumi-deployer"], [], client=True)
    ca = authority.certificate_pem
    info = {"MemoryLimit": True, "SwapLimit": True}
    with serve_tls_engine(ca, server.certificate_pem, server.private_key_pem, info) as engine:
        seen, finished = _ask_on_a_terminal(
            f"tcp://127.0.0.1:{engine.port}", ca, client.certificate_pem, _encrypted(client.private_key_pem)
        )
    assert b"pass phrase" not in seen.lower(), f"the run waits at a prompt on the user's terminal: {seen!r}"
    assert finished and b"ASKED:" in seen, seen
    # A key the engine cannot be asked with is reported like an engine that does not answer (a warning).
    assert b"ASKED: EngineUnreachable" in seen or b"ASKED: answered" in seen, seen
