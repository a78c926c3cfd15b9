"""The stack's typed, validated settings.

Every key is declared in ``Pulumi.yaml`` (type, description, default, secret). ``load_settings`` reads
them once and fails before any resource is registered, with one message that names the key and says how
to fix it. Validation is plain Python over plain values so a table-driven test can cover every rule.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from urllib.parse import SplitResult, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtensionOID
from pulumi.errors import RunError

from components.palette_client import DEFAULT_API_URL as DEFAULT_PALETTE_API_URL
from components.storage import STORAGE_KINDS, S3Storage, StorageSettings

__all__ = [
    "DEFAULT_IMAGE",
    "PROJECT",
    "SECRET_KEYS",
    "ConfigError",
    "ContainerLimits",
    "DockerHostSettings",
    "InstanceSettings",
    "PaletteSettings",
    "ReadinessSettings",
    "RegistrySettings",
    "load_settings",
    "parse_settings",
]

PROJECT = "palette-pack-registry"
PALETTE_API_KEY_ENV = "PALETTE_API_KEY"
DEFAULT_IMAGE = "gcr.io/spectro-images-public/release/spectro-registry:2.6.0"

TLS_MODES = ("self-signed", "provided", "http")
LOG_LEVELS = ("error", "warn", "info", "debug")
KEY_ALGORITHMS = {
    # config value: (pulumi-tls algorithm, ecdsa curve, rsa bits)
    "ECDSA-P256": ("ECDSA", "P256", None),
    "ECDSA-P384": ("ECDSA", "P384", None),
    "RSA-2048": ("RSA", None, 2048),
    "RSA-3072": ("RSA", None, 3072),
    "RSA-4096": ("RSA", None, 4096),
}
TLS_MIN_VERSIONS = {"1.2": "tls1.2", "1.3": "tls1.3"}
"""tlsMinVersion -> REGISTRY_HTTP_TLS_MINIMUMTLS (distribution's registry/registry.go tlsVersions)."""
MIN_MEMORY_LIMIT_MB = 128
MAX_MEMORY_LIMIT_MB = 4 * 1024 * 1024
"""4 TiB: far beyond any host, and far below where the provider's MB-to-bytes int64 conversion wraps."""
MAX_CPUS = 1024
MAX_LOG_FILE_BYTES = 100 * 1024**3
_LOG_UNITS = {"k": 1024, "m": 1024**2, "g": 1024**3}
"""The smallest memoryLimitMb accepted (README "Operating it" has the measurement behind it)."""
_LOG_SIZE = re.compile(r"^[1-9][0-9]*[kmg]$")
# bcrypt only hashes the first 72 bytes; generated passwords are ASCII, so bytes == characters.
BCRYPT_MAX_BYTES = 72
MIN_PASSWORD_LENGTH = 16

SECRET_KEYS = (
    "tlsPrivateKey",
    "imagePullPassword",
    "adminPassword",
    "readOnlyPasswords",
    "dockerKey",
    "s3AccessKey",
    "s3SecretKey",
    "paletteApiKey",
)
"""Keys whose value must be set with ``pulumi config set --secret``.

They are declared in Pulumi.yaml with a default and without ``secret: true``: the CLI merges every
default into the stack's config as a plain value and then refuses a plain value for a secret key, on
every stack (pulumi/pulumi ``pkg/workspace/config.go``, pulumi/pulumi#21865). So the program keeps them
secret itself: it reads them with ``get_secret`` and refuses a value the CLI did not decrypt.
"""
_SET_SECRET = {
    "tlsPrivateKey": "Set it again encrypted: `pulumi config set --secret tlsPrivateKey < tls.key`.",
    "readOnlyPasswords": (
        "Remove the plain list with `pulumi config rm readOnlyPasswords`, then set each password encrypted: "
        "`pulumi config set --secret --path 'readOnlyPasswords[0]' <password>` (one per read-only user)."
    ),
    "dockerKey": "Set it again encrypted: `pulumi config set --secret dockerKey < key.pem`.",
}
# A host path for /data must be a directory of its own, not one the system lives in.
_SYSTEM_DIRECTORIES = frozenset(
    "/bin /boot /dev /etc /home /lib /lib64 /media /mnt /opt /proc /root /run /sbin /srv /sys /tmp /usr /var "
    "/var/lib /var/lib/docker".split()
)
# PEM values span lines; every other text value is one line.
_MULTILINE_KEYS = frozenset({"tlsCertificate", "tlsPrivateKey", "dockerCaCert", "dockerCert", "dockerKey"})

_DNS_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
_USER_NAME = re.compile(r"^[A-Za-z0-9._@-]{1,64}$")
_CONTAINER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_VOLUME_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]+$")
_PATH = re.compile(r"^/[\x21-\x7e]*$")
# Docker's image reference grammar (distribution/reference regexp.go), spelled with ASCII classes.
_IMAGE_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_IMAGE_DOMAIN = (
    r"(?:(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*"
    r"|\[[a-fA-F0-9:]+\])(?::[0-9]+)?"
)
_IMAGE_REF = re.compile(
    rf"^(?P<name>(?:{_IMAGE_DOMAIN}/)?{_IMAGE_PATH_COMPONENT}(?:/{_IMAGE_PATH_COMPONENT})*)"
    r"(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?"
    r"(?:@(?P<digest>[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}))?$"
)
_IMAGE_NAME_MAX = 255
# What go-digest (behind distribution/reference Parse) validates a digest against.
_DIGEST_SIZES = {"sha256": 64, "sha384": 96, "sha512": 128}
# strconv.Atoi's syntax: what the CLI accepts for an `integer` key.
_INTEGER = re.compile(r"^[+-]?[0-9]+$")


class ConfigError(RunError, ValueError):
    """A config value is invalid. The message names the key and says how to fix it.

    A ``RunError``: the Python language host prints its message as one line, without a traceback
    (pulumi/pulumi ``sdk/python/cmd/pulumi-language-python-exec``).
    """

    def __init__(self, key: str, problem: str, fix: str) -> None:
        self.key = key
        super().__init__(f"config key '{PROJECT}:{key}': {problem}. {fix}")


@dataclass(frozen=True)
class DockerHostSettings:
    """Where the container runs and how Pulumi reaches that Docker engine."""

    host: str
    """Docker host URL: unix://, tcp:// (with TLS material) or ssh://."""
    ssh_opts: tuple[str, ...]
    """Extra ssh options for ssh:// hosts."""
    ca_material: str | None
    """PEM CA that signs the tcp:// daemon's certificate."""
    cert_material: str | None
    """PEM client certificate for a tcp:// daemon."""
    key_material: Any
    """PEM client key for a tcp:// daemon (a secret Output, or None)."""


@dataclass(frozen=True)
class InstanceSettings:
    """One registry instance: the Docker host it runs on and the URL its readiness gate polls."""

    key: str
    """"" for the first instance (it keeps the single-host resource names), else a slug of its host URL."""
    docker: DockerHostSettings
    readiness_url: str
    """Base URL the machine running Pulumi reaches this instance at."""


@dataclass(frozen=True)
class ReadinessSettings:
    """How `pulumi up` proves the registry answers before anything depends on it."""

    enabled: bool
    url: str
    """Base URL the machine running Pulumi uses to reach the registry."""
    health_path: str
    catalog_path: str
    timeout_seconds: int


