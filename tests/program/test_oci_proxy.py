"""The nginx proxy's server configuration text (components/instance/proxy.py), read back as nginx reads it.

``unquote`` follows nginx's ``ngx_conf_read_token`` (src/core/ngx_conf_file.c): inside a token ``\\"``,
``\\'`` and ``\\\\`` lose their backslash, ``\\t``, ``\\r``, ``\\n`` become control characters, any other
backslash stays. The map's regex keys are then run with Python's ``re`` (PCRE's ``\\z`` is Python's
``\\Z``: the very end, no newline allowed before it) to check which method/user pairs may write.
The live behaviour of the same text is in tests/integration/test_oci_proxy.py.
"""

from __future__ import annotations

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


def _deny_rules(text: str) -> list[tuple[str, int]]:
    """The map's entries after the default, as (key, value), keys as nginx stores them."""
    block = _block(text, 'map "$request_method:$remote_user" $oci_proxy_deny_write {')
    rules = []
    for line in block.splitlines()[1:]:
        line = line.strip()
        if not line or line.startswith("default"):
            continue
        token, value = line.rstrip(";").rsplit(" ", 1)
        rules.append((unquote(token), int(value)))
    return rules


def _matches(key: str, subject: str) -> bool:
    """nginx's map semantics (ngx_http_map_find): "~" a case-sensitive regex, "~*" a case-insensitive one,
    anything else an exact string compared case-insensitively."""
    if key.startswith("~*"):
        return re.search(key[2:].replace("\\z", "\\Z"), subject, re.IGNORECASE) is not None
    if key.startswith("~"):
        return re.search(key[1:].replace("\\z", "\\Z"), subject) is not None
    return key.lower() == subject.lower()


def may_pass(text: str, method: str, user: str) -> bool:
    """Whether nginx lets ``method`` by ``user`` go on to auth_basic (else 403)."""
    subject = f"{method}:{user}"
    rules = _deny_rules(text)
    # Exact keys win over regexes; regexes are tried in order; else the default (1).
    for key, value in [rule for rule in rules if not rule[0].startswith("~")] + [
        rule for rule in rules if rule[0].startswith("~")
    ]:
        if _matches(key, subject):
            return value == 0
    return False


def _realm(text: str) -> str:
    """The realm as nginx prints it into the challenge, ${oci_proxy_dollar} resolved."""
    (line,) = [line.strip() for line in text.splitlines() if line.strip().startswith("auth_basic ")]
    token = line.removeprefix("auth_basic ").removesuffix(";")
    return unquote(token).replace("${oci_proxy_dollar}", "$")


def http_unquote(value: str) -> str:
    """An RFC 9110 quoted-string's content, quoted-pairs resolved."""
    return re.sub(r"\\(.)", r"\1", value)


ALLOWED_NAME_CHARS = "Az09._@-"


@pytest.mark.parametrize("admin", ["admin", "ad.min", "a_b@c-d.e", "0", "x" * 64, ALLOWED_NAME_CHARS])
def test_only_the_admin_may_write(admin: str) -> None:
    text = proxy_config(ProxyConfigArgs(admin_user=admin, realm="R"))
    # A case twin (map's exact keys ignore case), a "." read as any character, a "$" end that allows a
    # trailing newline, a missing anchor at either end.
    others = {"spectro", admin.swapcase(), admin.replace(".", "X"), admin + "\n", admin + "x", "x" + admin} - {admin}
    for method in (*oci_proxy.ADMIN_WRITE_METHODS, "MKCOL", "PROPFIND"):
        assert may_pass(text, method, admin)
        # No credentials: on to auth_basic, which answers 401 with the challenge.
        assert may_pass(text, method, "")
        for other in others:
            assert not may_pass(text, method, other), (method, other)


def test_every_user_may_read() -> None:
    text = proxy_config(ProxyConfigArgs(admin_user="admin", realm="R"))
    for method in oci_proxy.READ_METHODS:
        for user in ("spectro", "admin", "", "Admin"):
            assert may_pass(text, method, user)
    # Methods are matched whole and case-sensitively.
    assert not may_pass(text, "GETX", "spectro")
    assert not may_pass(text, "get", "spectro")


def test_case_twin_of_the_admin_may_not_write() -> None:
    text = proxy_config(ProxyConfigArgs(admin_user="admin", realm="R"))
    assert not may_pass(text, "POST", "Admin")
    assert not may_pass(text, "POST", "ADMIN")


def test_write_is_refused_before_auth_with_a_registry_error() -> None:
    text = proxy_config(ProxyConfigArgs(admin_user="admin", realm="R"))
    location = text[text.index("location /v2/ {") :]
    assert location.index("if ($oci_proxy_deny_write)") < location.index("auth_basic ")
    assert f"return 403 {nginx_quote(oci_proxy.DENIED_BODY)};" in location
    assert unquote(nginx_quote(oci_proxy.DENIED_BODY)) == oci_proxy.DENIED_BODY
    assert f'auth_basic_user_file "{oci_proxy.HTPASSWD_FILE}";' in location


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
    printed = _realm(proxy_config(ProxyConfigArgs(admin_user="admin", realm=realm)))
    # nginx prints: Basic realm="<printed>"; it must be one quoted-string that reads back as the realm.
    assert re.fullmatch(r'(?:[^"\\]|\\.)*', printed), printed
    assert http_unquote(printed) == realm


