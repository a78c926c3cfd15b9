"""The registration's inputs: their defaults, their checks (every failure at once, unknown values allowed
during a preview) and how two values of one input compare.

``registry_kind`` picks the API shape (``shapes``); which inputs Palette holds, and so which
changes are a PUT, is the shape's to say. A state written before kinds existed has no ``registry_kind``,
``base_content_path`` or ``sync_trigger``, and one written before ``delete_unreachable`` existed has none of
it: the defaults (``legacy``, none, ``""``, false) make it compare equal to inputs that leave them out."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509
from pulumi.dynamic import CheckFailure

from components.dynamic.values import InputCheck, is_unknown, with_defaults
from components.oci_reference import is_repository_path
from components.palette.access import DEFAULT_API_URL
from components.palette.client import MASKED
from components.palette.shapes import FIXED, PACK_REGISTRY_API, SHAPES, RegistryShape, shape_for

__all__ = [
    "BEHAVIOUR",
    "DEFAULTS",
    "INPUTS",
    "REPLACE_ON",
    "check_inputs",
    "differs",
    "inputs_with_defaults",
    "known_shape",
    "pem",
]


INPUTS = (
    "api_url",
    "name",
    "endpoint",
    "username",
    "password",
    "ca_certificate",
    "tls_enabled",
    "insecure_skip_verify",
    "private",
    "validate",
    "sync",
    "wait_for_sync",
    "sync_timeout_seconds",
    "allow_http",
    "registry_kind",
    "base_content_path",
    "sync_trigger",
    "delete_unreachable",
)

DEFAULTS: dict[str, Any] = {
    "api_url": DEFAULT_API_URL,
    "insecure_skip_verify": False,
    "private": True,
    "validate": True,
    "sync": True,
    "wait_for_sync": False,
    "sync_timeout_seconds": 600,
    "allow_http": False,
    "registry_kind": PACK_REGISTRY_API.kind,
    "sync_trigger": "",
    "delete_unreachable": False,
}

MAX_SYNC_TIMEOUT = 24 * 3600

# A new name, a new Palette or another kind (another API) is a different registration; everything else
# is changed in place. What Palette holds, a validate (when asked), a PUT and a sync (when on), is listed
# by the kind's shape (``RegistryShape.holds``).
REPLACE_ON = ("name", "api_url", "registry_kind")

# How the provider works rather than what Palette holds. They are compared all the same, so that the
# state never reports a value that is no longer true; ``update`` does what each new value asks (see there).
# ``sync_trigger`` is opaque: a new value asks for a sync, nothing else. ``delete_unreachable`` only says what a
# delete does when Palette cannot be reached: a new value is recorded, Palette is not called.
BEHAVIOUR = (
    "validate",
    "sync",
    "wait_for_sync",
    "sync_timeout_seconds",
    "allow_http",
    "sync_trigger",
    "delete_unreachable",
)


_FLAGS = (
    "tls_enabled",
    "insecure_skip_verify",
    "private",
    "validate",
    "sync",
    "wait_for_sync",
    "allow_http",
    "delete_unreachable",
)
"""The inputs that are true or false."""


def known_shape(props: Mapping[str, Any]) -> RegistryShape | None:
    """The shape ``props`` ask for, or None while ``registry_kind`` is unknown (a preview) or invalid."""
    kind = props.get("registry_kind", PACK_REGISTRY_API.kind)
    if is_unknown(kind) or not isinstance(kind, str) or kind not in SHAPES:
        return None
    return shape_for(kind)


def inputs_with_defaults(props: Mapping[str, Any]) -> dict[str, Any]:
    """``props`` with absent keys defaulted; the wire drops None keys and sends ints as floats."""
    out = with_defaults(props, DEFAULTS)
    shape = known_shape(out)
    if shape is not None:
        for key, value in {**shape.defaults, **shape.fixed}.items():
            out.setdefault(key, value)
    endpoint = out.get("endpoint")
    if "tls_enabled" not in out and isinstance(endpoint, str):
        out["tls_enabled"] = endpoint.strip().lower().startswith("https://")
    timeout = out.get("sync_timeout_seconds")
    if isinstance(timeout, float) and timeout.is_integer():
        out["sync_timeout_seconds"] = int(timeout)
    return out


def pem(value: Any) -> str | None:
    """A PEM text as stored and compared: stripped, one trailing newline; empty means none."""
    if not isinstance(value, str) or not value.strip():
        return None
    return value.strip() + "\n"


def differs(key: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    before, after = old.get(key), new.get(key)
    if is_unknown(after):
        return True
    if key == "password":
        # A masked value is not a password: never call it equal to anything.
        return before == MASKED or before != after
    if key == "ca_certificate":
        return pem(before) != pem(after)
    if key in ("endpoint", "api_url"):
        return str(before or "").rstrip("/") != str(after or "").rstrip("/")
    if key in ("sync_trigger", "base_content_path", "provider_type"):
        return str(before or "") != str(after or "")
    if key in _FLAGS:
        return bool(before) != bool(after)
    return before != after


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _url(value: str, *, allow_http: bool, allow_path: bool, what: str) -> tuple[str | None, str | None]:
    """``(normalised, None)`` or ``(None, reason)`` for a ``scheme://host[:port]`` URL."""
    parts = urlsplit(value.strip())
    if parts.scheme not in ("https", "http"):
        return None, f"must start with https:// (got {value!r})"
    if parts.scheme == "http" and not allow_http:
        return None, f"must be https:// ({what})"
    if not parts.hostname:
        return None, f"has no host (got {value!r})"
    if parts.username is not None or parts.password is not None:
        return None, "must not carry credentials"
    if not allow_path and parts.path.rstrip("/"):
        return None, f"must be scheme://host[:port], without a path (got {value!r})"
    if parts.query or parts.fragment:
        return None, f"must have no query or fragment (got {value!r})"
    try:
        port = parts.port
    except ValueError:
        return None, f"has an invalid port (got {value!r})"
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    if port in (None, 443 if parts.scheme == "https" else 80):
        netloc = host
    else:
        netloc = f"{host}:{port}"
    return f"{parts.scheme}://{netloc}{parts.path.rstrip('/')}", None


