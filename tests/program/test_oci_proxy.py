"""The nginx proxy's server configuration text (components/instance/proxy.py), read back as nginx reads it.

``unquote`` follows nginx's ``ngx_conf_read_token`` (src/core/ngx_conf_file.c): inside a token ``\\"``,
``\\'`` and ``\\\\`` lose their backslash, ``\\t``, ``\\r``, ``\\n`` become control characters, any other
backslash stays. The map's regex keys are then run with Python's ``re`` (PCRE's ``\\z`` is Python's
``\\Z``: the very end, no newline allowed before it) to check which method/user pairs may write.
The live behaviour of the same text is in tests/integration/test_oci_proxy.py.
"""

from __future__ import annotations

import json
import re

import pytest

from components.instance import proxy as oci_proxy
from components.instance.proxy import ProxyConfigArgs, nginx_quote, proxy_config
from components.project import declared_config


def unquote(token: str) -> str:
    """A double-quoted nginx token as nginx stores it."""
    assert token.startswith('"') and token.endswith('"'), token
    body, out, index = token[1:-1], [], 0
    while index < len(body):
        char = body[index]
        if char == "\\" and index + 1 < len(body):
            following = body[index + 1]
            if following in "\"'\\":
                out.append(following)
                index += 2
                continue
            if following in "trn":
                out.append({"t": "\t", "r": "\r", "n": "\n"}[following])
                index += 2
                continue
        if char == '"':
            raise AssertionError(f"unescaped quote inside {token!r}")
        out.append(char)
        index += 1
    return "".join(out)


def _block(text: str, header: str) -> str:
    start = text.index(header)
    return text[start : text.index("}", start)]


def _map_rules(text: str, header: str) -> tuple[str, list[tuple[str, str]]]:
    """A map's default and its other entries, as (key, value), keys and values as nginx stores them."""
    block = _block(text, header)
    default, rules = "", []
    for line in block.splitlines()[1:]:
        line = line.strip()
        if not line:
            continue
        token, value = line.rstrip(";").rsplit(" ", 1)
        value = unquote(value) if value.startswith('"') else value
        if token == "default":
            default = value
        else:
            rules.append((unquote(token), value))
    return default, rules


def _matches(key: str, subject: str) -> bool:
    """nginx's map semantics (ngx_http_map_find): "~" a case-sensitive regex, "~*" a case-insensitive one,
    anything else an exact string compared case-insensitively."""
    if key.startswith("~*"):
        return re.search(key[2:].replace("\\z", "\\Z"), subject, re.IGNORECASE) is not None
    if key.startswith("~"):
        return re.search(key[1:].replace("\\z", "\\Z"), subject) is not None
    return key.lower() == subject.lower()


def _map(text: str, header: str, subject: str) -> str:
    """The value nginx's map gives ``subject``: exact keys win over regexes, regexes are tried in order, else the
    default."""
    default, rules = _map_rules(text, header)
    for key, value in [rule for rule in rules if not rule[0].startswith("~")] + [
        rule for rule in rules if rule[0].startswith("~")
    ]:
        if _matches(key, subject):
            return value
    return default


USER_FILE_MAP = "map $request_method $oci_proxy_user_file {"
REFUSED_WRITE_MAP = 'map "$request_method:$http_authorization" $oci_proxy_refused_write {'


def user_file(text: str, method: str) -> str:
    """The htpasswd file auth_basic checks ``method`` against."""
    return _map(text, USER_FILE_MAP, method)


def refused_as_403(text: str, method: str, authorization: str) -> bool:
    """Whether a request auth_basic refused answers 403 (else 401 with the challenge)."""
    return _map(text, REFUSED_WRITE_MAP, f"{method}:{authorization}") == "1"


def _realm(text: str) -> str:
    """The realm as nginx prints it into the challenge, ${oci_proxy_dollar} resolved."""
    (line,) = [line.strip() for line in text.splitlines() if line.strip().startswith("auth_basic ")]
    token = line.removeprefix("auth_basic ").removesuffix(";")
    return unquote(token).replace("${oci_proxy_dollar}", "$")


def http_unquote(value: str) -> str:
    """An RFC 9110 quoted-string's content, quoted-pairs resolved."""
    return re.sub(r"\\(.)", r"\1", value)