def test_realm_never_starts_a_variable() -> None:
    text = proxy_config(ProxyConfigArgs(admin_user="admin", realm="$host $remote_user"))
    (line,) = [line for line in text.splitlines() if line.strip().startswith("auth_basic ")]
    assert re.findall(r"\$\{?(\w+)", line) == ["oci_proxy_dollar", "oci_proxy_dollar"]
    assert 'geo $oci_proxy_dollar {\n    default "$";' in text


@pytest.mark.parametrize("realm", ["off", "", "   ", "line\nbreak", "nul\x00", "del\x7f"])
def test_unsafe_realms_are_refused(realm: str) -> None:
    with pytest.raises(ValueError, match=r"realm|control"):
        proxy_config(ProxyConfigArgs(admin_user="admin", realm=realm))


def test_realm_off_in_other_case_is_a_realm() -> None:
    """nginx compares with ngx_strncmp: only "off" itself disables auth."""
    assert _realm(proxy_config(ProxyConfigArgs(admin_user="admin", realm="OFF"))) == "OFF"


@pytest.mark.parametrize(("floor", "protocols"), [("1.2", "TLSv1.2 TLSv1.3"), ("1.3", "TLSv1.3")])
def test_tls_floor(floor: str, protocols: str) -> None:
    text = proxy_config(ProxyConfigArgs(admin_user="admin", realm="R", tls_min_version=floor))
    assert f"    ssl_protocols {protocols};\n" in text
    assert "TLSv1.1" not in text and "TLSv1 " not in text
    assert f"listen {oci_proxy.PROXY_PORT} ssl;" in text
    assert f'ssl_certificate "{oci_proxy.CERT_FILE}";' in text
    assert f'ssl_certificate_key "{oci_proxy.KEY_FILE}";' in text


def test_unknown_tls_floor_is_refused() -> None:
    with pytest.raises(ValueError, match="tls_min_version"):
        proxy_config(ProxyConfigArgs(admin_user="admin", realm="R", tls_min_version="1.1"))


def test_http_mode_has_no_tls() -> None:
    text = proxy_config(ProxyConfigArgs(admin_user="admin", realm="R", https=False))
    assert f"listen {oci_proxy.PROXY_PORT};" in text
    assert "ssl" not in text
    assert "proxy_set_header X-Forwarded-Proto $scheme;" in text


def test_proxy_essentials_of_the_distribution_recipe() -> None:
    text = proxy_config(ProxyConfigArgs(admin_user="admin", realm="R", upstream="127.0.0.1:5999"))
    for line in (
        "client_max_body_size 0;",
        "chunked_transfer_encoding on;",
        "proxy_request_buffering off;",
        "proxy_max_temp_file_size 0;",
        "proxy_http_version 1.1;",
        "proxy_set_header Host $http_host;",
        "proxy_set_header X-Forwarded-Proto $scheme;",
        "proxy_set_header X-Real-IP $remote_addr;",
        "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
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
    text = proxy_config(ProxyConfigArgs(admin_user="admin", realm="R"))
    assert not re.search(r"^\s*upstream ", text, re.MULTILINE), "an upstream block is resolved once, at start"
    assert re.findall(r"proxy_pass (\S+);", text) == ["http://$oci_proxy_registry"]
    assert f'default "{oci_proxy.REGISTRY_HOST}:{oci_proxy.REGISTRY_PORT}";' in _block(
        text, "geo $oci_proxy_registry {"
    )
    assert f"    resolver {oci_proxy.RESOLVER} valid={oci_proxy.RESOLVE_VALID_SECONDS}s ipv6=off;\n" in text
    with pytest.raises(ValueError, match="resolver"):
        proxy_config(ProxyConfigArgs(admin_user="admin", realm="R", resolver="127.0.0.11; include x"))


def test_braces_balance_and_every_statement_ends() -> None:
    text = proxy_config(ProxyConfigArgs(admin_user="a.b", realm='x "{" y'))
    code = re.sub(r'"(?:[^"\\]|\\.)*"', '""', text)
    code = "\n".join(line.split("#", 1)[0] for line in code.splitlines())
    assert code.count("{") == code.count("}")
    for line in code.splitlines():
        line = line.strip()
        assert not line or line.endswith((";", "{", "}")), line


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="admin_user"):
        proxy_config(ProxyConfigArgs(admin_user="", realm="R"))
    with pytest.raises(ValueError, match="port"):
        proxy_config(ProxyConfigArgs(admin_user="admin", realm="R", port=0))
    for upstream in ("127.0.0.1", "127.0.0.1:5000; include /etc/passwd", "host:50 00", ""):
        with pytest.raises(ValueError, match="upstream"):
            proxy_config(ProxyConfigArgs(admin_user="admin", realm="R", upstream=upstream))
    assert 'default "[::1]:5000";' in proxy_config(
        ProxyConfigArgs(admin_user="admin", realm="R", upstream="[::1]:5000")
    )


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
        config = oci_proxy.proxy_config(
            oci_proxy.ProxyConfigArgs(admin_user="admin", realm="Spectro Pack Registry", https=https)
        )
        assert oci_proxy.CONFIG_FILE == "/etc/nginx/conf.d/default.conf"
        # The packaged default.conf starts with its server block; ours with the generated-by comment.
        assert config.startswith("# Generated by the palette-pack-registry program")
        edited = re.sub(r"listen       80;", "listen       80;\n    listen  [::]:80;", config)
        assert edited == config
        assert "[::]" not in config