@dataclass(frozen=True)
class PaletteSettings:
    """Registration of the registry in Palette (off unless an API key or URL is configured)."""

    enabled: bool
    api_url: str
    name: str
    user: str
    """The registry user Palette authenticates as."""
    validate: bool
    sync: bool
    wait_for_sync: bool
    sync_timeout_seconds: int
    insecure_skip_verify: bool
    reason: str
    """Why registration is on or off, said once during `pulumi up`."""
    warnings: tuple[str, ...] = ()
    """What `pulumi up` should warn about (allowed, but probably not meant)."""


@dataclass(frozen=True)
class ContainerLimits:
    """What bounds the container over months of running: its log files, memory and CPU."""

    log_max_size: str
    """json-file log driver max-size, e.g. 10m."""
    log_max_files: int
    """json-file log driver max-file."""
    memory_mb: int
    """Memory limit in MB; 0 for none."""
    cpus: str | None
    """CPU limit written the way the docker provider reads it back (e.g. 1.0, 1.5); None for none."""


@dataclass(frozen=True)
class RegistrySettings:
    """Everything the program needs, validated. Secrets stay ``pulumi.Output`` values."""

    hosts: tuple[str, ...]
    """DNS names clients use; the first is the endpoint's host."""
    ip_addresses: tuple[str, ...]
    """IP addresses clients use (IP SANs)."""
    port: int
    """Host port published for the registry (container port 5000)."""
    bind_address: str
    """Host address the port is published on."""
    tls_mode: str
    """self-signed | provided | http."""
    provided_certificate: str | None
    provided_private_key: Any
    image: str
    container_name: str
    data_volume: str
    """A named Docker volume, or an absolute host path."""
    log_level: str
    limits: ContainerLimits
    tls_min_version: str
    """1.2 or 1.3 (the server's REGISTRY_HTTP_TLS_MINIMUMTLS is tls<version>)."""
    auth_realm: str
    admin_user: str
    read_only_users: tuple[str, ...]
    password_length: int
    rotation_keeper: str
    admin_password: Any
    """User-supplied admin password (secret Output) or None to generate one."""
    read_only_passwords: Any
    """User-supplied read-only passwords (secret Output of a list) or None to generate them."""
    ca_validity_hours: int
    cert_validity_hours: int
    cert_early_renewal_hours: int
    key_algorithm: str
    docker: DockerHostSettings
    pull_username: str | None
    pull_password: Any
    readiness: ReadinessSettings
    palette: PaletteSettings
    storage: StorageSettings = field(default_factory=StorageSettings)
    """Filesystem (today's volume or host path) or one S3 bucket shared by every instance."""
    instances: tuple[InstanceSettings, ...] = ()
    """One per Docker host, the first one on `dockerHost` (or the first of `dockerHosts`)."""

    @property
    def https(self) -> bool:
        return self.tls_mode != "http"

    @property
    def scheme(self) -> str:
        return "https" if self.https else "http"

    @property
    def primary_host(self) -> str:
        return self.hosts[0] if self.hosts else self.ip_addresses[0]

    @property
    def endpoint(self) -> str:
        """The URL clients use: the default port for the scheme is left out."""
        default_port = 443 if self.https else 80
        host = self.primary_host
        if ":" in host:  # an IPv6 address
            host = f"[{host}]"
        suffix = "" if self.port == default_port else f":{self.port}"
        return f"{self.scheme}://{host}{suffix}"

    @property
    def host_port(self) -> str:
        """host[:port] as the Spectro CLI and its certs.d directory name it."""
        return self.endpoint.split("://", 1)[1]

    @property
    def is_bind_mount(self) -> bool:
        return self.data_volume.startswith("/")


# ---------------------------------------------------------------------------------------------------------
# Reading raw values.


class _Raw:
    """Typed access to raw config strings, with the key in every error."""

    def __init__(self, get: Callable[[str], str | None], declared: Mapping[str, Any]) -> None:
        self._get = get
        self._declared = declared

    def default(self, key: str) -> Any:
        return self._declared.get(key, {}).get("default")

    def text(self, key: str) -> str:
        value = self._get(key)
        if value is None:
            value = self.default(key)
        text = "" if value is None else str(value)
        if key not in _MULTILINE_KEYS:
            _check_one_line(key, text.strip())
        return text

    def integer(self, key: str) -> int:
        value = self.text(key).strip()
        if not _INTEGER.match(value):
            raise ConfigError(key, f"'{value}' is not a whole number", "Set it to an integer.")
        if len(value.lstrip("+-").lstrip("0")) > 18:
            raise ConfigError(key, f"'{value[:20]}...' is far too large", "Set it to a sensible integer.")
        return int(value)

    def boolean(self, key: str) -> bool:
        value = self.text(key).strip().lower()
        if value in ("true", "false"):
            return value == "true"
        raise ConfigError(key, f"'{value}' is not a boolean", "Set it to true or false.")

    def strings(self, key: str) -> tuple[str, ...]:
        raw = self._get(key)
        value: Any = self.default(key) if raw is None else raw
        if isinstance(value, str):
            try:
                value = json.loads(value) if value.strip() else []
            except json.JSONDecodeError:
                raise ConfigError(
                    key, "is not a list", f"Set it with `pulumi config set --path '{key}[0]' <value>`."
                ) from None
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise ConfigError(
                key, "must be a list of strings", f"Set it with `pulumi config set --path '{key}[0]' <value>`."
            )
        items = tuple(item.strip() for item in value)
        for item in items:
            _check_one_line(key, item)
        return items


def _check_one_line(key: str, value: str) -> None:
    """Refuse control characters (a pasted newline, a tab) without echoing the value: it may be a secret."""
    for position, char in enumerate(value):
        if ord(char) < 32 or ord(char) == 127:
            raise ConfigError(
                key,
                f"holds a control character (code {ord(char)}) at position {position}",
                "Set it again without line breaks, tabs or other control characters.",
            )


def _declared_config() -> dict[str, Any]:
    """The `config:` block of Pulumi.yaml (defaults and secrecy), read without a YAML dependency."""
    from components._project import declared_config

    return declared_config()


# ---------------------------------------------------------------------------------------------------------
# Validation rules.


def _dns_name_problem(name: str) -> str | None:
    """Which rule ``name`` breaks as a host name clients dial (and a certificate's DNS SAN), or None."""
    if not name:
        return "is empty"
    if _is_ip(name):
        return "is an IP address, not a DNS name (put IP addresses in `ipAddresses`)"
    if name.endswith("."):
        return "ends with a dot (write the name without the trailing '.')"
    if len(name) > 253:
        return f"is {len(name)} characters long (a DNS name has at most 253)"
    if name.split(".")[-1].isdigit():
        return "ends in an all-numeric label, which no DNS name has (write an IP address in `ipAddresses`)"
    for label in name.split("."):
        if label == "*":
            return "is a wildcard (list the names clients really use; a provided certificate may still be a wildcard)"
        if not label:
            return "has an empty label (two dots in a row, or a leading dot)"
        if len(label) > 63:
            return f"has a label of {len(label)} characters ('{label[:20]}...'; a label has at most 63)"
        if label.startswith("-") or label.endswith("-"):
            return f"has a label that starts or ends with '-' ('{label}')"
        if not _DNS_LABEL.match(label):
            return f"has a character other than letters, digits, '-' and '.' (in '{label}')"
    return None