def check_inputs(news: Mapping[str, Any]) -> tuple[dict[str, Any], list[CheckFailure]]:
    """The inputs with defaults filled in and values normalised, and every failure found."""
    # What a kind fixes (an OCI registry's providerType) is the provider's to fill in, never an input's.
    inputs = inputs_with_defaults({key: value for key, value in news.items() if key not in FIXED})
    check = InputCheck(inputs)

    def fail(prop: str, reason: str) -> None:
        # The registration's failures start with the input's name.
        check.fail(prop, f"{prop} {reason}")

    def known(prop: str) -> bool:
        # Present, and known: the registration's optional inputs have no value to check when absent.
        return prop in inputs and check.known(prop)

    def text(prop: str, *, required: bool = True) -> str | None:
        if not known(prop):
            if required and prop not in inputs:
                fail(prop, "is required")
            return None
        value = inputs[prop]
        if not isinstance(value, str):
            fail(prop, f"must be a string, not {type(value).__name__}")
            return None
        if required and not value.strip():
            fail(prop, "must not be empty")
            return None
        return value

    def flag(prop: str) -> bool | None:
        if not known(prop):
            return None
        if not isinstance(inputs[prop], bool):
            fail(prop, f"must be true or false, not {type(inputs[prop]).__name__}")
            return None
        return bool(inputs[prop])

    flags: dict[str, bool | None] = {prop: flag(prop) for prop in _FLAGS}

    name = text("name")
    if name is not None and (name != name.strip() or any(ord(c) < 32 for c in name)):
        fail("name", "must not start or end with spaces or hold control characters")

    text("username")
    password = text("password")
    if password == MASKED:
        fail("password", "is Palette's mask (********), not a password")

    api_url = text("api_url")
    if api_url is not None:
        normalised, reason = _url(api_url, allow_http=True, allow_path=True, what="")
        if (
            reason is None
            and normalised is not None
            and normalised.startswith("http://")
            and not _is_loopback(urlsplit(normalised).hostname or "")
        ):
            reason = "must be https:// (http:// only for a local test server)"
        if reason:
            fail("api_url", reason)
        else:
            inputs["api_url"] = normalised

    scheme: str | None = None
    endpoint = text("endpoint")
    if endpoint is not None and known("allow_http") and flags["allow_http"] is not None:
        normalised, reason = _url(
            endpoint,
            allow_http=bool(flags["allow_http"]),
            allow_path=False,
            what="Palette wants https://; set allow_http to register an http:// registry",
        )
        if reason:
            fail("endpoint", reason)
        else:
            inputs["endpoint"] = normalised
            scheme = urlsplit(normalised or "").scheme
            if "tls_enabled" not in news:
                inputs["tls_enabled"] = flags["tls_enabled"] = scheme == "https"

    ca = _check_pem(inputs, fail, known)

    if scheme == "https" and flags["tls_enabled"] is False:
        fail("tls_enabled", "must be true for an https:// endpoint")
    if scheme == "http":
        if flags["tls_enabled"] is True:
            fail("tls_enabled", "must be false for an http:// endpoint")
        if ca is not None:
            fail("ca_certificate", "is not used with an http:// endpoint; leave it unset")
    if scheme == "https" and flags["insecure_skip_verify"] is False and "ca_certificate" not in inputs:
        fail(
            "ca_certificate",
            "is required for an https:// endpoint (the PEM CA certificate Palette should "
            "trust), unless insecure_skip_verify is true",
        )

    _check_kind(inputs, news, flags, fail, known, text)

    if flags["wait_for_sync"] is True and flags["sync"] is False:
        fail("wait_for_sync", "needs sync true")

    if known("sync_timeout_seconds"):
        timeout = inputs["sync_timeout_seconds"]
        if isinstance(timeout, bool) or not isinstance(timeout, int) or not 1 <= timeout <= MAX_SYNC_TIMEOUT:
            fail("sync_timeout_seconds", f"must be a whole number of seconds from 1 to {MAX_SYNC_TIMEOUT}")

    return inputs, check.failures