def test_writes_are_checked_against_the_admins_entry_alone_and_reads_against_every_users() -> None:
    """No rule looks at the user name: which file checks a request depends on its method only, so a write by the
    admin's name with a wrong password, by another user, or by a name nobody has fail alike (issue 22: a rule on
    the name told the admin's name from the others)."""
    text = proxy_config(ProxyConfigArgs(realm="R"))
    assert "$remote_user" not in text
    for method in oci_proxy.READ_METHODS:
        assert user_file(text, method) == oci_proxy.HTPASSWD_FILE
    # Methods are matched whole and case-sensitively: anything else is a write.
    for method in (*oci_proxy.ADMIN_WRITE_METHODS, "MKCOL", "PROPFIND", "GETX", "get", "Head", "XGET"):
        assert user_file(text, method) == oci_proxy.ADMIN_HTPASSWD_FILE, method


def test_a_refused_write_with_credentials_is_403_and_anything_else_refused_is_401() -> None:
    text = proxy_config(ProxyConfigArgs(realm="R"))
    for method in (*oci_proxy.ADMIN_WRITE_METHODS, "MKCOL", "get"):
        for authorization in ("Basic c3BlY3RybzpwYXNz", "Basic YWRtaW46d3Jvbmc=", "Bearer x", "Basic"):
            assert refused_as_403(text, method, authorization), (method, authorization)
        # No credentials: 401 with the challenge, so clients retry with theirs.
        assert not refused_as_403(text, method, "")
    for method in oci_proxy.READ_METHODS:
        assert not refused_as_403(text, method, "Basic c3BlY3RybzpwYXNz")
        assert not refused_as_403(text, method, "")


def test_refusals_answer_in_the_registry_api_format_from_a_named_location() -> None:
    """auth_basic's 401 goes to ``@oci_proxy_refused`` (a named location keeps the method and the challenge header,
    nginx src/http/ngx_http_special_response.c ngx_http_send_error_page -> ngx_http_named_location)."""
    text = proxy_config(ProxyConfigArgs(realm="R"))
    location = _block(text, "location /v2/ {")
    assert "auth_basic_user_file $oci_proxy_user_file;" in location
    assert "error_page 401 = @oci_proxy_refused;" in location
    refused = text[text.index("location @oci_proxy_refused {") :]
    refused = refused[: refused.index("\n    }\n")]
    assert f"return 403 {nginx_quote(oci_proxy.DENIED_BODY)};" in refused
    assert f"return 401 {nginx_quote(oci_proxy.UNAUTHORIZED_BODY)};" in refused
    for body in (oci_proxy.DENIED_BODY, oci_proxy.UNAUTHORIZED_BODY, oci_proxy.TOO_MANY_BODY):
        assert unquote(nginx_quote(body)) == body
        assert json.loads(body)["errors"][0]["code"] in {"DENIED", "UNAUTHORIZED", "TOOMANYREQUESTS"}


def test_the_admin_file_holds_the_admins_line_alone() -> None:
    text = "admin:$2b$04$aaa\nspectro:$2b$04$bbb\nAdmin:$2b$04$ccc\nadmin2:$2b$04$ddd\n"
    assert oci_proxy.admin_entries(text, "admin") == "admin:$2b$04$aaa\n"
    assert oci_proxy.admin_entries(text, "Admin") == "Admin:$2b$04$ccc\n"
    for missing in ("root", "admi", ""):
        with pytest.raises(ValueError, match="entries for admin user"):
            oci_proxy.admin_entries(text, missing)
    with pytest.raises(ValueError, match="2 entries"):
        oci_proxy.admin_entries(text + "admin:$2b$04$eee\n", "admin")


@pytest.mark.parametrize(
    "realm",
    [
        "Spectro Pack Registry",
        'say "hi"',
        "back\\slash",
        'both \\" mixed',
        "cost $5 and ${x} and $",
        "semi; {brace} 'single' #hash",
        "ends with backslash \\",
        "tab-like \\t \\n",
    ],
)
def test_realm_reaches_the_challenge_as_a_valid_quoted_string(realm: str) -> None:
    printed = _realm(proxy_config(ProxyConfigArgs(realm=realm)))
    # nginx prints: Basic realm="<printed>"; it must be one quoted-string that reads back as the realm.
    assert re.fullmatch(r'(?:[^"\\]|\\.)*', printed), printed
    assert http_unquote(printed) == realm


