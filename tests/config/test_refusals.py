"""Every invalid config value fails before any resource exists, naming the key and the fix."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from components.config import DEFAULT_IMAGE, MIN_MEMORY_LIMIT_MB, PROJECT, ConfigError, parse_settings, provider_cpus
from tests.support.api_keys import INSIDE
from tests.support.certs import make_ca, make_leaf
from tests.support.config_values import BASE, assert_refused, parse
from tests.support.harness import as_config_string

_CA, _CA_KEY, _CA_CERT = make_ca()
GOOD = make_leaf(_CA_KEY, _CA_CERT, ["registry.example.com"], ["10.0.0.5"])
OTHER = make_leaf(_CA_KEY, _CA_CERT, ["registry.example.com"], ["10.0.0.5"])
WRONG_NAME = make_leaf(_CA_KEY, _CA_CERT, ["other.example.com"], ["10.0.0.5"])
WRONG_IP = make_leaf(_CA_KEY, _CA_CERT, ["registry.example.com"], ["10.0.0.6"])
CN_ONLY = make_leaf(_CA_KEY, _CA_CERT, ["registry.example.com"], with_sans=False)
WILDCARD = make_leaf(_CA_KEY, _CA_CERT, ["*.example.com"], ["10.0.0.5"])
EXPIRED = make_leaf(_CA_KEY, _CA_CERT, ["registry.example.com"], ["10.0.0.5"], shift=datetime.timedelta(days=-8))
NOT_YET_VALID = make_leaf(_CA_KEY, _CA_CERT, ["registry.example.com"], ["10.0.0.5"], shift=datetime.timedelta(days=1))


def provided(pair, **more: Any) -> dict[str, Any]:
    return {"tlsMode": "provided", "tlsCertificate": pair.certificate_pem, "tlsPrivateKey": pair.key_pem, **more}


# (case, overrides, key named in the message, words the message must contain)
BAD: list[tuple[str, dict[str, Any], str, str]] = [
    ("host with underscore", {"hosts": ["bad_host.example.com"]}, "hosts", "other than letters, digits"),
    ("host too long label", {"hosts": ["a" * 64 + ".example.com"]}, "hosts", "label of 64 characters"),
    ("host trailing dot", {"hosts": ["registry.example.com."]}, "hosts", "ends with a dot"),
    ("host too long", {"hosts": [("a" * 60 + ".") * 5 + "com"]}, "hosts", "at most 253"),
    ("host empty label", {"hosts": ["registry..example.com"]}, "hosts", "empty label"),
    ("host leading hyphen", {"hosts": ["-registry.example.com"]}, "hosts", "starts or ends with '-'"),
    ("host wildcard", {"hosts": ["*.example.com"]}, "hosts", "wildcard"),
    ("host empty", {"hosts": [""]}, "hosts", "is empty"),
    ("host with newline", {"hosts": ["registry.example.com\nevil.example.com"]}, "hosts", "control character"),
    ("ip in hosts", {"hosts": ["10.0.0.1"]}, "hosts", "ipAddresses"),
    ("host duplicated", {"hosts": ["a.example.com", "A.example.com"]}, "hosts", "twice"),
    ("no host at all", {"hosts": [], "ipAddresses": []}, "hosts", "no host name"),
    ("hosts not a list", {"hosts": "registry.example.com"}, "hosts", "not a list"),
    ("bad ip", {"ipAddresses": ["10.0.0.256"]}, "ipAddresses", "not an IP address"),
    ("ip with zone", {"ipAddresses": ["fe80::1%eth0"]}, "ipAddresses", "has a zone"),
    ("ipv4 unspecified", {"ipAddresses": ["0.0.0.0"]}, "ipAddresses", "bindAddress"),  # noqa: S104
    ("ipv6 unspecified", {"ipAddresses": ["::"]}, "ipAddresses", "unspecified"),
    ("ipv4-mapped unspecified", {"ipAddresses": ["::ffff:0.0.0.0"]}, "ipAddresses", "unspecified"),
    ("ip listed twice", {"ipAddresses": ["10.0.0.5", "10.0.0.5"]}, "ipAddresses", "twice"),
    ("host all-numeric", {"hosts": ["2130706433"]}, "hosts", "all-numeric"),
    ("host numeric tail", {"hosts": ["127.1"]}, "hosts", "all-numeric"),
    ("data in /etc", {"dataVolume": "/etc"}, "dataVolume", "system directory"),
    ("data climbing out", {"dataVolume": "/srv/registry/../../etc"}, "dataVolume", "'..'"),
    ("admin password with a bell", {"adminPassword": "Admin-password\x07-0123456789"}, "adminPassword", "control"),
    (
        "docker cert with its key",
        {
            "dockerHost": "tcp://d:2376",
            "dockerCaCert": "c",
            "dockerCert": GOOD.certificate_pem + GOOD.key_pem,
            "dockerKey": "k",
        },
        "dockerCert",
        "private key block",
    ),
    ("bind address with zone", {"bindAddress": "fe80::1%eth0"}, "bindAddress", "without a zone"),
    ("port with underscore", {"port": "5_443"}, "port", "not a whole number"),
    ("port in other digits", {"port": "\u0665\u0664\u0664\u0663"}, "port", "not a whole number"),
    ("port too big", {"port": 70000}, "port", "out of range"),
    ("port negative", {"port": -1}, "port", "out of range"),
    ("port not a number", {"port": "https"}, "port", "not a whole number"),
    ("bind address", {"bindAddress": "localhost"}, "bindAddress", "not an IP address"),
    ("unknown tls mode", {"tlsMode": "letsencrypt"}, "tlsMode", "not a TLS mode"),
    ("http without opt-in", {"tlsMode": "http"}, "tlsMode", "allowInsecureHttp"),
    ("opt-in not a bool", {"tlsMode": "http", "allowInsecureHttp": "yes"}, "allowInsecureHttp", "true or false"),
    ("delete opt-in not a bool", {"deleteUnreachable": "always"}, "deleteUnreachable", "true or false"),
    ("maintenance not a bool", {"maintenanceReadOnly": "on"}, "maintenanceReadOnly", "true or false"),
    ("maintenance of legacy", {"maintenanceReadOnly": True}, "maintenanceReadOnly", "registryKind is legacy"),
    ("upload purge at once", {"uploadPurgeAgeHours": 0}, "uploadPurgeAgeHours", "between 1 and 8760"),
    ("upload purge past a year", {"uploadPurgeAgeHours": 8761}, "uploadPurgeAgeHours", "between 1 and 8760"),
    ("provided without cert", {"tlsMode": "provided", "tlsPrivateKey": GOOD.key_pem}, "tlsCertificate", "required"),
    (
        "provided without key",
        {"tlsMode": "provided", "tlsCertificate": GOOD.certificate_pem},
        "tlsPrivateKey",
        "required",
    ),
    ("cert not PEM", provided(GOOD, tlsCertificate="not a cert"), "tlsCertificate", "not a PEM"),
    ("key not PEM", provided(GOOD, tlsPrivateKey="not a key"), "tlsPrivateKey", "not an unencrypted PEM"),
    ("cert/key mismatch", provided(GOOD, tlsPrivateKey=OTHER.key_pem), "tlsPrivateKey", "does not match"),
    ("SANs miss the host", provided(WRONG_NAME), "tlsCertificate", "do not cover host 'registry.example.com'"),
    ("cert expired", provided(EXPIRED), "tlsCertificate", "expired at"),
    ("cert not yet valid", provided(NOT_YET_VALID), "tlsCertificate", "not valid before"),
    ("SANs miss the IP", provided(WRONG_IP), "tlsCertificate", "do not cover IP address 10.0.0.5"),
    ("CN only, no SANs", provided(CN_ONLY), "tlsCertificate", "no Subject Alternative Names"),
    ("unknown log level", {"logLevel": "verbose"}, "logLevel", "not a log level"),
    ("realm with quote", {"authRealm": 'my "realm"'}, "authRealm", "without"),
    ("realm with newline", {"authRealm": "Spectro\nREGISTRY_AUTH=none"}, "authRealm", "control character"),
    ("admin with colon", {"adminUser": "ad:min"}, "adminUser", "':' and whitespace"),
    ("admin empty", {"adminUser": ""}, "adminUser", "is empty"),
    ("admin blank", {"adminUser": "   "}, "adminUser", "is empty"),
    ("reader empty", {"readOnlyUsers": ["spectro", ""]}, "readOnlyUsers", "empty user name"),
    ("reader with space", {"readOnlyUsers": ["spec tro"]}, "readOnlyUsers", "':' and whitespace"),
    ("reader with colon", {"readOnlyUsers": ["a:b"]}, "readOnlyUsers", "not allowed"),
    ("no readers", {"readOnlyUsers": []}, "readOnlyUsers", "is empty"),
    ("duplicate readers", {"readOnlyUsers": ["spectro", "spectro"]}, "readOnlyUsers", "appears twice"),
    ("reader named like admin", {"readOnlyUsers": ["admin"]}, "readOnlyUsers", "clashes with adminUser"),
    ("password too short", {"passwordLength": 8}, "passwordLength", "outside 16-72"),
    ("password past bcrypt", {"passwordLength": 73}, "passwordLength", "outside 16-72"),
    ("supplied admin password too long", {"adminPassword": "x" * 73}, "adminPassword", "73 bytes"),
    (
        "supplied reader passwords count",
        {"readOnlyPasswords": ["a" * 20, "b" * 20]},
        "readOnlyPasswords",
        "2 entries for 1",
    ),
    (
        "supplied reader passwords not a list",
        {"readOnlyPasswords": "secret-but-not-json"},
        "readOnlyPasswords",
        "not a list",
    ),
    ("cert validity too short", {"certValidityHours": 1}, "certValidityHours", "too short"),
    ("CA shorter than cert", {"caValidityHours": 100, "certValidityHours": 200}, "caValidityHours", "outlive"),
    ("renewal past validity", {"certEarlyRenewalHours": 9000}, "certEarlyRenewalHours", "between 0"),
    ("unknown key algorithm", {"keyAlgorithm": "DSA"}, "keyAlgorithm", "not supported"),
    ("image without tag", {"image": "gcr.io/spectro-images-public/release/spectro-registry"}, "image", "no tag"),
    ("image not a reference", {"image": "Not An Image"}, "image", "not an image reference"),
    ("image upper case path", {"image": "gcr.io/Spectro/registry:2.6.0"}, "image", "upper case"),
    ("image latest", {"image": "gcr.io/spectro-images-public/release/spectro-registry:latest"}, "image", "latest"),
    ("image double slash", {"image": "gcr.io//spectro-registry:2.6.0"}, "image", "not an image reference"),
    ("image bad tag", {"image": "gcr.io/spectro-registry:.2"}, "image", "not an image reference"),
    ("image short digest", {"image": "gcr.io/spectro-registry@sha256:abc"}, "image", "not an image reference"),
    ("image name too long", {"image": "gcr.io/" + "a" * 250 + ":1.0"}, "image", "longer than 255"),
    ("container name", {"containerName": "-registry"}, "containerName", "not a valid container name"),
    ("data relative path", {"dataVolume": "data/registry"}, "dataVolume", "neither a volume name"),
    ("data root", {"dataVolume": "/"}, "dataVolume", "neither a volume name"),
    ("docker host scheme", {"dockerHost": "http://docker:2375"}, "dockerHost", "not a Docker host URL"),
    ("docker tls incomplete", {"dockerHost": "tcp://d:2376", "dockerCaCert": "x"}, "dockerCaCert", "go together"),
    ("docker tls on unix", {"dockerCaCert": "a", "dockerCert": "b", "dockerKey": "c"}, "dockerHost", "tcp://"),
    ("docker tcp without tls", {"dockerHost": "tcp://docker.example.com:2375"}, "dockerHost", "without TLS"),
    ("pull user without password", {"imagePullUsername": "robot"}, "imagePullUsername", "together"),
    ("readiness timeout", {"readinessTimeoutSeconds": 0}, "readinessTimeoutSeconds", "out of range"),
    ("readiness path", {"readinessHealthPath": "health"}, "readinessHealthPath", "absolute URL path"),
    ("readiness url", {"readinessUrl": "10.0.0.5:443"}, "readinessUrl", "not an http(s) URL"),
    ("palette choice", {"paletteRegistration": "maybe"}, "paletteRegistration", "auto, true or false"),
    ("palette on without key", {"paletteRegistration": True}, "paletteApiKey", "not set"),
    ("palette url", {"paletteApiUrl": "api.spectrocloud.com"}, "paletteApiUrl", "not an http(s) URL"),
    ("palette plain http", {"paletteApiUrl": "http://palette.example.com"}, "paletteApiUrl", "plain http"),
    (
        "palette on for localhost",
        {"hosts": ["localhost"], "paletteRegistration": True, "paletteApiKey": "k" * 20},
        "paletteRegistration",
        "loopback",
    ),
    (
        "palette on for 127.0.0.1",
        {"hosts": [], "ipAddresses": ["127.0.0.2"], "paletteRegistration": True, "paletteApiKey": "k" * 20},
        "paletteRegistration",
        "loopback",
    ),
    (
        "palette on for ::1",
        {"hosts": [], "ipAddresses": ["::1"], "paletteRegistration": True, "paletteApiKey": "k" * 20},
        "paletteRegistration",
        "loopback",
    ),
    ("palette name", {"paletteRegistrationName": "My Registry"}, "paletteRegistrationName", "not a valid"),
    ("palette user unknown", {"paletteUser": "nobody"}, "paletteUser", "not one of"),
    ("palette sync timeout", {"paletteSyncTimeoutSeconds": 0}, "paletteSyncTimeoutSeconds", "out of range"),
    ("log size without unit", {"logMaxSize": "10"}, "logMaxSize", "not a log file size"),
    ("log size in bytes words", {"logMaxSize": "10 MB"}, "logMaxSize", "not a log file size"),
    ("log size zero", {"logMaxSize": "0m"}, "logMaxSize", "not a log file size"),
    ("no log files", {"logMaxFiles": 0}, "logMaxFiles", "out of range"),
    ("memory below the floor", {"memoryLimitMb": MIN_MEMORY_LIMIT_MB - 1}, "memoryLimitMb", "needs to start"),
    ("memory negative", {"memoryLimitMb": -1}, "memoryLimitMb", "needs to start"),
    ("memory in GB by mistake", {"memoryLimitMb": 2}, "memoryLimitMb", "at least 128"),
    ("cpus not a number", {"cpus": "two"}, "cpus", "not a CPU count"),
    ("cpus negative", {"cpus": "-1"}, "cpus", "not a CPU count"),
    ("cpus too fine", {"cpus": "0.005"}, "cpus", "not a CPU count"),
    ("cpus read back rounded", {"cpus": "0.05"}, "cpus", "read back by the docker provider as 0.1"),
    ("cpus read back rounded past ten", {"cpus": "10.05"}, "cpus", "as 10.1"),
    ("registry kind unknown", {"registryKind": "harbor"}, "registryKind", "Use legacy"),
    ("registry kind upper case", {"registryKind": "OCI"}, "registryKind", "not a registry kind"),
    ("base path upper case", {"registryKind": "oci", "baseContentPath": "Packs"}, "baseContentPath", "not an OCI"),
    ("base path leading slash", {"baseContentPath": "/packs"}, "baseContentPath", "no leading or trailing"),
    ("base path trailing slash", {"baseContentPath": "packs/"}, "baseContentPath", "not an OCI repository"),
    ("base path climbs", {"baseContentPath": "packs/../etc"}, "baseContentPath", "no '..'"),
    ("base path empty segment", {"baseContentPath": "packs//x"}, "baseContentPath", "not an OCI repository"),
    ("base path with space", {"baseContentPath": "my packs"}, "baseContentPath", "not an OCI repository"),
    ("proxy image latest", {"registryKind": "oci", "proxyImage": "nginx:latest"}, "proxyImage", "latest"),
    ("proxy image without tag", {"proxyImage": "nginx"}, "proxyImage", "no tag"),
    ("oci image latest", {"registryKind": "oci", "image": "registry:latest"}, "image", "e.g. registry:2.8.3"),
    (
        "oci over http for Palette",
        {"registryKind": "oci", "tlsMode": "http", "allowInsecureHttp": True, "paletteApiKey": "k" * 20},
        "tlsMode",
        "https:// endpoint only",
    ),
    ("oci realm off", {"registryKind": "oci", "authRealm": "off"}, "authRealm", "turn the proxy's basic auth off"),
    ("tls 1.1 floor", {"tlsMinVersion": "1.1"}, "tlsMinVersion", "Use 1.2 or 1.3"),
    ("tls floor spelled like distribution", {"tlsMinVersion": "tls1.2"}, "tlsMinVersion", "Use 1.2 or 1.3"),
]


@pytest.mark.parametrize(("overrides", "key", "words"), [row[1:] for row in BAD], ids=[row[0] for row in BAD])
def test_bad_value_names_the_key(overrides: dict[str, Any], key: str, words: str) -> None:
    assert_refused(overrides, key, words)


def test_defaults_come_from_pulumi_yaml() -> None:
    settings = parse({})
    assert settings.container.image == DEFAULT_IMAGE
    assert settings.network.tls_mode == "self-signed"
    assert settings.network.port == 443
    assert settings.network.endpoint == "https://registry.example.com"
    assert settings.users.admin_user == "admin"
    assert settings.users.read_only_users == ("spectro",)
    assert settings.users.password_length == 32
    assert settings.container.log_level == "info"
    assert settings.docker.host == "unix:///var/run/docker.sock"
    assert settings.readiness.health_path == "/health"
    assert settings.readiness.catalog_path == "/v1/_catalog"
    assert settings.readiness.url == "https://registry.example.com:443"
    assert not settings.palette.enabled
    assert "off" in settings.palette.reason
    assert settings.container.limits.log_max_size == "10m"
    assert settings.container.limits.log_max_files == 3
    assert settings.container.limits.memory_mb == 0
    assert settings.container.limits.cpus is None
    assert settings.tls.min_version == "1.2"
    assert settings.delete_unreachable is False


def test_deletes_may_let_go_of_what_they_cannot_reach() -> None:
    assert parse({"deleteUnreachable": True}).delete_unreachable is True


@pytest.mark.parametrize(
    ("nano_cpus", "expected"),
    # The first five are kreuzwerker/terraform-provider-docker internal/provider/helpers_test.go
    # TestNanoInt64ToDecimalString; the rest follow from its nine-zeros rule.
    [
        (0, "0"),
        (1_000_000_000, "1.0"),
        (1_500_000_000, "1.5"),
        (2_000_000_000, "2.0"),
        (2_250_000_000, "2.25"),
        (500_000_000, "0.5"),
        (10_000_000_000, "10."),
        (50_000_000, "0.1"),
        (10_050_000_000, "10.1"),
    ],
)
def test_cpus_are_written_the_way_the_provider_reads_them_back(nano_cpus: int, expected: str) -> None:
    assert provider_cpus(nano_cpus) == expected


@pytest.mark.parametrize(
    ("value", "declared"), [("1", "1.0"), ("1.5", "1.5"), ("0.25", "0.25"), ("16", "16.0"), ("10", "10.")]
)
def test_container_limits_are_declared_in_the_providers_form(value: str, declared: str) -> None:
    settings = parse({"cpus": value, "memoryLimitMb": MIN_MEMORY_LIMIT_MB, "logMaxSize": "1G", "logMaxFiles": 5})
    limits = settings.container.limits
    assert limits.cpus == declared
    assert limits.memory_mb == MIN_MEMORY_LIMIT_MB
    assert limits.log_max_size == "1g"
    assert limits.log_max_files == 5


def test_tls_floor_can_be_raised_to_1_3() -> None:
    assert parse({"tlsMinVersion": "1.3"}).tls.min_version == "1.3"


def test_http_mode_defaults_to_port_80_with_opt_in() -> None:
    settings = parse({"tlsMode": "http", "allowInsecureHttp": True})
    assert settings.network.port == 80
    assert settings.network.endpoint == "http://registry.example.com"
    assert not settings.network.https


def test_endpoint_keeps_a_non_default_port_and_brackets_ipv6() -> None:
    assert parse({"port": 5443}).network.endpoint == "https://registry.example.com:5443"
    assert parse({"hosts": [], "ipAddresses": ["fd00::5"]}).network.endpoint == "https://[fd00::5]"


@pytest.mark.parametrize("pair", [GOOD, WILDCARD], ids=["exact", "wildcard"])
def test_provided_certificate_that_covers_every_name_is_accepted(pair) -> None:
    settings = parse(provided(pair))
    assert settings.network.tls_mode == "provided"
    assert settings.tls.provided_certificate.startswith("-----BEGIN CERTIFICATE-----")


def test_palette_turns_on_with_an_api_key_from_the_environment() -> None:
    settings = parse({}, env={"PALETTE_API_KEY": "k" * 20}, stack="prod")
    assert settings.palette.enabled
    assert settings.palette.name == "spectro-registry-prod"
    assert settings.palette.user == "spectro"
    assert settings.palette.validate and settings.palette.sync and not settings.palette.wait_for_sync


def test_palette_can_be_forced_off_even_with_a_key() -> None:
    settings = parse({"paletteRegistration": False, "paletteApiKey": "k" * 20})
    assert not settings.palette.enabled
    assert "paletteRegistration is false" in settings.palette.reason


MALFORMED_KEY_HEAD, MALFORMED_KEY_TAIL = "palette-key-head-0123", "palette-key-tail-4567"


@pytest.mark.parametrize("inner", list(INSIDE.values()), ids=list(INSIDE))
@pytest.mark.parametrize("source", ["config", "environment"])
def test_a_malformed_palette_key_is_refused_before_any_resource(inner: str, source: str) -> None:
    """The Palette client refuses a key with a control or non-ASCII character inside (it cannot go into a
    header), but only when the registration is created: after the container, the volume and the readiness
    gate, at the end of a `pulumi up` that a preview let through. The program refuses every other bad
    input before any resource; the key can be judged here as well (stripped, as the client strips it)."""
    key = MALFORMED_KEY_HEAD + inner + MALFORMED_KEY_TAIL + "\n"
    overrides: dict[str, Any] = {"paletteRegistration": True}
    env: dict[str, str] = {}
    if source == "config":
        overrides["paletteApiKey"] = key
    else:
        env["PALETTE_API_KEY"] = key

    with pytest.raises(ConfigError) as caught:
        parse(overrides, env=env)

    message = str(caught.value)
    assert caught.value.key == "paletteApiKey"
    assert MALFORMED_KEY_HEAD not in message and MALFORMED_KEY_TAIL not in message


@pytest.mark.parametrize(
    "image",
    [
        "gcr.io/spectro-images-public/release/spectro-registry:4.8.4",
        "us-docker.pkg.dev/palette-images/palette/spectro-registry:4.5.0",
        "localhost:5000/spectro-registry:2.6.0",
        "[::1]:5000/spectro-registry:2.6.0",
        "spectro-registry@sha256:" + "a" * 64,
        "gcr.io/spectro-registry:latest@sha256:" + "b" * 64,
    ],
)
def test_pinned_image_references_docker_accepts_pass(image: str) -> None:
    assert parse({"image": image}).container.image == image


def test_config_error_is_a_run_error_so_the_cli_prints_one_line() -> None:
    """The Python language host prints a ``RunError``'s message alone and any other exception with its
    traceback (pulumi/pulumi ``sdk/python/cmd/pulumi-language-python-exec``: ``except pulumi.RunError``)."""
    import pulumi

    with pytest.raises(pulumi.RunError) as caught:
        parse({"port": "https"})
    assert "\n" not in str(caught.value)


SECRET_VALUES: dict[str, Any] = {
    "tlsPrivateKey": GOOD.key_pem,
    "imagePullPassword": "pull-token-0123456789",
    "adminPassword": "Admin-password-0123456789",
    "readOnlyPasswords": ["Reader-password-0123456789"],
    "dockerKey": "-----BEGIN EC PRIVATE KEY-----\nMHc-not-really\n-----END EC PRIVATE KEY-----",
    "paletteApiKey": "palette-api-key-0123456789",
}


@pytest.mark.parametrize("key", sorted(SECRET_VALUES))
def test_a_secret_key_set_without_secret_is_refused_without_echoing_it(key: str) -> None:
    """Secret keys carry a default, so they cannot be declared ``secret: true`` (the CLI would refuse the
    default on every stack: pulumi/pulumi ``pkg/workspace/config.go`` ``validateStackConfigValue``); the
    program refuses a value the CLI did not decrypt instead (``pulumi.runtime.is_config_secret``)."""
    from components.config import SECRET_KEYS

    assert key in SECRET_KEYS
    values = {k: as_config_string(v) for k, v in BASE.items()}
    values[key] = as_config_string(SECRET_VALUES[key])
    with pytest.raises(ConfigError) as caught:
        parse_settings(values.get, stack="dev", env={}, is_secret=lambda k: k != key)
    message = str(caught.value)
    assert caught.value.key == key
    assert "--secret" in message and "plain text" in message
    assert values[key].strip() not in message
    # The same value handed over as a secret passes that check (other rules may still object to it alone).
    try:
        parse_settings(values.get, stack="dev", env={}, is_secret=lambda k: True)
    except ConfigError as other:
        assert "plain text" not in str(other)


def test_declared_secret_keys_are_exactly_the_keys_the_program_keeps_secret() -> None:
    from components.config import SECRET_KEYS
    from components.project import declared_config

    declared = declared_config()
    said_secret = {key for key, spec in declared.items() if "--secret" in spec.get("description", "")}
    assert said_secret == set(SECRET_KEYS)


def test_palette_auto_stays_off_for_a_loopback_endpoint_and_says_why() -> None:
    settings = parse({"hosts": ["localhost"], "ipAddresses": ["127.0.0.1"]}, env={"PALETTE_API_KEY": "k" * 20})
    assert not settings.palette.enabled
    assert "loopback" in settings.palette.reason and "'localhost'" in settings.palette.reason
    assert parse({}, env={"PALETTE_API_KEY": "k" * 20}).palette.enabled


def test_palette_may_use_the_admin_user_with_a_warning() -> None:
    settings = parse({"paletteUser": "admin"}, env={"PALETTE_API_KEY": "k" * 20})
    assert settings.palette.user == "admin"
    assert any("admin user 'admin'" in warning for warning in settings.palette.warnings)
    assert not parse({}, env={"PALETTE_API_KEY": "k" * 20}).palette.warnings


def test_palette_url_on_loopback_may_be_plain_http_for_a_local_test_palette() -> None:
    settings = parse({"paletteApiUrl": "http://127.0.0.1:8080"}, env={"PALETTE_API_KEY": "k" * 20})
    assert settings.palette.api_url == "http://127.0.0.1:8080"


NASTY = [
    "",
    " ",
    "\n",
    "\t",
    "[]",
    "{}",
    '{"a": 1}',
    "null",
    "0",
    "-1",
    "99999999999999999999999",
    "true",
    '["a", 1]',
    '"text"',
    "x" * 5000,
    "\x00",
    "a\nb",
    "%",
    "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----",
]


def _declared_keys() -> list[str]:
    from components.project import declared_config

    return list(declared_config())


@pytest.mark.parametrize("key", _declared_keys())
def test_any_value_of_any_key_is_accepted_or_refused_in_one_line(key: str) -> None:
    """Whatever a stack holds, the program either takes it or stops with a ConfigError (one line, the key
    named, the value not echoed when it is a secret): never another exception with a traceback."""
    from components.config import SECRET_KEYS

    # Where a key only matters with another one, that other one is set too.
    context: dict[str, Any] = {
        "tlsCertificate": provided(GOOD),
        "tlsPrivateKey": provided(GOOD),
        "dockerCaCert": {"dockerHost": "tcp://docker.example.com:2376", "dockerCert": "c", "dockerKey": "k"},
        "dockerCert": {"dockerHost": "tcp://docker.example.com:2376", "dockerCaCert": "c", "dockerKey": "k"},
        "dockerKey": {"dockerHost": "tcp://docker.example.com:2376", "dockerCaCert": "c", "dockerCert": "c"},
        "imagePullPassword": {"imagePullUsername": "robot"},
        "paletteUser": {"paletteApiKey": "k" * 20},
        "paletteRegistrationName": {"paletteApiKey": "k" * 20},
    }.get(key, {})
    for value in NASTY:
        values = {k: as_config_string(v) for k, v in {**BASE, **context}.items()}
        values[key] = value
        try:
            parse_settings(values.get, stack="dev", env={})
        except ConfigError as error:
            message = str(error)
            assert "\n" not in message, (key, value, message)
            assert message.startswith(f"config key '{PROJECT}:"), (key, value, message)
            if key in SECRET_KEYS and len(value.strip()) > 4:
                assert value.strip() not in message, (key, value, message)


# ---------------------------------------------------------------------------------------------------------
# Inputs a user may type that would otherwise fail late, after resources exist, and valid inputs that must
# not be refused.


@pytest.mark.parametrize(
    "url",
    [
        "https://ops@palette.example.com",
        "https://palette.example.com?tenant=a",
        "https://palette.example.com#console",
        "https://palette.example.com:99999",
        "https://[fe80::1%eth0]",
    ],
)
def test_a_palette_url_the_registration_would_refuse_is_refused_before_any_resource(url: str) -> None:
    """The Palette provider's check (components/palette/inputs.py ``_url``) refuses credentials, a query, a
    fragment and an invalid port in ``api_url``, but only when the engine checks that resource, after the
    image, volume and container exist, and it names ``api_url``. The config must refuse them first."""
    with pytest.raises(ConfigError) as caught:
        parse({"paletteApiUrl": url}, env={"PALETTE_API_KEY": "k" * 20})
    assert caught.value.key == "paletteApiUrl"


def test_a_palette_url_with_a_password_is_refused_without_echoing_it() -> None:
    with pytest.raises(ConfigError) as caught:
        parse(
            {"paletteApiUrl": "https://ops:Hunter2-palette-pw@palette.example.com"}, env={"PALETTE_API_KEY": "k" * 20}
        )
    assert caught.value.key == "paletteApiUrl"
    assert "Hunter2-palette-pw" not in str(caught.value)


@pytest.mark.parametrize(
    "overrides",
    [
        {"readinessUrl": "https://ops:pw@10.0.0.5:443"},
        {"readinessUrl": "https://10.0.0.5:99999"},
        {"readinessUrl": "https://10.0.0.5?x=1"},
        {"readinessUrl": "http://10.0.0.5:443"},  # tlsMode self-signed serves https
        {"readinessUrl": "https://10.0.0.5:80", "tlsMode": "http", "allowInsecureHttp": True},
    ],
    ids=["credentials", "port", "query", "http-for-https", "https-for-http"],
)
def test_a_readiness_url_the_gate_cannot_use_is_refused_before_any_resource(overrides: dict[str, Any]) -> None:
    """The gate (components/readiness/gate.py) appends the health path to ``readinessUrl`` and fails only after the
    container was created; a URL it can never use must stop `pulumi up` first."""
    with pytest.raises(ConfigError) as caught:
        parse(overrides)
    assert caught.value.key == "readinessUrl"


@pytest.mark.parametrize(
    "image",
    [
        "gcr.io/spectro-registry@sha256:" + "a" * 63,
        "gcr.io/spectro-registry@sha256:" + "A" * 64,
        "gcr.io/spectro-registry@sha512:" + "a" * 64,
        "gcr.io/spectro-registry@md5:" + "a" * 32,
    ],
    ids=["sha256-short", "sha256-upper", "sha512-short", "unknown-algorithm"],
)
def test_an_image_digest_docker_refuses_is_refused(image: str) -> None:
    """distribution/reference ``Parse`` runs ``digest.Parse`` on the digest: sha256 takes exactly 64 lower-case
    hex digits, sha512 128, and an unknown algorithm is refused (reference_test.go: ``ErrDigestInvalidLength``,
    ``ErrDigestUnsupported``). The grammar regexp alone lets these through."""
    with pytest.raises(ConfigError) as caught:
        parse({"image": image})
    assert caught.value.key == "image"


def test_a_certificate_chain_holding_the_private_key_is_refused_without_echoing_it() -> None:
    """A combined PEM (certificate and key in one file) piped into the plain ``tlsCertificate`` would put the
    private key in the stack file, in the plain ``caCertificate`` export and in the readiness gate's plain
    inputs (``load_pem_x509_certificates`` skips the key block, so parsing alone would not object)."""
    combined = GOOD.certificate_pem + GOOD.key_pem
    with pytest.raises(ConfigError) as caught:
        parse(provided(GOOD, tlsCertificate=combined))
    assert caught.value.key == "tlsCertificate"
    body = GOOD.key_pem.splitlines()[1]
    assert body not in str(caught.value)


def test_a_chain_in_the_wrong_order_blames_the_order_not_the_key() -> None:
    """The right key with the CA first: the message must say the server certificate comes first, not send the
    user after another key."""
    chain = _CA.certificate_pem + GOOD.certificate_pem
    with pytest.raises(ConfigError) as caught:
        parse(provided(GOOD, tlsCertificate=chain))
    assert caught.value.key == "tlsCertificate"
    assert "first" in str(caught.value)


@pytest.mark.parametrize("key", ["port", "passwordLength", "readinessTimeoutSeconds", "caValidityHours"])
def test_an_integer_with_thousands_of_digits_is_a_config_error_not_a_traceback(key: str) -> None:
    """Python refuses to convert more than 4300 digits (ValueError, not a RunError: a traceback under
    `pulumi up`). The CLI lets it through with --skip-config-validation (pkg/workspace/config.go
    ApplyProjectConfig)."""
    with pytest.raises(ConfigError) as caught:
        parse({key: "9" * 5000})
    assert caught.value.key == key


@pytest.mark.parametrize(
    ("overrides", "stack"),
    [
        ({}, "dev_local"),
        ({}, "prod.eu"),
        ({"containerName": "spectro_registry"}, "dev"),
        ({"containerName": "a" * 60}, "dev"),
    ],
    ids=["stack-underscore", "stack-dot", "container-underscore", "container-long"],
)
def test_valid_stack_and_container_names_are_accepted_while_palette_is_off(
    overrides: dict[str, Any], stack: str
) -> None:
    """Pulumi stack names may hold '_' and '.' (pulumi/pulumi ``sdk/go/common/tokens/stack_name.go``), Docker
    container names '_' and '.' (and any length): the
    default Palette registration name derived from them is not valid, but with registration off nothing uses
    it, and the message named paletteRegistrationName, a key the user never set."""
    settings = parse(overrides, stack=stack)
    assert not settings.palette.enabled


@pytest.mark.parametrize(
    ("overrides", "env", "named"),
    [
        ({"paletteApiKey": "palette-key-0123\npalette-key-4567"}, {}, "paletteApiKey"),
        ({}, {"PALETTE_API_KEY": "palette-key-0123\npalette-key-4567"}, "PALETTE_API_KEY"),
    ],
    ids=["config-newline", "env-newline"],
)
def test_an_api_key_that_cannot_be_a_header_is_refused_without_echoing_it(
    overrides: dict[str, Any], env: dict[str, str], named: str
) -> None:
    """The key travels as the ApiKey header; requests refuses a line break there only when Palette is called
    (after the container exists) and echoes the key (see test_palette_client). The config must refuse it first,
    without echoing it."""
    with pytest.raises(ConfigError) as caught:
        parse(overrides, env=env)
    assert named in str(caught.value)
    assert "palette-key-0123" not in str(caught.value)


EXISTING: dict[str, Any] = {
    "hosts": [],
    "ipAddresses": [],
    "registryKind": "oci",
    "ociEndpoint": "https://harbor.example.com",
    "ociPushUser": "robot",
    "ociPushPassword": "push-password-0123456789",
    "paletteUser": "reader",
    "palettePassword": "pull-password-0123456789",
}

# (case, overrides of EXISTING, key named in the message, words the message must contain)
BAD_EXISTING: list[tuple[str, dict[str, Any], str, str]] = [
    ("existing with the legacy kind", {"registryKind": "legacy"}, "ociEndpoint", "registryKind is legacy"),
    ("existing over http", {"ociEndpoint": "http://harbor.example.com"}, "ociEndpoint", "not https://"),
    ("existing with a path", {"ociEndpoint": "https://harbor.example.com/v2"}, "ociEndpoint", "has a path"),
    ("existing with credentials", {"ociEndpoint": "https://u:p@harbor.example.com"}, "ociEndpoint", "credentials"),
    ("existing bad host", {"ociEndpoint": "https://bad_host.example.com"}, "ociEndpoint", "other than letters"),
    ("existing without push user", {"ociPushUser": ""}, "ociPushUser", "are needed with ociEndpoint"),
    ("existing without push password", {"ociPushPassword": None}, "ociPushUser", "are needed"),
    ("existing without palette user", {"paletteUser": ""}, "paletteUser", "pull user of that registry"),
    ("existing without palette password", {"palettePassword": None}, "palettePassword", "as 'reader'"),
    ("existing ca not pem", {"ociCaCertificate": "not a certificate"}, "ociCaCertificate", "not a PEM"),
    ("existing ca with a key", {"ociCaCertificate": GOOD.key_pem}, "ociCaCertificate", "private key"),
    ("existing and hosts", {"hosts": ["registry.example.com"]}, "hosts", "already runs"),
    ("existing and a port", {"port": 5443}, "port", "Unset port"),
    ("existing and docker hosts", {"dockerHosts": ["ssh://ops@node-a"]}, "dockerHosts", "already runs"),
    ("existing in maintenance", {"maintenanceReadOnly": True}, "maintenanceReadOnly", "program does not run"),
    ("push user without endpoint", {"ociEndpoint": None}, "ociPushUser", "ociEndpoint is not"),
]


@pytest.mark.parametrize(("case", "overrides", "key", "words"), BAD_EXISTING, ids=[c[0] for c in BAD_EXISTING])
def test_existing_registry_refusals(case: str, overrides: dict[str, Any], key: str, words: str) -> None:
    assert_refused({**EXISTING, **overrides}, key, words)


def test_an_existing_registry_is_reached_at_its_endpoint_with_the_oci_paths() -> None:
    settings = parse({**EXISTING, "ociEndpoint": "https://Harbor.example.com:443/"})
    assert settings.existing is not None and not settings.kind.kind.deploys
    assert settings.network.endpoint == "https://harbor.example.com" == settings.existing.endpoint
    assert (settings.readiness.url, settings.readiness.health_path) == ("https://harbor.example.com:443", "/v2/")
    assert settings.palette.user == "reader"


def test_palette_may_use_the_push_user_only_when_named_and_is_warned() -> None:
    settings = parse({**EXISTING, "paletteUser": "robot", "palettePassword": None})
    assert settings.existing is not None
    assert settings.existing.palette_user == "robot"
    assert any("push user 'robot'" in warning for warning in settings.existing.warnings)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("dockerHost", "ssh://ops@node-a"),
        ("tlsCertificate", GOOD.certificate_pem),
        ("adminPassword", "admin-password-0123456789"),
        ("image", "registry:2.8.2"),
        ("proxyImage", "nginx:1.27.4-bookworm"),
        ("dataVolume", "/srv/packs"),
        ("readinessUrls", ["https://127.0.0.1:8443"]),
    ],
)
def test_an_existing_registry_refuses_every_key_that_describes_a_deployment(key: str, value: Any) -> None:
    """With ociEndpoint nothing is deployed, and components/config/existing.py refuses hosts, ipAddresses,
    port, tlsMode and dockerHosts ("describes a registry the program deploys"). Its siblings are taken
    without a word and then ignored: ``dockerHost`` (``dockerHosts`` is refused), a provided certificate, an
    admin password (a secret the user believes is in use: packs are pushed with ociPushPassword), an image,
    a data location, per-host readiness URLs. The project's rule (docs/configuration.md): fail early with one
    line naming the key."""
    with pytest.raises(ConfigError) as caught:
        parse({**EXISTING, key: value})
    assert key in str(caught.value)


def test_a_loopback_existing_endpoint_with_registration_on_names_the_key_that_can_fix_it() -> None:
    """paletteRegistration true with a loopback ociEndpoint is refused, but the fix the message gives is to
    list another name first in hosts (or ipAddresses), keys that ociEndpoint refuses. The only key that
    can fix it there is ociEndpoint."""
    with pytest.raises(ConfigError) as caught:
        parse(
            {**EXISTING, "ociEndpoint": "https://127.0.0.1:5000", "paletteRegistration": True},
            env={"PALETTE_API_KEY": "palette-key-0123456789"},
        )
    message = str(caught.value)
    assert "ociEndpoint" in message, message
    assert "hosts" not in message, message


@pytest.mark.parametrize(
    ("kind", "image"),
    [
        ("oci", "gcr.io/spectro-images-public/release/spectro-registry:2.6.0"),
        ("oci", "us-docker.pkg.dev/palette-images/palette/spectro-registry:4.8.4"),
        ("legacy", "registry:2.8.3"),
    ],
)
def test_an_image_pinned_for_the_other_kind_is_refused_naming_image(kind: str, image: str) -> None:
    """The image must be pinned (docs/registry-servers.md), and docs/oci.md "Switching kinds" says a switch
    replaces the containers with "another image". But ``image`` keeps its value across ``registryKind``: a stack that
    pinned spectro-registry and sets ``registryKind: oci`` runs spectro-registry behind nginx, with the OCI
    data path, env and gate (and the reverse runs distribution as the legacy server). Nothing says why the
    gate then fails. The image of the other kind must be refused, naming ``image``."""
    with pytest.raises(ConfigError) as caught:
        parse({"registryKind": kind, "image": image})
    assert "'palette-pack-registry:image'" in str(caught.value)