def _ip_problem(value: str) -> str | None:
    """Why ``value`` is not an address clients can dial (and a certificate's IP SAN), or None."""
    if "%" in value:
        return (
            f"'{value}' has a zone ('%{value.split('%', 1)[1]}'): a zone means something on one host only; "
            "list the address alone"
        )
    if not _is_ip(value):
        return f"'{value}' is not an IP address"
    address = ipaddress.ip_address(value)
    mapped = getattr(address, "ipv4_mapped", None)
    if address.is_unspecified or (mapped is not None and mapped.is_unspecified):
        return (
            f"'{value}' is the unspecified address, which no client can dial (publishing on every interface is "
            "`bindAddress`'s job)"
        )
    return None


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def _is_loopback(name: str) -> bool:
    if name.lower() == "localhost" or name.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _check_users(admin: str, read_only: tuple[str, ...]) -> None:
    if not admin:
        raise ConfigError("adminUser", "is empty", 'Name the admin user, e.g. "admin".')
    for key, names in (("adminUser", (admin,)), ("readOnlyUsers", read_only)):
        for name in names:
            if not name:
                raise ConfigError(key, "lists an empty user name", 'Give every user a name, e.g. ["spectro"].')
            if not _USER_NAME.match(name):
                raise ConfigError(
                    key,
                    f"user name '{name}' is not allowed (':' and whitespace break htpasswd and basic auth)",
                    "Use 1-64 characters from letters, digits, '.', '_', '@' and '-'.",
                )
    if not read_only:
        raise ConfigError("readOnlyUsers", "is empty", 'List at least one read-only user, e.g. ["spectro"].')
    if admin in read_only:
        raise ConfigError(
            "readOnlyUsers",
            f"user '{admin}' clashes with adminUser (one name cannot be both the admin and a read-only user)",
            "Give the read-only user another name, or change adminUser.",
        )
    seen: set[str] = set()
    for name in read_only:
        if name in seen:
            raise ConfigError("readOnlyUsers", f"user '{name}' appears twice", "Give every user a distinct name.")
        seen.add(name)


def _refuse_private_key(key: str, pem: str) -> None:
    """A certificate value holding a private key block would put that key in the stack file (and in the
    plain outputs built from it): refuse it, without echoing it."""
    if "PRIVATE KEY-----" in pem:
        raise ConfigError(
            key,
            "holds a private key block (it would be stored and exported in plain text)",
            "Set the certificates only; a key goes into its own secret key "
            "(`pulumi config set --secret tlsPrivateKey < tls.key`).",
        )


def check_provided_certificate(
    certificate_pem: str,
    private_key_pem: str,
    hosts: tuple[str, ...],
    ips: tuple[str, ...],
    now: datetime.datetime | None = None,
) -> None:
    """Fail unless the chain parses, its first certificate is valid now, matches the key and its SANs cover
    every name."""
    _refuse_private_key("tlsCertificate", certificate_pem)
    try:
        chain = x509.load_pem_x509_certificates(certificate_pem.encode())
    except ValueError:
        raise ConfigError(
            "tlsCertificate",
            "is not a PEM certificate chain",
            "Set it from a file: `pulumi config set "
            "tlsCertificate < tls.crt` (server certificate first, then intermediates).",
        ) from None
    try:
        key = serialization.load_pem_private_key(private_key_pem.encode(), password=None)
    except (ValueError, TypeError):
        raise ConfigError(
            "tlsPrivateKey",
            "is not an unencrypted PEM private key",
            "Set it from a file: `pulumi config set --secret tlsPrivateKey < tls.key`.",
        ) from None
    leaf = chain[0]
    public = serialization.PublicFormat.SubjectPublicKeyInfo

    def spki(certificate: x509.Certificate) -> bytes:
        return certificate.public_key().public_bytes(serialization.Encoding.DER, public)

    key_spki = key.public_key().public_bytes(serialization.Encoding.DER, public)
    if key_spki != spki(leaf):
        position = next((i for i, cert in enumerate(chain) if spki(cert) == key_spki), None)
        if position is not None:
            raise ConfigError(
                "tlsCertificate",
                f"lists the server certificate (the one tlsPrivateKey belongs to) at position {position + 1}",
                "Put the server certificate first, then its intermediates.",
            )
        raise ConfigError(
            "tlsPrivateKey",
            "does not match the first certificate in tlsCertificate",
            "Provide the key that belongs to the server certificate.",
        )
    now = now or datetime.datetime.now(datetime.UTC)
    if leaf.not_valid_after_utc <= now:
        raise ConfigError(
            "tlsCertificate",
            f"expired at {leaf.not_valid_after_utc.isoformat()}",
            "Renew it and set the new chain and key (`pulumi config set tlsCertificate < tls.crt`, "
            "`pulumi config set --secret tlsPrivateKey < tls.key`).",
        )
    if leaf.not_valid_before_utc > now:
        raise ConfigError(
            "tlsCertificate",
            f"is not valid before {leaf.not_valid_before_utc.isoformat()}",
            "Use a certificate that is valid now (check the issuer's and this machine's clocks).",
        )
    try:
        san = leaf.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_ALTERNATIVE_NAME).value
    except x509.ExtensionNotFound:
        raise ConfigError(
            "tlsCertificate",
            "has no Subject Alternative Names (Go clients ignore the Common Name)",
            "Issue a certificate whose SANs list every host name and IP address clients use.",
        ) from None
    except ValueError:
        raise ConfigError(
            "tlsCertificate",
            "has extensions that cannot be parsed",
            "Reissue the certificate with a standard tool (openssl, cfssl, your CA).",
        ) from None
    dns_names = [name.lower() for name in san.get_values_for_type(x509.DNSName)]
    ip_names = {str(ip) for ip in san.get_values_for_type(x509.IPAddress)}
    for host in hosts:
        if not any(_dns_matches(pattern, host.lower()) for pattern in dns_names):
            raise ConfigError(
                "tlsCertificate",
                f"its SANs do not cover host '{host}' (they list {sorted(dns_names)})",
                "Reissue the certificate with that DNS name, or remove it from `hosts`.",
            )
    for ip in ips:
        if str(ipaddress.ip_address(ip)) not in ip_names:
            raise ConfigError(
                "tlsCertificate",
                f"its SANs do not cover IP address {ip}",
                "Reissue the certificate with that IP SAN, or remove it from `ipAddresses`.",
            )


def _dns_matches(pattern: str, host: str) -> bool:
    if pattern.startswith("*."):
        head, _, rest = host.partition(".")
        return bool(head) and rest == pattern[2:]
    return pattern == host


# ---------------------------------------------------------------------------------------------------------
# The loader.