def _check_kind(
    inputs: Mapping[str, Any],
    news: Mapping[str, Any],
    flags: Mapping[str, bool | None],
    fail: Callable[[str, str], None],
    known: Callable[[str], bool],
    text: Callable[..., str | None],
) -> None:
    """``registry_kind`` and what depends on it; ``sync_trigger`` (any string)."""
    text("sync_trigger", required=False)
    if not known("registry_kind"):
        return
    kind = inputs["registry_kind"]
    if not isinstance(kind, str) or kind not in SHAPES:
        fail("registry_kind", f"must be one of {', '.join(SHAPES)} (got {kind!r})")
        return
    shape = shape_for(kind)
    if "base_content_path" not in shape.holds:
        if news.get("base_content_path") is not None:
            fail("base_content_path", "is only used with registry_kind oci; leave it unset")
        return
    if not shape.allows_http and flags["allow_http"] is True:
        fail("allow_http", "must be false with registry_kind oci: Palette registers an OCI registry over https:// only")
    if "private" not in shape.holds and flags["private"] is False:
        fail(
            "private",
            "is a legacy pack registry setting: Palette's OCI registry spec has no such field; "
            "leave it unset with registry_kind oci",
        )
    path = text("base_content_path")
    if path is not None and not is_repository_path(path):
        fail(
            "base_content_path",
            "must be an OCI repository path: lower-case letters and digits, joined by '.', '_', '__' or '-', "
            f"in components separated by single '/', without a leading or trailing '/' (got {path!r})",
        )


def _check_pem(inputs: dict[str, Any], fail: Callable[[str, str], None], known: Callable[[str], bool]) -> str | None:
    if not known("ca_certificate"):
        return None
    value = inputs["ca_certificate"]
    if not isinstance(value, str):
        fail("ca_certificate", f"must be a PEM string, not {type(value).__name__}")
        return None
    if not value.strip():
        del inputs["ca_certificate"]
        return None
    if "PRIVATE KEY" in value:
        fail("ca_certificate", "holds a private key; give only the CA certificate")
        return None
    try:
        x509.load_pem_x509_certificates(value.encode())
    except ValueError:
        fail("ca_certificate", "is not a PEM certificate (-----BEGIN CERTIFICATE----- ...)")
        return None
    inputs["ca_certificate"] = pem(value)
    return inputs["ca_certificate"]