def test_realm_never_starts_a_variable() -> None:
    text = proxy_config(ProxyConfigArgs(realm="$host $remote_user"))
    (line,) = [line for line in text.splitlines() if line.strip().startswith("auth_basic ")]
    assert re.findall(r"\$\{?(\w+)", line) == ["oci_proxy_dollar", "oci_proxy_dollar"]
    assert 'geo $oci_proxy_dollar {\n    default "$";' in text


@pytest.mark.parametrize("realm", ["off", "", "   ", "line\nbreak", "nul\x00", "del\x7f"])
def test_unsafe_realms_are_refused(realm: str) -> None:
    with pytest.raises(ValueError, match=r"realm|control"):
        proxy_config(ProxyConfigArgs(realm=realm))


def test_realm_off_in_other_case_is_a_realm() -> None:
    """nginx compares with ngx_strncmp: only "off" itself disables auth."""
    assert _realm(proxy_config(ProxyConfigArgs(realm="OFF"))) == "OFF"


@pytest.mark.parametrize(("floor", "protocols"), [("1.2", "TLSv1.2 TLSv1.3"), ("1.3", "TLSv1.3")])
def test_tls_floor(floor: str, protocols: str) -> None:
    text = proxy_config(ProxyConfigArgs(realm="R", tls_min_version=floor))
    assert f"    ssl_protocols {protocols};\n" in text
    assert "TLSv1.1" not in text and "TLSv1 " not in text
    assert f"listen {oci_proxy.PROXY_PORT} ssl;" in text
    assert f'ssl_certificate "{oci_proxy.CERT_FILE}";' in text
    assert f'ssl_certificate_key "{oci_proxy.KEY_FILE}";' in text


def test_unknown_tls_floor_is_refused() -> None:
    with pytest.raises(ValueError, match="tls_min_version"):
        proxy_config(ProxyConfigArgs(realm="R", tls_min_version="1.1"))


def test_http_mode_has_no_tls() -> None:
    text = proxy_config(ProxyConfigArgs(realm="R", https=False))
    assert f"listen {oci_proxy.PROXY_PORT};" in text
    assert "ssl" not in text
    assert "proxy_set_header X-Forwarded-Proto $scheme;" in text


def test_proxy_essentials_of_the_distribution_recipe() -> None:
    text = proxy_config(ProxyConfigArgs(realm="R", upstream="127.0.0.1:5999"))
    for line in (
        "client_max_body_size 0;",
        "chunked_transfer_encoding on;",
        "proxy_request_buffering off;",
        "proxy_max_temp_file_size 0;",
        "proxy_http_version 1.1;",
        "proxy_set_header Host $http_host;",
        "proxy_set_header X-Forwarded-Proto $scheme;",
        "proxy_set_header X-Real-IP $remote_addr;",
        "proxy_set_header X-Forwarded-For $remote_addr;",
        "proxy_read_timeout 900s;",
        "add_header Docker-Distribution-Api-Version $oci_proxy_api_version always;",
        "proxy_pass http://$oci_proxy_registry;",
        "resolver 127.0.0.11 valid=2s ipv6=off;",
    ):
        assert f"        {line}\n" in text or f"    {line}\n" in text, line
    api_version = _block(text, "map $upstream_http_docker_distribution_api_version $oci_proxy_api_version {")
    # Only when the registry sent none: the map has no default, so any other value maps to "" (no header).
    assert '"" "registry/2.0";' in api_version
    assert "default" not in api_version
    assert 'default "127.0.0.1:5999";' in _block(text, "geo $oci_proxy_registry {")


def test_the_registry_is_looked_up_again_while_nginx_runs() -> None:
    """nginx resolves the host of a proxy_pass at request time only when the proxy_pass holds a variable and
    the host names no upstream block (nginx src/http/ngx_http_upstream.c ``ngx_http_upstream_init_request``:
    a host matching an upstream's name goes there, an address is used as it is, anything else goes through
    ``ngx_resolve_start`` with the location's resolver); a name in an upstream block or written into
    proxy_pass is resolved once, when the configuration is read. ``valid=`` caps how long an answer (and a
    failed lookup) is kept (src/core/ngx_resolver.c), whatever the DNS server's TTL."""
    text = proxy_config(ProxyConfigArgs(realm="R"))
    assert not re.search(r"^\s*upstream ", text, re.MULTILINE), "an upstream block is resolved once, at start"
    assert re.findall(r"proxy_pass (\S+);", text) == ["http://$oci_proxy_registry"]
    assert f'default "{oci_proxy.REGISTRY_HOST}:{oci_proxy.REGISTRY_PORT}";' in _block(
        text, "geo $oci_proxy_registry {"
    )
    assert f"    resolver {oci_proxy.RESOLVER} valid={oci_proxy.RESOLVE_VALID_SECONDS}s ipv6=off;\n" in text
    with pytest.raises(ValueError, match="resolver"):
        proxy_config(ProxyConfigArgs(realm="R", resolver="127.0.0.11; include x"))