def parse_settings(
    get: Callable[[str], str | None],
    *,
    stack: str,
    secret: Callable[[str], Any] | None = None,
    reveal: Callable[[str], str | None] | None = None,
    is_secret: Callable[[str], bool] | None = None,
    env: Mapping[str, str] | None = None,
    declared: Mapping[str, Any] | None = None,
) -> RegistrySettings:
    """Build and validate the settings.

    ``get`` returns a key's raw config string (or None when unset); ``secret`` wraps a secret key's value
    as a secret Output (None when unset); ``reveal`` returns a secret's plain text for validation only
    (it is never stored or printed); ``is_secret`` tells whether the CLI handed a key over as a secret
    (default: every key, as when all were set with ``--secret``).
    """
    env = os.environ if env is None else env
    secret = secret or (lambda key: get(key) or None)
    reveal = _unless_empty(reveal or get)
    is_secret = is_secret or (lambda _key: True)
    raw = _Raw(get, _declared_config() if declared is None else declared)
    _check_secrets_are_encrypted(reveal, is_secret)

    hosts = raw.strings("hosts")
    ips = raw.strings("ipAddresses")
    for host in hosts:
        problem = _dns_name_problem(host)
        if problem:
            raise ConfigError(
                "hosts",
                f"'{host}' {problem}",
                'List the DNS names clients use, e.g. ["registry.example.com"].',
            )
    for ip in ips:
        problem = _ip_problem(ip)
        if problem:
            raise ConfigError("ipAddresses", problem, "List the IPv4 or IPv6 addresses clients use.")
    if not hosts and not ips:
        raise ConfigError("hosts", "no host name or IP address is configured", "Set `hosts` and/or `ipAddresses`.")
    if len(set(h.lower() for h in hosts)) != len(hosts):
        raise ConfigError("hosts", "lists a name twice", "List each DNS name once.")
    if len({ipaddress.ip_address(ip) for ip in ips}) != len(ips):
        raise ConfigError("ipAddresses", "lists an address twice", "List each IP address once.")

    tls_mode = raw.text("tlsMode").strip()
    if tls_mode not in TLS_MODES:
        raise ConfigError("tlsMode", f"'{tls_mode}' is not a TLS mode", f"Use one of {', '.join(TLS_MODES)}.")
    allow_http = raw.boolean("allowInsecureHttp")
    if tls_mode == "http" and not allow_http:
        raise ConfigError(
            "tlsMode",
            "'http' serves credentials in clear text and needs an explicit opt-in",
            "Also set `allowInsecureHttp` to true, or use tlsMode self-signed.",
        )

    port = raw.integer("port")
    if port == 0:
        port = 80 if tls_mode == "http" else 443
    if not 1 <= port <= 65535:
        raise ConfigError(
            "port", f"{port} is out of range", "Use a port from 1 to 65535 (0 picks 443, or 80 for http)."
        )
    bind_address = raw.text("bindAddress").strip()
    if not _is_ip(bind_address) or "%" in bind_address:
        raise ConfigError(
            "bindAddress", f"'{bind_address}' is not an IP address (without a zone)", "Use 0.0.0.0 or a host IP."
        )

    provided_certificate: str | None = None
    provided_key: Any = None
    if tls_mode == "provided":
        certificate = (reveal("tlsCertificate") or "").strip()
        key_text = (reveal("tlsPrivateKey") or "").strip()
        if not certificate:
            raise ConfigError(
                "tlsCertificate",
                "is required when tlsMode is 'provided'",
                "Set it: `pulumi config set tlsCertificate < tls.crt`.",
            )
        if not key_text:
            raise ConfigError(
                "tlsPrivateKey",
                "is required when tlsMode is 'provided'",
                "Set it: `pulumi config set --secret tlsPrivateKey < tls.key`.",
            )
        check_provided_certificate(certificate, key_text, hosts, ips)
        provided_certificate = certificate + "\n"
        provided_key = secret("tlsPrivateKey")

    image = _image(raw.text("image").strip())

    container_name = raw.text("containerName").strip()
    if not _CONTAINER_NAME.match(container_name):
        raise ConfigError(
            "containerName",
            f"'{container_name}' is not a valid container name",
            "Use letters, digits, '_', '.' and '-', starting with a letter or digit.",
        )
    data_volume = raw.text("dataVolume").strip()
    if not (_VOLUME_NAME.match(data_volume) or (_PATH.match(data_volume) and data_volume != "/")):
        raise ConfigError(
            "dataVolume",
            f"'{data_volume}' is neither a volume name nor an absolute host path",
            "Use a named volume such as spectro-registry-data, or a path such as /srv/spectro-registry.",
        )
    if data_volume.startswith("/") and (
        ".." in data_volume.split("/") or data_volume.rstrip("/") in _SYSTEM_DIRECTORIES
    ):
        raise ConfigError(
            "dataVolume",
            f"'{data_volume}' is a system directory (or climbs out with '..'): the registry would write into it",
            "Use a directory of its own, such as /srv/spectro-registry.",
        )

    log_level = raw.text("logLevel").strip()
    if log_level not in LOG_LEVELS:
        raise ConfigError("logLevel", f"'{log_level}' is not a log level", f"Use one of {', '.join(LOG_LEVELS)}.")
    auth_realm = raw.text("authRealm").strip()
    if not auth_realm or '"' in auth_realm:
        raise ConfigError("authRealm", "must be a non-empty string without '\"'", 'Set e.g. "Spectro Pack Registry".')

    admin_user = raw.text("adminUser").strip()
    read_only_users = raw.strings("readOnlyUsers")
    _check_users(admin_user, read_only_users)

    password_length = raw.integer("passwordLength")
    if not MIN_PASSWORD_LENGTH <= password_length <= BCRYPT_MAX_BYTES:
        raise ConfigError(
            "passwordLength",
            f"{password_length} is outside {MIN_PASSWORD_LENGTH}-{BCRYPT_MAX_BYTES}",
            "bcrypt ignores bytes past 72; pick a length in that range (default 32).",
        )
    admin_password: Any = None
    admin_plain = reveal("adminPassword")
    if admin_plain:
        _check_supplied_password("adminPassword", admin_plain)
        admin_password = secret("adminPassword")
    read_only_passwords: Any = None
    read_only_plain = reveal("readOnlyPasswords")
    if read_only_plain:
        try:
            values = json.loads(read_only_plain)
        except json.JSONDecodeError:
            values = None
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise ConfigError(
                "readOnlyPasswords",
                "is not a list of strings",
                "Set it with `pulumi config set --secret --path 'readOnlyPasswords[0]' <password>`.",
            )
        if len(values) != len(read_only_users):
            raise ConfigError(
                "readOnlyPasswords",
                f"has {len(values)} entries for {len(read_only_users)} read-only users",
                "Give one password per entry of readOnlyUsers, in the same order.",
            )
        for value in values:
            _check_supplied_password("readOnlyPasswords", value)
        read_only_passwords = secret("readOnlyPasswords")

    rotation_keeper = raw.text("rotationKeeper")

    ca_validity = raw.integer("caValidityHours")
    cert_validity = raw.integer("certValidityHours")
    early_renewal = raw.integer("certEarlyRenewalHours")
    if cert_validity < 24:
        raise ConfigError("certValidityHours", f"{cert_validity} is too short", "Use at least 24 hours.")
    if ca_validity < cert_validity:
        raise ConfigError(
            "caValidityHours",
            f"{ca_validity} is shorter than certValidityHours ({cert_validity})",
            "The CA must outlive the certificates it signs.",
        )
    if not 0 <= early_renewal < cert_validity:
        raise ConfigError(
            "certEarlyRenewalHours",
            f"{early_renewal} is not between 0 and certValidityHours ({cert_validity})",
            "Renew some time before expiry, e.g. 720 hours for a one-year certificate.",
        )
    key_algorithm = raw.text("keyAlgorithm").strip()
    if key_algorithm not in KEY_ALGORITHMS:
        raise ConfigError(
            "keyAlgorithm", f"'{key_algorithm}' is not supported", f"Use one of {', '.join(KEY_ALGORITHMS)}."
        )

    docker = _docker_settings(raw, get, secret)

    pull_username = raw.text("imagePullUsername").strip() or None
    pull_password = secret("imagePullPassword") if reveal("imagePullPassword") else None
    if bool(pull_username) != bool(pull_password):
        raise ConfigError(
            "imagePullUsername",
            "and imagePullPassword must be set together",
            "Set both (the password with --secret) or neither.",
        )

    endpoint_host = hosts[0] if hosts else ips[0]
    readiness = _readiness_settings(raw, tls_mode, endpoint_host, port)
    storage = _storage_settings(raw, secret, reveal)
    instances = _instance_settings(raw, docker, readiness, tls_mode, port, bind_address)
    _check_shared_data(storage, instances, data_volume)

    settings = RegistrySettings(
        hosts=hosts,
        ip_addresses=ips,
        port=port,
        bind_address=bind_address,
        tls_mode=tls_mode,
        provided_certificate=provided_certificate,
        provided_private_key=provided_key,
        image=image,
        container_name=container_name,
        data_volume=data_volume,
        log_level=log_level,
        limits=_container_limits(raw),
        tls_min_version=_tls_min_version(raw),
        auth_realm=auth_realm,
        admin_user=admin_user,
        read_only_users=read_only_users,
        password_length=password_length,
        rotation_keeper=rotation_keeper,
        admin_password=admin_password,
        read_only_passwords=read_only_passwords,
        ca_validity_hours=ca_validity,
        cert_validity_hours=cert_validity,
        cert_early_renewal_hours=early_renewal,
        key_algorithm=key_algorithm,
        docker=docker,
        pull_username=pull_username,
        pull_password=pull_password,
        readiness=readiness,
        palette=_palette_settings(raw, reveal, env, stack, container_name, read_only_users, endpoint_host),
        storage=storage,
        instances=instances,
    )
    return settings


