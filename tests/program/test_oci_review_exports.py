"""Review of registryKind oci's exported client commands: run as exported, do they reach the registry?

ORAS takes its TLS settings from the flags of each command: ``--ca-file``, ``--insecure`` and
``--plain-http`` are options of every remote command, read into that command's own ``tls.Config``;
``oras login`` stores only the credential (oras-project/oras cmd/oras/internal/option/remote.go,
``Remote.ApplyFlagsWithPrefix``, ``tlsConfig``, ``authClient``).
"""

from __future__ import annotations

import shlex
from typing import Any

import pytest

from tests.support.harness import run_program

SELF_SIGNED: dict[str, Any] = {"registryKind": "oci"}
PLAIN_HTTP: dict[str, Any] = {
    "registryKind": "oci",
    "tlsMode": "http",
    "allowInsecureHttp": True,
    "paletteRegistration": False,
}
PUBLIC_NAME: dict[str, Any] = {"registryKind": "oci", "hosts": ["registry.example.com"]}


@pytest.mark.parametrize(
    ("config", "flag"),
    [(SELF_SIGNED, "--ca-file"), (PUBLIC_NAME, "--ca-file"), (PLAIN_HTTP, "--plain-http")],
    ids=["self-signed", "self-signed-public-name", "http"],
)
def test_the_push_command_carries_the_tls_flag_the_login_command_needs(config: dict[str, Any], flag: str) -> None:
    """``loginCommand`` says ``--ca-file ca.crt`` (a private CA) or ``--plain-http`` (tlsMode http), but
    ``pushCommand`` says neither: ``oras push`` then verifies the registry against the system roots
    ("x509: certificate signed by unknown authority") or speaks TLS to a plain-HTTP port. The login
    does not carry the flag over (see the module docstring)."""
    exports = run_program(config, stack="dev").exports
    login = shlex.split(exports["loginCommand"])
    push = shlex.split(exports["pushCommand"])
    assert any(arg.startswith(flag) for arg in login), exports["loginCommand"]
    assert any(arg.startswith(flag) for arg in push), exports["pushCommand"]


def test_commands_for_a_localhost_endpoint_over_tls_do_not_fall_back_to_plain_http() -> None:
    """ORAS talks plain HTTP to ``localhost`` unless ``--plain-http`` is given explicitly
    (cmd/oras/internal/option/remote.go ``Remote.isPlainHttp``: "not specified, defaults to plain http for
    localhost"). The dev stack's endpoint is ``localhost:5443`` over TLS: ``oras login`` and ``oras push``
    as exported send plain HTTP to nginx's TLS port (400 "The plain HTTP request was sent to HTTPS port").
    Over TLS to localhost the commands must say ``--plain-http=false``."""
    exports = run_program(SELF_SIGNED, stack="dev").exports
    assert exports["packRepository"].startswith("localhost:")
    for command in ("loginCommand", "pushCommand"):
        assert "--plain-http=false" in shlex.split(exports[command]), exports[command]