def test_braces_balance_and_every_statement_ends() -> None:
    text = proxy_config(ProxyConfigArgs(realm='x "{" y'))
    code = re.sub(r'"(?:[^"\\]|\\.)*"', '""', text)
    code = "\n".join(line.split("#", 1)[0] for line in code.splitlines())
    assert code.count("{") == code.count("}")
    for line in code.splitlines():
        line = line.strip()
        assert not line or line.endswith((";", "{", "}")), line


def test_forwarding_headers_are_set_by_the_proxy_never_taken_from_the_client() -> None:
    """Every header distribution builds upload URLs from (registry/api/v2/urls.go NewURLBuilderFromRequest:
    Forwarded, else X-Forwarded-Proto and X-Forwarded-Host) or logs the client address from (context/http.go
    RemoteAddr: X-Forwarded-For, else X-Real-Ip) is set by nginx from what it saw; "" drops the client's Forwarded
    (nginx passes no header set to an empty value). ``$proxy_add_x_forwarded_for`` would append to the client's
    list, whose first entry the registry logs."""
    location = _block(proxy_config(ProxyConfigArgs(realm="R")), "location /v2/ {")
    headers = dict(
        line.strip().removeprefix("proxy_set_header ").rstrip(";").split(" ", 1)
        for line in location.splitlines()
        if line.strip().startswith("proxy_set_header ")
    )
    assert headers["Host"] == headers["X-Forwarded-Host"] == "$http_host"
    assert headers["X-Forwarded-Proto"] == "$scheme"
    assert headers["X-Forwarded-For"] == headers["X-Real-IP"] == "$remote_addr"
    assert headers["Forwarded"] == '""'
    assert "$proxy_add_x_forwarded_for" not in location and "$http_x_forwarded" not in location


def test_tls12_offers_aead_suites_with_forward_secrecy_only() -> None:
    """Mozilla's "intermediate" TLS 1.2 suites without its DHE ones (nginx uses DHE only with an ssl_dhparam file):
    no CBC, no SHA-1 MAC, no static RSA key exchange."""
    text = proxy_config(ProxyConfigArgs(realm="R"))
    assert f"    ssl_ciphers {oci_proxy.TLS12_CIPHERS};\n" in text
    suites = oci_proxy.TLS12_CIPHERS.split(":")
    assert len(suites) == 6
    for suite in suites:
        assert suite.startswith("ECDHE-"), suite
        assert suite.endswith(("-GCM-SHA256", "-GCM-SHA384", "-CHACHA20-POLY1305")), suite
    assert "ssl_prefer_server_ciphers off;" in text
    assert "ssl_ciphers" not in proxy_config(ProxyConfigArgs(realm="R", https=False))


def test_each_client_address_gets_bounded_requests_and_connections_answered_429() -> None:
    text = proxy_config(ProxyConfigArgs(realm="R"))
    assert (oci_proxy.REQUESTS_PER_SECOND, oci_proxy.REQUESTS_BURST, oci_proxy.CONNECTIONS_PER_ADDRESS) == (
        300,
        3000,
        256,
    )
    assert "limit_req_zone $binary_remote_addr zone=oci_proxy_requests:10m rate=300r/s;" in text
    assert "limit_conn_zone $binary_remote_addr zone=oci_proxy_connections:10m;" in text
    server = text[text.index("server {") :]
    for line in (
        "limit_req zone=oci_proxy_requests burst=3000 nodelay;",
        "limit_conn oci_proxy_connections 256;",
        "limit_req_status 429;",
        "limit_conn_status 429;",
    ):
        assert f"\n    {line}\n" in server, line
    assert "error_page 429 = @oci_proxy_too_many;" in _block(text, "location /v2/ {")
    lowered = proxy_config(
        ProxyConfigArgs(realm="R", requests_per_second=5, requests_burst=7, connections_per_address=2)
    )
    assert (
        "rate=5r/s;" in lowered and "burst=7 nodelay;" in lowered and "limit_conn oci_proxy_connections 2;" in lowered
    )


