"""The nginx proxy in front of an OCI registry: its container paths and its server configuration.

CNCF distribution's htpasswd auth grants every authenticated user every action (distribution
``registry/auth/htpasswd/access.go``), so a read-only user could push. Each OCI instance is therefore two
containers on a private Docker network of their own (components/instance/container.py): the registry joins only
that network, under the alias REGISTRY_HOST, and publishes no port; nginx, the only one reachable through the
published port, terminates TLS, checks basic auth against the same bcrypt htpasswd file and lets only the admin
user write (distribution's nginx recipe, ``docs/content/recipes/nginx.md``, plus a split by method;
docs/registry-servers.md "The OCI kind"). nginx looks the registry's address up again while it runs
(RESOLVER), so a registry container that restarts with another address is found again (docs/oci.md, Restarts).

Nothing here touches Pulumi: ``proxy_config`` is a pure function of non-secret settings, and no password,
hash or key ever goes into its text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "ADMIN_WRITE_METHODS",
    "CERT_FILE",
    "CONFIG_FILE",
    "DENIED_BODY",
    "HTPASSWD_FILE",
    "KEY_FILE",
    "PROXY_PORT",
    "READ_METHODS",
    "READ_ONLY_ALLOW",
    "READ_ONLY_BODY",
    "REGISTRY_ADDRESS",
    "REGISTRY_DEBUG_ADDRESS",
    "REGISTRY_EGRESS_ADDRESS",
    "REGISTRY_HOST",
    "REGISTRY_PORT",
    "RESOLVER",
    "RESOLVE_VALID_SECONDS",
    "STOP_SIGNAL",
    "TLS_PROTOCOLS",
    "UNSUPPORTED_BODY",
    "UPSTREAM",
    "ProxyConfigArgs",
    "nginx_quote",
    "proxy_config",
    "registry_env",
]

CONFIG_FILE = "/etc/nginx/conf.d/default.conf"
"""Where the server configuration goes: it replaces the official image's default port-80 server (its
nginx.conf includes conf.d/*.conf inside the http block)."""
HTPASSWD_FILE = "/etc/nginx/registry/htpasswd"
"""The bcrypt htpasswd file (the legacy server reads the same content). nginx's workers (user nginx) read it on
every request, so it must be world-readable (0444)."""
CERT_FILE = "/etc/nginx/registry/tls.crt"
"""The server certificate chain (server certificate first)."""
KEY_FILE = "/etc/nginx/registry/tls.key"
"""The server key; nginx's master process (root) reads it at start."""

PROXY_PORT = 8443
"""Port nginx listens on in its container (also in plain-HTTP mode): the container port to publish."""
REGISTRY_HOST = "oci-registry"
"""The registry container's alias on the instance's private network, the name nginx reaches it by. The network
is the instance's own (only its proxy and its registry join it), so the same alias on every instance never
collides; Docker's embedded DNS answers it to containers on that network only."""
REGISTRY_PORT = 5000
UPSTREAM = f"{REGISTRY_HOST}:{REGISTRY_PORT}"
"""Where nginx reaches the registry: its alias on the private network, looked up through RESOLVER."""
REGISTRY_ADDRESS = f":{REGISTRY_PORT}"
"""REGISTRY_HTTP_ADDR of the registry container: every address of its own network namespace, which has the
loopback and the private network only (no port published, no other network joined)."""
REGISTRY_EGRESS_ADDRESS = UPSTREAM
"""REGISTRY_HTTP_ADDR of a registry that is also on an egress network (S3 storage): its alias, so it listens on
its private-network address only."""
REGISTRY_DEBUG_ADDRESS = "127.0.0.1:5001"
"""REGISTRY_HTTP_DEBUG_ADDR of the registry container (debug vars and Prometheus metrics): its loopback only,
not even the proxy reaches it."""
RESOLVER = "127.0.0.11"
"""Docker's embedded DNS server, in every container attached to a user-defined network (moby
libnetwork/sandbox_dns_unix.go ``resolverIPSandbox``); it answers the registry's alias with the address the
registry container has now."""
RESOLVE_VALID_SECONDS = 2
"""How long nginx keeps an answer (and a failed lookup) before asking again: ``valid=`` overrides the TTL of the
answer (nginx src/core/ngx_resolver.c ``ngx_resolver_process_a``; Docker's embedded DNS answers with a TTL of
600 s, libnetwork/resolver.go ``respTTL``). A registry restarted with another address is reached again within
this long after it listens."""
RESOLVER_TIMEOUT_SECONDS = 5

STOP_SIGNAL = "SIGQUIT"
"""The official image's STOPSIGNAL: nginx's graceful shutdown (stop accepting, finish requests in flight,
then exit). SIGTERM would be a fast shutdown that cuts uploads off."""

READ_METHODS = ("GET", "HEAD", "OPTIONS")
"""Methods every authenticated user may use."""
ADMIN_WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
"""Methods that change the registry: the admin user only (so is any other method nginx accepts)."""

TLS_PROTOCOLS = {"1.2": "TLSv1.2 TLSv1.3", "1.3": "TLSv1.3"}
"""tlsMinVersion -> nginx ``ssl_protocols`` (the values of components.config.TLS_MIN_VERSIONS)."""

PROXY_READ_TIMEOUT_SECONDS = 900
"""Long reads and writes to the registry (distribution's nginx recipe: 900)."""

DENIED_BODY = '{"errors":[{"code":"DENIED","message":"only the admin user may push or delete","detail":null}]}'
"""The body of the 403 a write by another user gets."""

READ_ONLY_ALLOW = "GET, HEAD"
"""The ``Allow`` header of distribution's 405 to a write in read-only maintenance mode (the upload, manifest and
blob routes then register GET and HEAD only, registry/handlers/{blobupload,manifests,blob}.go, and gorilla's
``MethodHandler`` lists them sorted). No route allows exactly these two otherwise, so the header tells that
mode apart from a method a route never takes."""

READ_ONLY_BODY = (
    '{"errors":[{"code":"UNSUPPORTED","message":"the registry is in read-only maintenance mode '
    '(maintenanceReadOnly): pushes and deletes are refused until it ends","detail":null}]}'
)
"""What a write to a registry in maintenance mode gets instead of distribution's bare "Method not allowed"."""

UNSUPPORTED_BODY = '{"errors":[{"code":"UNSUPPORTED","message":"The operation is unsupported.","detail":null}]}'
"""Any other 405 of the registry, in the API's error format (distribution registry/api/errcode
``ErrorCodeUnsupported``)."""

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_UPSTREAM = re.compile(r"(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\]):[0-9]{1,5}")
_RESOLVER = re.compile(r"[0-9]{1,3}(?:\.[0-9]{1,3}){3}")


@dataclass(frozen=True)
class ProxyConfigArgs:
    """The settings the proxy's server configuration depends on (none of them secret)."""

    admin_user: str
    """The one user allowed to write (adminUser). Compared case-sensitively, like nginx's htpasswd lookup."""
    realm: str
    """Basic-auth realm announced in the 401 challenge (authRealm)."""
    https: bool = True
    """Terminate TLS with CERT_FILE and KEY_FILE; False serves plain HTTP on the same port (tlsMode http)."""
    tls_min_version: str = "1.2"
    """Oldest TLS version accepted: "1.2" or "1.3" (tlsMinVersion)."""
    upstream: str = UPSTREAM
    """host:port of the registry, as nginx reaches it (a name is looked up through ``resolver``)."""
    resolver: str = RESOLVER
    """The DNS server nginx asks for the upstream's address, again every RESOLVE_VALID_SECONDS."""
    port: int = PROXY_PORT
    """Port nginx listens on."""


def nginx_quote(value: str) -> str:
    """``value`` as one double-quoted nginx token.

    nginx's parser (``ngx_conf_read_token``) turns ``\\"`` and ``\\\\`` inside quotes back into ``"`` and
    ``\\``; a ``$`` would start a variable, so none may reach here. Control characters have no safe place
    in a config line and are refused.
    """
    if _CONTROL.search(value):
        raise ValueError(f"{value!r} holds a control character")
    if "$" in value:
        raise ValueError(f"{value!r} holds '$', which nginx reads as a variable")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _realm_token(realm: str) -> str:
    """The auth_basic argument: a quoted complex value that nginx prints inside ``Basic realm="..."``.

    nginx copies the value into the challenge as it is (``ngx_http_auth_basic_set_realm``), so the realm is
    first escaped as an HTTP quoted-string (RFC 9110 section 5.6.4: ``\\"`` and ``\\\\``), then quoted for
    nginx. A ``$`` is written as ``${oci_proxy_dollar}``, a variable holding a literal dollar (``geo`` values
    are never parsed for variables), because nginx has no escape for it. nginx turns authentication off
    for a realm that evaluates to ``off`` (``ngx_http_auth_basic_handler``): refused.
    """
    if not realm.strip():
        raise ValueError("the realm is empty")
    if realm == "off":
        raise ValueError("the realm 'off' turns nginx's basic auth off")
    http_quoted = realm.replace("\\", "\\\\").replace('"', '\\"')
    parts = [nginx_quote(part)[1:-1] for part in http_quoted.split("$")]
    return '"' + "${oci_proxy_dollar}".join(parts) + '"'


def _exact_regex(value: str) -> str:
    """A PCRE pattern matching exactly ``value``: every character other than a letter, digit or ``_``
    escaped (a backslash before punctuation is always a literal in PCRE)."""
    return "".join(char if char.isascii() and (char.isalnum() or char == "_") else "\\" + char for char in value)


def _write_rule(admin_user: str) -> str:
    """The map that decides whether a request may go on to auth_basic.

    Its regexes are case-sensitive, like the htpasswd lookup (exact map keys are compared ignoring case,
    ``ngx_http_map_find``, so a read-only "Admin" would pass an exact "admin" key); ``\\z`` is the true end
    (``$`` would also match before a trailing newline).
    """
    read_key = nginx_quote("~^(" + "|".join(READ_METHODS) + "):")
    anonymous_key = nginx_quote("~^[A-Z_]+:\\z")
    admin_key = nginx_quote("~^[A-Z_]+:" + _exact_regex(admin_user) + "\\z")
    return f"""# Whether the request may go on to auth_basic: 0 for reads, for no credentials (auth_basic then answers
# 401 with the challenge) and for the admin's name (auth_basic then checks the password); 1 (403) for a
# write by anyone else.
map "$request_method:$remote_user" $oci_proxy_deny_write {{
    default 1;
    {read_key} 0;
    {anonymous_key} 0;
    {admin_key} 0;
}}"""


def _listen(args: ProxyConfigArgs) -> str:
    """The listen directive and, with https, the TLS settings."""
    if not args.https:
        return f"listen {args.port};\n"
    return f"""listen {args.port} ssl;

    ssl_certificate {nginx_quote(CERT_FILE)};
    ssl_certificate_key {nginx_quote(KEY_FILE)};
    ssl_protocols {TLS_PROTOCOLS[args.tls_min_version]};
    ssl_session_cache shared:oci_proxy_tls:10m;
    ssl_session_timeout 10m;
"""


def proxy_config(args: ProxyConfigArgs) -> str:
    """The text of CONFIG_FILE: the map rules of the method split and the one server.

    ``$remote_user`` is read before auth_basic runs (an ``if`` acts in nginx's rewrite phase, auth in the
    access phase), so the rule only looks at the name: a write by any name but the admin's is refused with
    403; the admin's name, or no credentials at all, fall through to auth_basic, which checks the password
    (and answers 401 with the Basic challenge when there are none, so clients retry with credentials).
    """
    if args.tls_min_version not in TLS_PROTOCOLS:
        raise ValueError(f"tls_min_version {args.tls_min_version!r} is not one of {sorted(TLS_PROTOCOLS)}")
    if not args.admin_user:
        raise ValueError("admin_user is empty")
    if not 0 < args.port < 65536:
        raise ValueError(f"port {args.port} is not a TCP port")
    if not _UPSTREAM.fullmatch(args.upstream):
        raise ValueError(f"upstream {args.upstream!r} is not host:port")
    if not _RESOLVER.fullmatch(args.resolver):
        raise ValueError(f"resolver {args.resolver!r} is not an IPv4 address")
    return f"""# Generated by the palette-pack-registry program: the nginx proxy in front of the OCI registry.
# Reads (GET, HEAD, OPTIONS) for every user of the htpasswd file; any other method for the admin user only.

{_write_rule(args.admin_user)}

# Distribution's recipe: announce the API version when the registry did not (nginx's own 401 and 403).
map $upstream_http_docker_distribution_api_version $oci_proxy_api_version {{
    "" "registry/2.0";
}}

# A literal "$" for the realm (geo values are not parsed for variables).
geo $oci_proxy_dollar {{
    default "$";
}}

# Where the registry is: a variable, so that nginx looks the name up through the resolver while it runs, again
# once an answer is older than valid= (a name in an upstream block, or written in proxy_pass, is resolved once,
# at start: ngx_http_upstream_init_request resolves at request time only a proxy_pass with variables whose host
# names no upstream block). A registry container restarted with another address is found again.
geo $oci_proxy_registry {{
    default {nginx_quote(args.upstream)};
}}

server {{
    {_listen(args)}    server_tokens off;

    resolver {args.resolver} valid={RESOLVE_VALID_SECONDS}s ipv6=off;
    resolver_timeout {RESOLVER_TIMEOUT_SECONDS}s;

    # Blobs of any size, streamed in both directions: uploads (chunked ones too) are passed on as they
    # come; downloads go through at most 1 MiB of memory per request and never to a temp file (measured
    # here: faster than proxy_buffering off, which moves 4 KiB at a time, and than nginx's default,
    # which spools big blobs to disk).
    client_max_body_size 0;
    lingering_close always;
    chunked_transfer_encoding on;
    proxy_request_buffering off;
    proxy_buffers 16 64k;
    proxy_busy_buffers_size 128k;
    proxy_max_temp_file_size 0;

    location /v2/ {{
        # The refusal in the registry API's error format (distribution registry/api/errcode: DENIED is
        # 403), so OCI clients show "denied: ..." instead of failing to parse an HTML page.
        default_type application/json;
        if ($oci_proxy_deny_write) {{
            return 403 {nginx_quote(DENIED_BODY)};
        }}
        auth_basic {_realm_token(args.realm)};
        auth_basic_user_file {nginx_quote(HTPASSWD_FILE)};
        add_header Docker-Distribution-Api-Version $oci_proxy_api_version always;

        proxy_pass http://$oci_proxy_registry;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header Host $http_host;
        proxy_set_header X-Real-IP $remote_addr;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_read_timeout {PROXY_READ_TIMEOUT_SECONDS}s;
        proxy_send_timeout {PROXY_READ_TIMEOUT_SECONDS}s;

        # The registry's 405s (a write in read-only maintenance mode, a method a route never takes) come as a
        # bare text "Method not allowed": answer them in the API's error format, saying which it is.
        proxy_intercept_errors on;
        error_page 405 = @oci_proxy_not_allowed;
    }}

    location @oci_proxy_not_allowed {{
        default_type application/json;
        add_header Allow $upstream_http_allow always;
        add_header Docker-Distribution-Api-Version registry/2.0 always;
        if ($upstream_http_allow = {nginx_quote(READ_ONLY_ALLOW)}) {{
            return 405 {nginx_quote(READ_ONLY_BODY)};
        }}
        return 405 {nginx_quote(UNSUPPORTED_BODY)};
    }}

    location / {{
        return 404;
    }}
}}
"""


def registry_env(*, egress: bool = False) -> list[str]:
    """The REGISTRY_* settings the registry container of an OCI instance needs next to its storage env.

    It listens on its own network namespace, whose only network is the instance's private one, where only the
    proxy reaches it. With ``egress`` (a bucket to reach) the namespace also has the instance's egress network,
    which the Docker host can reach: the registry then listens on its private-network address only, the one its
    alias has (REGISTRY_EGRESS_ADDRESS: Go's net.Listen resolves a host name and listens on that one address).
    Its debug and metrics server listens on 127.0.0.1 only (the official image's config puts it on :5001, every
    address of the container, which the proxy would reach). Deletes are allowed (else a manifest DELETE is 405
    UNSUPPORTED). It checks no password itself: nginx does, and a second bcrypt check per request by the
    registry made every pull 1.7 times slower (the benchmark in tests/benchmarks/test_oci_proxy.py) for a server
    that only the proxy can reach.
    """
    return [
        f"REGISTRY_HTTP_ADDR={REGISTRY_EGRESS_ADDRESS if egress else REGISTRY_ADDRESS}",
        f"REGISTRY_HTTP_DEBUG_ADDR={REGISTRY_DEBUG_ADDRESS}",
        "REGISTRY_STORAGE_DELETE_ENABLED=true",
    ]
