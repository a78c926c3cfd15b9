"""Registration in Palette: on or off (and why), where, under which name, as which registry user."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from components.config.network import is_loopback
from components.config.source import ConfigError, Raw, base_url
from components.palette.access import API_KEY_ENV as PALETTE_API_KEY_ENV
from components.palette.access import DEFAULT_API_URL as DEFAULT_PALETTE_API_URL


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


_REGISTRATION_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")


def _default_registration_name(container_name: str, stack: str) -> str:
    """``<containerName>-<stack>`` (or containerName when it ends with the stack already), made into a
    registration name: lower case, other characters as '-', at most 63 characters."""
    base = container_name if container_name.endswith(f"-{stack}") else f"{container_name}-{stack}"
    name = re.sub(r"[^a-z0-9]+", "-", base.lower()).strip("-")
    return name[:63].rstrip("-")


def palette_settings(
    raw: Raw,
    reveal: Callable[[str], str | None],
    env: Mapping[str, str],
    stack: str,
    container_name: str,
    read_only_users: tuple[str, ...],
    endpoint_host: str,
    endpoint_key: str = "hosts",
) -> PaletteSettings:
    api_url = raw.text("paletteApiUrl").strip().rstrip("/")
    parts = base_url("paletteApiUrl", api_url, allow_path=True)
    if parts.scheme == "http" and not is_loopback(parts.hostname or ""):
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
    unreachable = is_loopback(endpoint_host)
    reach = (
        "set ociEndpoint to the registry's name or address Palette can reach"
        if endpoint_key == "ociEndpoint"
        else "list a name Palette can reach first in hosts (or ipAddresses)"
    )
    if choice == "auto":
        wanted = has_key or api_url != DEFAULT_PALETTE_API_URL
        enabled = wanted and not unreachable
        if enabled:
            reason = "Palette registration is on: an API key or a Palette URL is configured."
        elif wanted:
            reason = (
                f"Palette registration is off: the endpoint's host '{endpoint_host}' is a loopback address "
                f"Palette cannot reach; {reach}."
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
                f"{reach[0].upper()}{reach[1:]}, or set paletteRegistration to false.",
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