def _unless_empty(reveal: Callable[[str], str | None]) -> Callable[[str], str | None]:
    """``reveal``, with an empty value (``""``, ``[]``: the declared defaults, which the CLI merges into the
    stack's config as plain values) read as unset."""

    def given(key: str) -> str | None:
        value = reveal(key)
        if value is None or not value.strip() or value.strip() == "[]":
            return None
        return value

    return given


def _base_url(key: str, value: str, *, allow_path: bool, example: str = "") -> SplitResult:
    """``value`` split, if it is an http(s) URL a client can use: a host, a valid port, no credentials, no
    query or fragment (and no path unless ``allow_path``). Credentials are never echoed."""
    parts = urlsplit(value)
    if parts.username is not None or parts.password is not None:
        raise ConfigError(key, "carries credentials (user:password@)", "Remove them from the URL.")
    example = example or ("https://10.0.0.5:443" if not allow_path else DEFAULT_PALETTE_API_URL)
    if parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() for c in value):
        raise ConfigError(key, f"'{value}' is not an http(s) URL", f"Use e.g. {example}.")
    if "%" in parts.netloc:
        raise ConfigError(key, f"'{value}' has an address with a zone", "Use the address alone.")
    try:
        parts.port  # noqa: B018 - parsing it is the check
    except ValueError:
        raise ConfigError(key, f"'{value}' has an invalid port", "Use a port from 1 to 65535.") from None
    if parts.query or parts.fragment or value.endswith(("?", "#")):
        raise ConfigError(key, f"'{value}' has a query or fragment", f"Use a base URL such as {example}.")
    if not allow_path and parts.path not in ("", "/"):
        raise ConfigError(key, f"'{value}' has a path", f"Use scheme://address:port only, e.g. {example}.")
    return parts


def _check_secrets_are_encrypted(reveal: Callable[[str], str | None], is_secret: Callable[[str], bool]) -> None:
    for key in SECRET_KEYS:
        if reveal(key) and not is_secret(key):
            raise ConfigError(
                key,
                "is stored in plain text in the stack's config file (it was set without --secret)",
                _SET_SECRET.get(key, f"Set it again encrypted: `pulumi config set --secret {key} <value>`."),
            )


def _image(image: str) -> str:
    """The image reference, if Docker would take it and it pins a version."""
    match = _IMAGE_REF.match(image)
    if not match:
        lowered = image.rsplit("@", 1)[0].rsplit(":", 1)[0]
        if lowered != lowered.lower() and _IMAGE_REF.match(image.replace(lowered, lowered.lower())):
            problem = f"'{image}' has upper case in its repository path (Docker only takes lower case there)"
        else:
            problem = f"'{image}' is not an image reference Docker accepts"
        raise ConfigError("image", problem, f"Use e.g. {DEFAULT_IMAGE}.")
    if len(match["name"]) > _IMAGE_NAME_MAX:
        raise ConfigError(
            "image", f"its repository name is longer than {_IMAGE_NAME_MAX} characters", "Use a shorter name."
        )
    digest = match["digest"]
    if digest is not None:
        algorithm, _, hex_digits = digest.partition(":")
        size = _DIGEST_SIZES.get(algorithm)
        if size is None or len(hex_digits) != size or hex_digits != hex_digits.lower():
            raise ConfigError(
                "image",
                f"'{image}' has a digest Docker refuses ({algorithm} takes {size} lower-case hex digits)"
                if size
                else f"'{image}' has a digest of an unsupported algorithm '{algorithm}'",
                "Copy the digest as `docker inspect` or the registry shows it (sha256:<64 hex digits>).",
            )
    if digest is None:
        if match["tag"] is None:
            raise ConfigError("image", f"'{image}' has no tag", "Pin a tag, e.g. ...spectro-registry:2.6.0.")
        if match["tag"] == "latest":
            raise ConfigError(
                "image",
                f"'{image}' uses the tag 'latest', which moves: every pull may bring another server",
                "Pin a release tag, e.g. ...spectro-registry:2.6.0, or a digest (@sha256:...).",
            )
    return image


def _check_supplied_password(key: str, value: str) -> None:
    size = len(value.encode())
    if size < MIN_PASSWORD_LENGTH or size > BCRYPT_MAX_BYTES:
        raise ConfigError(
            key,
            f"a supplied password is {size} bytes long",
            f"Use {MIN_PASSWORD_LENGTH}-{BCRYPT_MAX_BYTES} bytes (bcrypt ignores anything past 72).",
        )
    if value != value.strip() or any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ConfigError(
            key, "a supplied password has leading/trailing whitespace or control characters", "Remove them."
        )


