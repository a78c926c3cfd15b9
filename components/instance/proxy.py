"""The nginx proxy in front of an OCI registry: its container paths and its server configuration.

CNCF distribution's htpasswd auth grants every authenticated user every action (distribution
``registry/auth/htpasswd/access.go``), so a read-only user could push. Each OCI instance is therefore two
containers on a private Docker network of their own (components/instance/container.py): the registry joins only
that network, under the alias REGISTRY_HOST, and publishes no port; nginx, the only one reachable through the
published port, terminates TLS, checks basic auth against the same bcrypt htpasswd file and lets only the admin
user write (distribution's nginx recipe, ``docs/content/recipes/nginx.md``, plus a split by method;
docs/registry-servers.md "The OCI kind"). nginx looks the registry's address up again while it runs
(RESOLVER), so a registry container that restarts with another address is found again (docs/oci.md, Restarts).

A read is checked against every user's entry (HTPASSWD_FILE), a write against the admin's alone
(ADMIN_HTPASSWD_FILE): no rule looks at the user name, so every refused write looks the same whatever name it
carries. Each client address gets a bounded share of the proxy (requests a second, connections at once), far
above what a legitimate client uses, so a flood of wrong passwords from one address is cut before any bcrypt
check (docs/operating.md, "A flood of wrong passwords").

Nothing here touches Pulumi: ``proxy_config`` and ``main_config`` are pure functions of non-secret settings, and
no password, hash or key ever goes into their text (``admin_entries`` picks the admin's line of the htpasswd).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

__all__ = [
    "ADMIN_HTPASSWD_FILE",
    "ADMIN_WRITE_METHODS",
    "CERT_FILE",
    "CONFIG_FILE",
    "CONNECTIONS_PER_ADDRESS",
    "DENIED_BODY",
    "HTPASSWD_FILE",
    "KEY_FILE",
    "KEY_MODE",
    "MAIN_CONFIG_FILE",
    "PROXY_PORT",
    "READ_METHODS",
    "READ_ONLY_ALLOW",
    "READ_ONLY_BODY",
    "REGISTRY_ADDRESS",
    "REGISTRY_DEBUG_ADDRESS",
    "REGISTRY_EGRESS_ADDRESS",
    "REGISTRY_HOST",
    "REGISTRY_PORT",
    "REQUESTS_BURST",
    "REQUESTS_PER_SECOND",
    "RESOLVER",
    "RESOLVE_VALID_SECONDS",
    "STOP_SIGNAL",
    "TLS12_CIPHERS",
    "TLS_PROTOCOLS",
    "TOO_MANY_BODY",
    "UNAUTHORIZED_BODY",
    "UNSUPPORTED_BODY",
    "UPSTREAM",
    "WORKER_CONNECTIONS",
    "WORKER_RLIMIT_NOFILE",
    "ProxyConfigArgs",
    "admin_entries",
    "main_config",
    "nginx_quote",
    "proxy_config",
    "registry_env",
    "worker_processes",
]

CONFIG_FILE = "/etc/nginx/conf.d/default.conf"
"""Where the server configuration goes: it replaces the official image's default port-80 server (its
nginx.conf includes conf.d/*.conf inside the http block)."""
MAIN_CONFIG_FILE = "/etc/nginx/nginx.conf"
"""The main configuration (``main_config``): the official image's, with the workers matched to the container's
CPUs. It replaces the image's file (the image's command, ``nginx -g 'daemon off;'``, reads it)."""
HTPASSWD_FILE = "/etc/nginx/registry/htpasswd"
"""The bcrypt htpasswd file of every user (the legacy server reads the same content), checked for reads. nginx's
workers (user nginx) read it on every request, so it must be world-readable (0444)."""
ADMIN_HTPASSWD_FILE = "/etc/nginx/registry/htpasswd-admin"
"""The admin user's line of HTPASSWD_FILE alone (``admin_entries``), checked for writes; 0444 likewise."""
CERT_FILE = "/etc/nginx/registry/tls.crt"
"""The server certificate chain (server certificate first)."""
KEY_FILE = "/etc/nginx/registry/tls.key"
"""The server key. nginx's master process reads it as root when it starts, before its workers drop to user nginx
(ngx_ssl_certificate runs while the configuration is read, ngx_worker_process_init calls setuid afterwards), so
the key is readable by root only: KEY_MODE, owned by root as every upload is."""
KEY_MODE = "0400"
"""The key's mode in the proxy container (the other files are 0444)."""

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

TLS12_CIPHERS = (
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
)
"""The TLS 1.2 suites offered (``ssl_ciphers``): Mozilla's "intermediate" list, AEAD with forward secrecy only, no
CBC and no SHA-1 MAC (nginx's default, ``HIGH:!aNULL:!MD5``, offers both). Its three DHE suites are left out: nginx
uses DHE only with an ``ssl_dhparam`` file, which the program does not make. TLS 1.3's suites are all AEAD and
not set by this directive."""

REQUESTS_PER_SECOND = 300
"""Requests a second one client address may send on average (nginx ``limit_req``, leaky bucket). Far above any
legitimate client: Palette's sync and a cluster's nodes pulling packs behind one NAT make a few requests per pack;
the program publishing 220 packs made under 15 a second."""
REQUESTS_BURST = 3000
"""Requests above the rate one address may send at once before it gets 429 (served without delay: ``nodelay``)."""
CONNECTIONS_PER_ADDRESS = 256
"""Requests one client address may have in flight at once (nginx ``limit_conn``)."""
MAX_CONNECTIONS_PER_ADDRESS = 65535
"""The highest ``limit_conn`` nginx takes."""
LIMIT_ZONE_SIZE = "10m"
"""Shared memory per limit: about 160,000 addresses each (64 bytes per IPv4 state, nginx's docs)."""
WORKER_CONNECTIONS = 4096
"""Connections each nginx worker holds at once (the official image's 1024 is 512 proxied requests)."""
WORKER_RLIMIT_NOFILE = 2 * WORKER_CONNECTIONS
"""Open files each worker may have (``worker_rlimit_nofile``): its connections (a proxied request holds two:
worker_connections counts both) and its log and temporary files, with room. Some engines start containers with a
soft limit of 1024, below WORKER_CONNECTIONS (nginx then warns "worker_connections exceed open file resource
limit"); the master raises each worker's limit to this before the worker drops to user nginx (nginx
src/os/unix/ngx_process_cycle.c ``ngx_worker_process_init``), within the container's hard limit."""

PROXY_READ_TIMEOUT_SECONDS = 900
"""Long reads and writes to the registry (distribution's nginx recipe: 900)."""

DENIED_BODY = (
    '{"errors":[{"code":"DENIED","message":"only the admin user, with its password, may push or delete",'
    '"detail":null}]}'
)
"""The body of the 403 every refused write with credentials gets: another user's, a wrong password's, an unknown
name's alike (distribution registry/api/errcode: DENIED is 403)."""

UNAUTHORIZED_BODY = '{"errors":[{"code":"UNAUTHORIZED","message":"authentication required","detail":null}]}'
"""The body of a 401 (no credentials, or a read with a wrong password), with the Basic challenge (distribution
registry/api/errcode ``ErrorCodeUnauthorized``)."""

TOO_MANY_BODY = '{"errors":[{"code":"TOOMANYREQUESTS","message":"too many requests from this address","detail":null}]}'
"""The body of the 429 past the per-address limits (distribution registry/api/errcode ``ErrorCodeTooManyRequests``)."""

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
    requests_per_second: int = REQUESTS_PER_SECOND
    """Per client address: the average rate of requests (``limit_req``)."""
    requests_burst: int = REQUESTS_BURST
    """Per client address: requests above the rate served at once before 429."""
    connections_per_address: int = CONNECTIONS_PER_ADDRESS
    """Per client address: requests in flight at once (``limit_conn``)."""


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


def _user_files() -> str:
    """The maps that decide which htpasswd file checks a request, and what a refusal answers.

    Reads check every user's entry; any other method the admin's alone: no rule looks at the name, so a write by
    the admin's name with a wrong password, by another user, or by a name nobody has all fail the same way, at
    auth_basic. The method regexes are case-sensitive and whole (exact map keys are compared ignoring case,
    ``ngx_http_map_find``, so a method "get" would count as a read); ``\\z`` is the true end.
    """
    read_key = nginx_quote("~^(" + "|".join(READ_METHODS) + ")\\z")
    read_any = nginx_quote("~^(" + "|".join(READ_METHODS) + "):")
    anonymous_key = nginx_quote("~^[^:]*:\\z")
    return f"""# Which htpasswd file checks the request: every user's for reads, the admin's alone for anything else.
map $request_method $oci_proxy_user_file {{
    default {nginx_quote(ADMIN_HTPASSWD_FILE)};
    {read_key} {nginx_quote(HTPASSWD_FILE)};
}}

# A refused request with credentials that is not a read: 403, the same for every name and password. Without
# credentials it stays 401 with the challenge, so clients retry with theirs.
map "$request_method:$http_authorization" $oci_proxy_refused_write {{
    default 1;
    {read_any} 0;
    {anonymous_key} 0;
}}"""


def _listen(args: ProxyConfigArgs) -> str:
    """The listen directive and, with https, the TLS settings."""
    if not args.https:
        return f"listen {args.port};\n"
    return f"""listen {args.port} ssl;

    ssl_certificate {nginx_quote(CERT_FILE)};
    ssl_certificate_key {nginx_quote(KEY_FILE)};
    ssl_protocols {TLS_PROTOCOLS[args.tls_min_version]};
    ssl_ciphers {TLS12_CIPHERS};
    ssl_prefer_server_ciphers off;
    ssl_session_cache shared:oci_proxy_tls:10m;
    ssl_session_timeout 10m;
    ssl_session_tickets off;
"""


def proxy_config(args: ProxyConfigArgs) -> str:
    """The text of CONFIG_FILE: the per-address limits, the maps of the method split and the one server.

    Per client address, ``limit_req`` and ``limit_conn`` (nginx's preaccess phase) refuse with 429 what exceeds
    the limits before auth_basic (the access phase) checks any password. auth_basic then checks the request
    against the file ``$oci_proxy_user_file`` names (every user's for reads, the admin's for writes); its 401
    goes to ``@oci_proxy_refused``, which answers a write that carried credentials with 403, and anything else
    with the 401 and the Basic challenge auth_basic set (a named location keeps the response headers and the
    method: ngx_http_named_location, unlike an error_page URI, which turns the method into GET).
    """
    if args.tls_min_version not in TLS_PROTOCOLS:
        raise ValueError(f"tls_min_version {args.tls_min_version!r} is not one of {sorted(TLS_PROTOCOLS)}")
    if not 0 < args.port < 65536:
        raise ValueError(f"port {args.port} is not a TCP port")
    if not _UPSTREAM.fullmatch(args.upstream):
        raise ValueError(f"upstream {args.upstream!r} is not host:port")
    for name in ("requests_per_second", "requests_burst", "connections_per_address"):
        value = getattr(args, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} {value!r} is not a positive whole number")
    if args.connections_per_address > MAX_CONNECTIONS_PER_ADDRESS:
        # ngx_http_limit_conn_module: "connection limit must be less 65536"
        raise ValueError(f"connections_per_address {args.connections_per_address} is above nginx's limit, 65535")
    if not _RESOLVER.fullmatch(args.resolver):
        raise ValueError(f"resolver {args.resolver!r} is not an IPv4 address")
    return f"""# Generated by the palette-pack-registry program: the nginx proxy in front of the OCI registry.
# Reads (GET, HEAD, OPTIONS) for every user of the htpasswd file; any other method for the admin user only.

{_user_files()}

# Distribution's recipe: announce the API version when the registry did not (nginx's own 401 and 403).
map $upstream_http_docker_distribution_api_version $oci_proxy_api_version {{
    "" "registry/2.0";
}}

# A literal "$" for the realm (geo values are not parsed for variables).
geo $oci_proxy_dollar {{
    default "$";
}}

# Per client address: requests a second and requests in flight, far above what a legitimate client uses (Palette's
# sync, a cluster's nodes behind one NAT), so that one address cannot take the proxy from the others.
limit_req_zone $binary_remote_addr zone=oci_proxy_requests:{LIMIT_ZONE_SIZE} rate={args.requests_per_second}r/s;
limit_conn_zone $binary_remote_addr zone=oci_proxy_connections:{LIMIT_ZONE_SIZE};

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

    limit_req zone=oci_proxy_requests burst={args.requests_burst} nodelay;
    limit_conn oci_proxy_connections {args.connections_per_address};
    limit_req_status 429;
    limit_conn_status 429;

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
        # Refusals in the registry API's error format (distribution registry/api/errcode), so OCI clients show
        # "denied: ..." or "unauthorized: ..." instead of failing to parse an HTML page.
        default_type application/json;
        auth_basic {_realm_token(args.realm)};
        auth_basic_user_file $oci_proxy_user_file;
        add_header Docker-Distribution-Api-Version $oci_proxy_api_version always;

        proxy_pass http://$oci_proxy_registry;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        # The registry builds upload URLs from these (distribution registry/api/v2/urls.go
        # NewURLBuilderFromRequest: Forwarded first, else X-Forwarded-Proto and -Host) and logs the client address
        # from X-Forwarded-For, else X-Real-Ip (context/http.go RemoteAddr): each is set here from what nginx
        # saw, never passed on from the client ("" drops the client's Forwarded).
        proxy_set_header Host $http_host;
        proxy_set_header X-Forwarded-Host $http_host;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_set_header X-Forwarded-For $remote_addr;
        proxy_set_header X-Real-IP $remote_addr;
        proxy_set_header Forwarded "";
        proxy_read_timeout {PROXY_READ_TIMEOUT_SECONDS}s;
        proxy_send_timeout {PROXY_READ_TIMEOUT_SECONDS}s;

        # The registry's 405s (a write in read-only maintenance mode, a method a route never takes) come as a
        # bare text "Method not allowed": answer them in the API's error format, saying which it is.
        proxy_intercept_errors on;
        error_page 401 = @oci_proxy_refused;
        error_page 405 = @oci_proxy_not_allowed;
        error_page 429 = @oci_proxy_too_many;
    }}

    location @oci_proxy_refused {{
        default_type application/json;
        add_header Docker-Distribution-Api-Version registry/2.0 always;
        if ($oci_proxy_refused_write) {{
            return 403 {nginx_quote(DENIED_BODY)};
        }}
        return 401 {nginx_quote(UNAUTHORIZED_BODY)};
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

    location @oci_proxy_too_many {{
        default_type application/json;
        add_header Retry-After 1 always;
        add_header Docker-Distribution-Api-Version registry/2.0 always;
        return 429 {nginx_quote(TOO_MANY_BODY)};
    }}

    location / {{
        return 404;
    }}
}}
"""


def main_config(cpus: str | float | None) -> str:
    """The text of MAIN_CONFIG_FILE: the official image's nginx.conf (user nginx, logs to the container's output,
    conf.d/*.conf in the http block) with ``worker_processes`` from ``worker_processes(cpus)``,
    WORKER_CONNECTIONS and WORKER_RLIMIT_NOFILE."""
    return f"""# Generated by the palette-pack-registry program: the official nginx image's nginx.conf, with its workers
# matched to the container's CPU limit (cpus).
user  nginx;
worker_processes  {worker_processes(cpus)};
worker_rlimit_nofile  {WORKER_RLIMIT_NOFILE};

error_log  /var/log/nginx/error.log notice;
pid        /run/nginx.pid;

events {{
    worker_connections  {WORKER_CONNECTIONS};
}}

http {{
    include       /etc/nginx/mime.types;
    default_type  application/octet-stream;

    log_format  main  '$remote_addr - $remote_user [$time_local] "$request" '
                      '$status $body_bytes_sent "$http_referer" '
                      '"$http_user_agent" "$http_x_forwarded_for"';

    access_log  /var/log/nginx/access.log  main;

    sendfile        on;
    keepalive_timeout  65;

    include /etc/nginx/conf.d/*.conf;
}}
"""


def worker_processes(cpus: str | float | None) -> str:
    """nginx's ``worker_processes`` for a container limited to ``cpus`` (None or 0: no limit; the config's text, such
    as "1.5", or a number).

    ``auto`` counts the CPUs the host has (ngx_ncpu, from sysconf(_SC_NPROCESSORS_ONLN)), not a cgroup's CPU quota:
    under ``--cpus 1`` on a 16-core host it would start 16 workers sharing one CPU's time. One worker per whole CPU
    the limit allows (at least one) uses the limit and no more.
    """
    if cpus is None or not float(cpus):
        return "auto"
    return str(max(1, math.ceil(float(cpus))))


def admin_entries(htpasswd: str, admin_user: str) -> str:
    """The admin's line of an htpasswd file: ADMIN_HTPASSWD_FILE's content. A file without one is refused (nginx
    would then refuse every write, the admin's too)."""
    lines = [line for line in htpasswd.splitlines() if line.split(":", 1)[0] == admin_user]
    if len(lines) != 1:
        raise ValueError(f"the htpasswd file has {len(lines)} entries for admin user {admin_user!r}, not one")
    return lines[0] + "\n"


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