@pytest.mark.parametrize(
    ("cpus", "workers"), [(None, "auto"), ("0", "auto"), ("0.5", "1"), ("1.0", "1"), ("1.5", "2"), (4, "4")]
)
def test_nginx_runs_a_worker_per_cpu_the_limit_allows(cpus: str | int | None, workers: str) -> None:
    text = oci_proxy.main_config(cpus)
    assert f"\nworker_processes  {workers};\n" in text
    assert "\nuser  nginx;\n" in text
    assert f"worker_connections  {oci_proxy.WORKER_CONNECTIONS};" in text
    assert f"\nworker_rlimit_nofile  {oci_proxy.WORKER_RLIMIT_NOFILE};\n" in text
    assert oci_proxy.WORKER_RLIMIT_NOFILE >= 2 * oci_proxy.WORKER_CONNECTIONS
    assert "include /etc/nginx/conf.d/*.conf;" in text
    assert oci_proxy.MAIN_CONFIG_FILE == "/etc/nginx/nginx.conf"


def test_bad_arguments_are_refused() -> None:
    for field in ("requests_per_second", "requests_burst", "connections_per_address"):
        for bad in (0, -1, 1.5, True):
            with pytest.raises(ValueError, match=field):
                proxy_config(ProxyConfigArgs(realm="R", **{field: bad}))
    with pytest.raises(ValueError, match="connections_per_address 65536"):
        proxy_config(ProxyConfigArgs(realm="R", connections_per_address=65536))
    with pytest.raises(ValueError, match="port"):
        proxy_config(ProxyConfigArgs(realm="R", port=0))
    for upstream in ("127.0.0.1", "127.0.0.1:5000; include /etc/passwd", "host:50 00", ""):
        with pytest.raises(ValueError, match="upstream"):
            proxy_config(ProxyConfigArgs(realm="R", upstream=upstream))
    assert 'default "[::1]:5000";' in proxy_config(ProxyConfigArgs(realm="R", upstream="[::1]:5000"))


def test_nginx_quote_refuses_variables_and_control_characters() -> None:
    assert unquote(nginx_quote('a"b\\c')) == 'a"b\\c'
    for bad in ("$x", "a\nb"):
        with pytest.raises(ValueError):
            nginx_quote(bad)


def test_registry_env_listens_on_its_own_namespace_without_auth_of_its_own_and_deletes() -> None:
    """The API on every address of the registry's namespace (loopback and the private network, the only one it
    joins); the debug server on its loopback only."""
    assert oci_proxy.registry_env() == [
        "REGISTRY_HTTP_ADDR=:5000",
        "REGISTRY_HTTP_DEBUG_ADDR=127.0.0.1:5001",
        "REGISTRY_STORAGE_DELETE_ENABLED=true",
    ]
    assert oci_proxy.UPSTREAM == "oci-registry:5000"


def test_proxy_image_is_a_pinned_debian_tag() -> None:
    name, _, tag = str(declared_config()["proxyImage"]["default"]).partition(":")
    assert name == "nginx"
    assert re.fullmatch(r"\d+\.\d+\.\d+(-bookworm)?", tag), tag
    assert "alpine" not in tag


def test_the_official_images_ipv6_entrypoint_script_leaves_the_proxy_config_alone() -> None:
    """The official nginx image runs /docker-entrypoint.d/10-listen-on-ipv6-by-default.sh before nginx
    (nginxinc/docker-nginx entrypoint/). It edits /etc/nginx/conf.d/default.conf, the file the program
    replaces, only when the file still has the md5 dpkg recorded for the packaged conffile (else it logs
    "differs from the packaged version" and exits 0), and its edit is
    ``sed 's,listen       80;,listen       80;\\n    listen  [::]:80;,'``. So the program's file must never
    be the packaged one and must hold no text that sed would rewrite: then the proxy nginx runs is exactly
    the one components.instance.proxy renders (and listens on IPv4 only: no ``[::]`` line is added)."""
    for https in (True, False):
        config = oci_proxy.proxy_config(oci_proxy.ProxyConfigArgs(realm="Spectro Pack Registry", https=https))
        assert oci_proxy.CONFIG_FILE == "/etc/nginx/conf.d/default.conf"
        # The packaged default.conf starts with its server block; ours with the generated-by comment.
        assert config.startswith("# Generated by the palette-pack-registry program")
        edited = re.sub(r"listen       80;", "listen       80;\n    listen  [::]:80;", config)
        assert edited == config
        assert "[::]" not in config