def _container_limits(raw: _Raw) -> ContainerLimits:
    log_max_size = raw.text("logMaxSize").strip().lower()
    if not _LOG_SIZE.match(log_max_size):
        raise ConfigError(
            "logMaxSize", f"'{log_max_size}' is not a log file size", "Use a number with k, m or g, e.g. 10m."
        )
    if int(log_max_size[:-1]) * _LOG_UNITS[log_max_size[-1]] > MAX_LOG_FILE_BYTES:
        raise ConfigError(
            "logMaxSize", f"{log_max_size} is more than one log file can sensibly hold", "Use at most 100g."
        )
    log_max_files = raw.integer("logMaxFiles")
    if not 1 <= log_max_files <= 100:
        raise ConfigError("logMaxFiles", f"{log_max_files} is out of range", "Keep 1-100 log files, e.g. 3.")
    memory_mb = raw.integer("memoryLimitMb")
    if memory_mb > MAX_MEMORY_LIMIT_MB:
        raise ConfigError(
            "memoryLimitMb",
            f"{memory_mb} MB is more than any host has (the provider's byte count would overflow)",
            f"Use at most {MAX_MEMORY_LIMIT_MB} (4 TiB), or 0 for no limit.",
        )
    if memory_mb != 0 and memory_mb < MIN_MEMORY_LIMIT_MB:
        raise ConfigError(
            "memoryLimitMb",
            f"{memory_mb} MB is below the {MIN_MEMORY_LIMIT_MB} MB the registry server needs to start with margin",
            f"Use 0 (no limit) or at least {MIN_MEMORY_LIMIT_MB}; the install guide's minimum is 2048.",
        )
    text = raw.text("cpus").strip()
    try:
        cpus = Decimal(text)
    except InvalidOperation:
        cpus = Decimal(-1)
    if cpus.is_finite() and cpus > MAX_CPUS:
        raise ConfigError(
            "cpus", f"{text} is more CPUs than any host has", f"Use at most {MAX_CPUS}, or 0 for no limit."
        )
    if not cpus.is_finite() or cpus < 0 or cpus != cpus.quantize(Decimal("0.01")) or 0 < cpus < Decimal("0.01"):
        raise ConfigError(
            "cpus",
            f"'{text}' is not a CPU count",
            "Use 0 (no limit) or a number of CPUs with up to 2 decimals, e.g. 1.5.",
        )
    # Declared the way the provider reads it back, so the next `pulumi up` sees no change (cpus forces a
    # new container); a value it would read back as a different number is refused instead.
    declared = provider_cpus(int(cpus * 1_000_000_000))
    if Decimal(declared) != cpus:
        raise ConfigError(
            "cpus",
            f"{text} would be read back by the docker provider as {declared} and replace the container on every run",
            f"Use a nearby value such as {max(cpus.quantize(Decimal('0.1')), Decimal('0.1'))}.",
        )
    return ContainerLimits(
        log_max_size=log_max_size,
        log_max_files=log_max_files,
        memory_mb=memory_mb,
        cpus=declared if cpus else None,
    )


def provider_cpus(nano_cpus: int) -> str:
    """A CPU limit as the docker provider writes it into state when it reads a container back.

    kreuzwerker/terraform-provider-docker internal/provider/helpers.go nanoInt64ToDecimalString: nine
    decimals; when that string holds exactly nine zeros, one decimal rounded half away from zero ("1.0",
    "0.5", but 0.05 becomes "0.1"); else trailing zeros trimmed (so 10 CPUs read back as "10.").
    """
    if nano_cpus == 0:
        return "0"
    value = Decimal(nano_cpus) / Decimal(1_000_000_000)
    nine = f"{value:.9f}"
    if nine.count("0") == 9:
        return f"{value.quantize(Decimal('0.1'), rounding=ROUND_HALF_UP)}"
    return nine.rstrip("0")


def _tls_min_version(raw: _Raw) -> str:
    version = raw.text("tlsMinVersion").strip()
    if version not in TLS_MIN_VERSIONS:
        raise ConfigError(
            "tlsMinVersion", f"'{version}' is not a TLS version the server can require", "Use 1.2 or 1.3."
        )
    return version


def _docker_scheme(key: str, host: str) -> str:
    scheme = host.split("://", 1)[0] if "://" in host else ""
    if scheme not in ("unix", "tcp", "ssh") or host.endswith("://"):
        raise ConfigError(
            key,
            f"'{host}' is not a Docker host URL",
            "Use unix:///var/run/docker.sock, tcp://host:2376 (with dockerCaCert/dockerCert/dockerKey) or ssh://user@host.",
        )
    return scheme


def _docker_settings(raw: _Raw, get: Callable[[str], str | None], secret: Callable[[str], Any]) -> DockerHostSettings:
    host = raw.text("dockerHost").strip()
    scheme = _docker_scheme("dockerHost", host)
    ca = raw.text("dockerCaCert").strip() or None
    cert = raw.text("dockerCert").strip() or None
    for name, value in (("dockerCaCert", ca), ("dockerCert", cert)):
        _refuse_private_key(name, value or "")
    key = secret("dockerKey") if get("dockerKey") else None
    tls_parts = [ca is not None, cert is not None, key is not None]
    if any(tls_parts) and not all(tls_parts):
        raise ConfigError(
            "dockerCaCert",
            "dockerCaCert, dockerCert and dockerKey go together",
            "Set all three (dockerKey with --secret) for a TLS-protected tcp:// daemon, or none.",
        )
    if any(tls_parts) and scheme != "tcp" and not raw.strings("dockerHosts"):
        raise ConfigError("dockerHost", "TLS material is only used with tcp:// hosts", "Use a tcp:// dockerHost.")
    if scheme == "tcp" and not any(tls_parts):
        raise ConfigError(
            "dockerHost",
            f"'{host}' is a Docker API without TLS: anyone who reaches that port is root on that host",
            "Use ssh://user@host, or set dockerCaCert, dockerCert and dockerKey for a daemon started with --tlsverify.",
        )
    return DockerHostSettings(
        host=host,
        ssh_opts=raw.strings("dockerSshOpts"),
        ca_material=ca,
        cert_material=cert,
        key_material=key,
    )


def _readiness_settings(raw: _Raw, tls_mode: str, host: str, port: int) -> ReadinessSettings:
    timeout = raw.integer("readinessTimeoutSeconds")
    if not 1 <= timeout <= 3600:
        raise ConfigError("readinessTimeoutSeconds", f"{timeout} is out of range", "Use 1-3600 seconds.")
    paths = {}
    for key in ("readinessHealthPath", "readinessCatalogPath"):
        path = raw.text(key).strip()
        if not _PATH.match(path):
            raise ConfigError(key, f"'{path}' is not an absolute URL path", "Start it with '/', e.g. /health.")
        paths[key] = path
    url = raw.text("readinessUrl").strip().rstrip("/")
    scheme = "http" if tls_mode == "http" else "https"
    if not url:
        url = f"{scheme}://{f'[{host}]' if ':' in host else host}:{port}"
    elif _base_url("readinessUrl", url, allow_path=False).scheme != scheme:
        raise ConfigError(
            "readinessUrl",
            f"'{url}' does not use {scheme}://, which the registry serves in tlsMode {tls_mode}",
            f"Use {scheme}://address:port.",
        )
    return ReadinessSettings(
        enabled=raw.boolean("readinessCheck"),
        url=url,
        health_path=paths["readinessHealthPath"],
        catalog_path=paths["readinessCatalogPath"],
        timeout_seconds=timeout,
    )


_REGISTRATION_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")


