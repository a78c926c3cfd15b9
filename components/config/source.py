"""Reading raw config values: typed access, one-line refusals, secrecy and URLs, with the key in every error."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import SplitResult, urlsplit

from pulumi.errors import RunError

from components.palette.access import DEFAULT_API_URL as DEFAULT_PALETTE_API_URL
from components.project import PROJECT

SECRET_KEYS = (
    "tlsPrivateKey",
    "imagePullPassword",
    "adminPassword",
    "readOnlyPasswords",
    "dockerKey",
    "s3AccessKey",
    "s3SecretKey",
    "paletteApiKey",
    "ociPushPassword",
    "palettePassword",
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

# PEM values span lines; every other text value is one line.
_MULTILINE_KEYS = frozenset(
    {"tlsCertificate", "tlsPrivateKey", "dockerCaCert", "dockerCert", "dockerKey", "ociCaCertificate"}
)

# strconv.Atoi's syntax: what the CLI accepts for an `integer` key.
_INTEGER = re.compile(r"^[+-]?[0-9]+$")

ABSOLUTE_PATH = re.compile(r"^/[\x21-\x7e]*$")


class ConfigError(RunError, ValueError):
    """A config value is invalid. The message names the key and says how to fix it.

    A ``RunError``: the Python language host prints its message as one line, without a traceback
    (pulumi/pulumi ``sdk/python/cmd/pulumi-language-python-exec``).
    """

    def __init__(self, key: str, problem: str, fix: str) -> None:
        self.key = key
        self.problem = problem
        self.fix = fix
        super().__init__(f"config key '{PROJECT}:{key}': {problem}. {fix}")


class Raw:
    """Typed access to raw config strings, with the key in every error."""

    def __init__(self, get: Callable[[str], str | None], declared: Mapping[str, Any]) -> None:
        self._get = get
        self._declared = declared

    def default(self, key: str) -> Any:
        return self._declared.get(key, {}).get("default")

    def is_set(self, key: str) -> bool:
        """Whether the stack gives ``key`` a value other than its declared default."""
        value = self._get(key)
        if value is None:
            return False
        default = self.default(key)
        if isinstance(default, list):
            return value.strip() not in ("", "[]") and value.strip() != json.dumps(default)
        return value.strip() != (
            "" if default is None else str(default).lower() if isinstance(default, bool) else str(default)
        )

    def with_values(self, values: Mapping[str, str]) -> Raw:
        """The same config with ``values`` in place of what the stack says for those keys."""
        return Raw(lambda key: values[key] if key in values else self._get(key), self._declared)

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


def unless_empty(reveal: Callable[[str], str | None]) -> Callable[[str], str | None]:
    """``reveal``, with an empty value (``""``, ``[]``: the declared defaults, which the CLI merges into the
    stack's config as plain values) read as unset."""

    def given(key: str) -> str | None:
        value = reveal(key)
        if value is None or not value.strip() or value.strip() == "[]":
            return None
        return value

    return given


def check_secrets_are_encrypted(reveal: Callable[[str], str | None], is_secret: Callable[[str], bool]) -> None:
    for key in SECRET_KEYS:
        if reveal(key) and not is_secret(key):
            raise ConfigError(
                key,
                "is stored in plain text in the stack's config file (it was set without --secret)",
                _SET_SECRET.get(key, f"Set it again encrypted: `pulumi config set --secret {key} <value>`."),
            )


def base_url(key: str, value: str, *, allow_path: bool, example: str = "") -> SplitResult:
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
