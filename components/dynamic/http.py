"""HTTPS to an address, verified for the name clients use, trusting only a given CA (held in memory).

Tests and the machine running Pulumi often reach a registry at an address (``127.0.0.1``, a node's IP)
that is not the name its certificate is issued for. ``VerifyingAdapter`` connects to the URL's address
and verifies the certificate for ``server_name``; ``trust_context`` builds the ``ssl`` context from the PEM
text, so no CA file is ever written to disk.
"""

from __future__ import annotations

import ssl
from typing import Any

import requests
import requests.adapters
import urllib3

__all__ = ["VerifyingAdapter", "trust_context"]


def trust_context(ca_certificate: str | None) -> ssl.SSLContext:
    """A client context trusting ``ca_certificate`` (PEM) only, or the system store when None.

    Every certificate given is an anchor, as in Go clients (Palette, the Spectro CLI) and in Python
    3.13's default context: in provided mode the trusted chain starts with the server certificate and may
    lack the self-signed root. Host-name and chain checks stay on. Raises ``ssl.SSLError`` for a PEM that
    cannot be loaded.
    """
    if not ca_certificate:
        return ssl.create_default_context()
    context = ssl.create_default_context(cadata=ca_certificate)
    context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
    return context


class VerifyingAdapter(requests.adapters.HTTPAdapter):
    """Connects to the URL's address but verifies TLS for ``server_name``, trusting only the given context.

    ``server_hostname`` (a urllib3 pool keyword) sets SNI and the name Python's ``ssl`` checks the
    certificate against, so the errors stay ``ssl``'s own ("Hostname mismatch", "IP address mismatch").
    """

    def __init__(
        self, context: ssl.SSLContext, server_name: str | None, max_retries: urllib3.util.Retry | int = 0
    ) -> None:
        self._context = context
        self._server_name = server_name
        super().__init__(max_retries=max_retries)

    def init_poolmanager(self, connections: int, maxsize: int, block: bool = False, **pool_kwargs: Any) -> None:
        pool_kwargs["ssl_context"] = self._context
        if self._server_name:
            pool_kwargs["server_hostname"] = self._server_name
        super().init_poolmanager(connections, maxsize, block, **pool_kwargs)

    def cert_verify(self, conn: Any, url: str, verify: Any, cert: Any) -> None:
        super().cert_verify(conn, url, verify, cert)
        # requests would add certifi's bundle to the context; trust stays what the context holds.
        conn.ca_certs = None
        conn.ca_cert_dir = None