def _default_registration_name(container_name: str, stack: str) -> str:
    """``<containerName>-<stack>`` (or containerName when it ends with the stack already), made into a
    registration name: lower case, other characters as '-', at most 63 characters."""
    base = container_name if container_name.endswith(f"-{stack}") else f"{container_name}-{stack}"
    name = re.sub(r"[^a-z0-9]+", "-", base.lower()).strip("-")
    return name[:63].rstrip("-")


# ---------------------------------------------------------------------------------------------------------
# Storage and hosts: several instances, one shared bucket.

_S3_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_S3_REGION = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_S3_KEYS = ("storage", "s3Bucket", "s3Endpoint", "s3AccessKey", "s3SecretKey")


def _storage_settings(raw: _Raw, secret: Callable[[str], Any], reveal: Callable[[str], str | None]) -> StorageSettings:
    kind = raw.text("storage").strip()
    if kind not in STORAGE_KINDS:
        raise ConfigError("storage", f"'{kind}' is not a storage kind", f"Use one of {', '.join(STORAGE_KINDS)}.")
    bucket = raw.text("s3Bucket").strip()
    endpoint = raw.text("s3Endpoint").strip().rstrip("/")
    has_access = bool(reveal("s3AccessKey"))
    has_secret = bool(reveal("s3SecretKey"))
    if kind == "filesystem":
        values = (bucket, endpoint, has_access, has_secret)
        stray = [key for key, value in zip(_S3_KEYS[1:], values, strict=True) if value]
        if stray:
            raise ConfigError(
                "storage",
                f"is 'filesystem' but {', '.join(stray)} {'is' if len(stray) == 1 else 'are'} set",
                "Set storage to s3 to use the bucket, or unset the s3* keys.",
            )
        return StorageSettings()
    if not bucket:
        raise ConfigError(
            "s3Bucket",
            "is required when storage is 's3'",
            "Set it: `pulumi config set s3Bucket <bucket>` (an existing bucket; the program never creates or "
            "deletes it).",
        )
    if not _S3_BUCKET.match(bucket) or ".." in bucket:
        raise ConfigError(
            "s3Bucket",
            f"'{bucket}' is not a bucket name",
            "Use 3-63 lower-case letters, digits, '.' and '-', starting and ending with a letter or digit.",
        )
    region = raw.text("s3Region").strip()
    if not _S3_REGION.match(region):
        raise ConfigError("s3Region", f"'{region}' is not a region name", "Use e.g. us-east-1.")
    if endpoint:
        _base_url("s3Endpoint", endpoint, allow_path=False, example="https://minio.example.com:9000")
    if has_access != has_secret:
        missing, present = ("s3SecretKey", "s3AccessKey") if has_access else ("s3AccessKey", "s3SecretKey")
        raise ConfigError(
            missing,
            f"is not set but {present} is (the two go together)",
            "Set both with --secret, or neither to use the Docker hosts' own AWS credentials or instance role.",
        )
    root = raw.text("s3RootDirectory").strip() or "/"
    if not _PATH.match(root):
        raise ConfigError(
            "s3RootDirectory", f"'{root}' is not an absolute prefix", "Start it with '/', e.g. /spectro-registry."
        )
    return StorageSettings(
        kind="s3",
        s3=S3Storage(
            bucket=bucket,
            region=region,
            root_directory=root,
            endpoint=endpoint or None,
            access_key=secret("s3AccessKey") if has_access else None,
            secret_key=secret("s3SecretKey") if has_secret else None,
        ),
    )


def _host_slug(url: str) -> str:
    """A readable, stable resource-name part for a Docker host URL (tcp://node-b:2376 -> tcp-node-b-2376)."""
    return re.sub(r"[^a-z0-9]+", "-", url.lower()).strip("-")


def _address_of(url: str, bind_address: str) -> str:
    """The address an instance is reached at, derived from its Docker host URL."""
    scheme, _, rest = url.partition("://")
    if scheme == "unix":
        # The engine is on this machine: the published address, or loopback when it listens everywhere.
        return "127.0.0.1" if ipaddress.ip_address(bind_address).is_unspecified else bind_address
    authority = rest.split("/", 1)[0].rpartition("@")[2]
    if authority.startswith("["):
        return authority[1:].split("]", 1)[0]
    return authority.rsplit(":", 1)[0] if authority.count(":") == 1 else authority


def _instance_settings(
    raw: _Raw, docker: DockerHostSettings, readiness: ReadinessSettings, tls_mode: str, port: int, bind_address: str
) -> tuple[InstanceSettings, ...]:
    listed = raw.strings("dockerHosts")
    urls = raw.strings("readinessUrls")
    single_url = raw.text("readinessUrl").strip()
    if urls and single_url:
        raise ConfigError(
            "readinessUrls", "is set together with readinessUrl", "Use readinessUrls (one per instance) only."
        )
    scheme = "http" if tls_mode == "http" else "https"
    for url in urls:
        if _base_url("readinessUrls", url, allow_path=False).scheme != scheme:
            raise ConfigError(
                "readinessUrls",
                f"'{url}' does not use {scheme}://, which the registry serves in tlsMode {tls_mode}",
                f"Use {scheme}://address:port.",
            )
    if not listed:
        if len(urls) > 1:
            raise ConfigError(
                "readinessUrls",
                f"has {len(urls)} entries for 1 instance",
                "Give one URL per Docker host (dockerHosts), in the same order.",
            )
        return (InstanceSettings("", docker, urls[0] if urls else readiness.url),)

    seen: dict[str, str] = {}
    for host in listed:
        _docker_scheme("dockerHosts", host)
        normal = host.rstrip("/").lower()
        if normal in seen:
            raise ConfigError(
                "dockerHosts",
                f"lists the Docker host '{host}' twice",
                "List each host once: two instances on one engine would fight over the container name and port.",
            )
        seen[normal] = host
    explicit = raw.text("dockerHost").strip()
    if explicit != (raw.default("dockerHost") or "") and explicit != listed[0]:
        raise ConfigError(
            "dockerHost",
            f"'{explicit}' is set but dockerHosts starts with '{listed[0]}'",
            "The first entry of dockerHosts takes dockerHost's place: put that host first, or unset dockerHost.",
        )
    if docker.ca_material is not None and not any(h.startswith("tcp://") for h in listed):
        raise ConfigError("dockerHosts", "TLS material is only used with tcp:// hosts", "List tcp:// hosts.")
    plain_tcp = [h for h in listed if h.startswith("tcp://")] if docker.ca_material is None else []
    if plain_tcp:
        raise ConfigError(
            "dockerHosts",
            f"'{plain_tcp[0]}' is a Docker API without TLS: anyone who reaches that port is root on that host",
            "Use ssh://user@host, or set dockerCaCert, dockerCert and dockerKey for daemons started with --tlsverify.",
        )
    if urls and len(urls) != len(listed):
        raise ConfigError(
            "readinessUrls",
            f"has {len(urls)} entries for {len(listed)} Docker hosts",
            "Give one URL per entry of dockerHosts, in the same order, or none to derive them from the hosts.",
        )
    if single_url and len(listed) > 1:
        raise ConfigError(
            "readinessUrl",
            f"is one URL for {len(listed)} instances",
            "Set readinessUrls instead, one per entry of dockerHosts.",
        )
    keys: dict[str, str] = {}
    instances = []
    scheme = "http" if tls_mode == "http" else "https"
    for index, host in enumerate(listed):
        key = "" if index == 0 else _host_slug(host)
        if key in keys:
            raise ConfigError(
                "dockerHosts",
                f"'{host}' and '{keys[key]}' give the same resource name '{key}'",
                "Write the two URLs so they differ in more than punctuation and case.",
            )
        keys[key] = host
        if urls:
            url = urls[index]
        elif len(listed) == 1:
            url = single_url or readiness.url
        else:
            address = _address_of(host, bind_address)
            url = f"{scheme}://{f'[{address}]' if ':' in address else address}:{port}"
        instance_docker = DockerHostSettings(
            host=host,
            ssh_opts=docker.ssh_opts,
            # TLS material belongs to tcp:// daemons; the other schemes do not take it.
            ca_material=docker.ca_material if host.startswith("tcp://") else None,
            cert_material=docker.cert_material if host.startswith("tcp://") else None,
            key_material=docker.key_material if host.startswith("tcp://") else None,
        )
        instances.append(InstanceSettings(key, instance_docker, url))
    return tuple(instances)


