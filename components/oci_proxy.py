"""Placeholder: replaced by the oci-proxy branch (nginx config of the OCI kind's proxy)."""

from __future__ import annotations

from dataclasses import dataclass

PROXY_PORT = 8443
UPSTREAM = "127.0.0.1:5000"
CONFIG_FILE = "/etc/nginx/conf.d/default.conf"
HTPASSWD_FILE = "/etc/nginx/registry/htpasswd"
CERT_FILE = "/etc/nginx/registry/tls.crt"
KEY_FILE = "/etc/nginx/registry/tls.key"


@dataclass(frozen=True)
class ProxyConfig:
    admin_user: str
    realm: str
    https: bool
    tls_min_version: str = "1.2"
    upstream: str = UPSTREAM


def proxy_config(config: ProxyConfig) -> str:
    return f"# proxy for {config.admin_user} {config.realm} {config.https} {config.tls_min_version}\n"