def _check_shared_data(storage: StorageSettings, instances: tuple[InstanceSettings, ...], data_volume: str) -> None:
    if len(instances) > 1 and not storage.shared and not data_volume.startswith("/"):
        raise ConfigError(
            "dataVolume",
            f"is the named Docker volume '{data_volume}' but dockerHosts lists {len(instances)} hosts: each host "
            "would get a volume of its own and their packs would silently diverge",
            "Set storage to s3 (one bucket shared by every instance), or dataVolume to a host path that is the "
            "same shared mount (e.g. NFS) on every host.",
        )


def _palette_settings(
    raw: _Raw,
    reveal: Callable[[str], str | None],
    env: Mapping[str, str],
    stack: str,
    container_name: str,
    read_only_users: tuple[str, ...],
    endpoint_host: str,
) -> PaletteSettings:
    api_url = raw.text("paletteApiUrl").strip().rstrip("/")
    parts = _base_url("paletteApiUrl", api_url, allow_path=True)
    if parts.scheme == "http" and not _is_loopback(parts.hostname or ""):
        raise ConfigError(
            "paletteApiUrl",
            f"'{api_url}' is plain http: the API key would cross the network in clear text",
            f"Use the https:// URL of your Palette, e.g. {DEFAULT_PALETTE_API_URL}.",
        )
    config_key = (reveal("paletteApiKey") or "").strip()
    env_key = env.get(PALETTE_API_KEY_ENV, "").strip()
    for where, key in (("paletteApiKey", config_key), (PALETTE_API_KEY_ENV, env_key)):
        if any(not 33 <= ord(char) <= 126 for char in key):
            raise ConfigError(
                "paletteApiKey",
                f"{where} holds whitespace, a line break or another character an HTTP header cannot carry "
                "(the key is not shown)",
                f"Set it again as the one-line key Palette issued: `pulumi config set --secret paletteApiKey "
                f"<key>` or export {PALETTE_API_KEY_ENV}.",
            )
    has_key = bool(config_key or env_key)
    choice = raw.text("paletteRegistration").strip()
    if choice not in ("auto", "true", "false"):
        raise ConfigError("paletteRegistration", f"'{choice}' is not allowed", "Use auto, true or false.")
    unreachable = _is_loopback(endpoint_host)
    if choice == "auto":
        wanted = has_key or api_url != DEFAULT_PALETTE_API_URL
        enabled = wanted and not unreachable
        if enabled:
            reason = "Palette registration is on: an API key or a Palette URL is configured."
        elif wanted:
            reason = (
                f"Palette registration is off: the endpoint's host '{endpoint_host}' is a loopback address "
                "Palette cannot reach; list a name Palette can reach first in hosts (or ipAddresses)."
            )
        else:
            reason = "Palette registration is off: no paletteApiKey, PALETTE_API_KEY or paletteApiUrl is set."
    else:
        enabled = choice == "true"
        reason = f"Palette registration is {'on' if enabled else 'off'}: paletteRegistration is {choice}."
        if enabled and unreachable:
            raise ConfigError(
                "paletteRegistration",
                f"is true but the endpoint's host '{endpoint_host}' is a loopback address Palette can never reach",
                "List a DNS name or IP address Palette can reach first in hosts (or ipAddresses), or set "
                "paletteRegistration to false.",
            )
    if enabled and not has_key:
        raise ConfigError(
            "paletteApiKey",
            "is not set but Palette registration is on",
            f"Run `pulumi config set --secret paletteApiKey <key>` or export {PALETTE_API_KEY_ENV}.",
        )
    explicit_name = raw.text("paletteRegistrationName").strip()
    name = explicit_name or _default_registration_name(container_name, stack)
    if (explicit_name or enabled) and not _REGISTRATION_NAME.match(name):
        raise ConfigError(
            "paletteRegistrationName",
            f"'{name}' is not a valid registration name"
            + ("" if explicit_name else f" (derived from containerName '{container_name}' and stack '{stack}')"),
            "Set paletteRegistrationName to lower-case letters, digits and '-', at most 63 characters.",
        )
    user = raw.text("paletteUser").strip() or read_only_users[0]
    admin = raw.text("adminUser").strip()
    warnings: list[str] = []
    if user not in read_only_users and user != admin:
        raise ConfigError(
            "paletteUser",
            f"'{user}' is not one of the registry's users",
            "Use one of readOnlyUsers (least privilege), or adminUser.",
        )
    if enabled and user == admin:
        warnings.append(
            f"paletteUser is the admin user '{user}': Palette will hold credentials that can push and delete "
            "packs; a read-only user is enough for Palette (unset paletteUser to use the first of readOnlyUsers)."
        )
    sync_timeout = raw.integer("paletteSyncTimeoutSeconds")
    if not 1 <= sync_timeout <= 7200:
        raise ConfigError("paletteSyncTimeoutSeconds", f"{sync_timeout} is out of range", "Use 1-7200 seconds.")
    return PaletteSettings(
        enabled=enabled,
        api_url=api_url,
        name=name,
        user=user,
        validate=raw.boolean("paletteValidate"),
        sync=raw.boolean("paletteSync"),
        wait_for_sync=raw.boolean("paletteWaitForSync"),
        sync_timeout_seconds=sync_timeout,
        insecure_skip_verify=raw.boolean("paletteInsecureSkipVerify"),
        reason=reason,
        warnings=tuple(warnings),
    )


def load_settings() -> RegistrySettings:
    """Read the current stack's config (inside a Pulumi program)."""
    import pulumi

    config = pulumi.Config()

    def reveal(key: str) -> str | None:
        # Plain text only for validation; the Output returned by `secret` is what resources receive.
        return config.get(key)

    def secret(key: str) -> Any:
        return config.get_secret(key) if config.get(key) else None

    def is_secret(key: str) -> bool:
        # The keys the CLI decrypted for this run (PULUMI_CONFIG_SECRET_KEYS).
        return pulumi.runtime.is_config_secret(f"{PROJECT}:{key}")

    return parse_settings(config.get, stack=pulumi.get_stack(), secret=secret, reveal=reveal, is_secret=is_secret)
