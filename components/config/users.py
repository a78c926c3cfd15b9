"""The registry's users: names, generated or supplied passwords, the basic-auth realm."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from components.config.source import ConfigError, Raw

# bcrypt only hashes the first 72 bytes; generated passwords are ASCII, so bytes == characters.
BCRYPT_MAX_BYTES = 72

MIN_PASSWORD_LENGTH = 16

_USER_NAME = re.compile(r"^[A-Za-z0-9._@-]{1,64}$")


def check_users(admin: str, read_only: tuple[str, ...]) -> None:
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


def check_supplied_password(key: str, value: str) -> None:
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


@dataclass(frozen=True)
class Users:
    """Who may log in to the registry, and with which passwords."""

    auth_realm: str
    admin_user: str
    read_only_users: tuple[str, ...]
    password_length: int
    rotation_keeper: str
    admin_password: Any
    """User-supplied admin password (secret Output) or None to generate one."""
    read_only_passwords: Any
    """User-supplied read-only passwords (secret Output of a list) or None to generate them."""


def parse_users(raw: Raw, reveal: Callable[[str], str | None], secret: Callable[[str], Any]) -> Users:
    auth_realm = raw.text("authRealm").strip()
    if not auth_realm or '"' in auth_realm:
        raise ConfigError("authRealm", "must be a non-empty string without '\"'", 'Set e.g. "Spectro Pack Registry".')
    admin_user = raw.text("adminUser").strip()
    read_only_users = raw.strings("readOnlyUsers")
    check_users(admin_user, read_only_users)

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
        check_supplied_password("adminPassword", admin_plain)
        admin_password = secret("adminPassword")
    return Users(
        auth_realm=auth_realm,
        admin_user=admin_user,
        read_only_users=read_only_users,
        password_length=password_length,
        rotation_keeper=raw.text("rotationKeeper"),
        admin_password=admin_password,
        read_only_passwords=_read_only_passwords(reveal, secret, read_only_users),
    )


def _read_only_passwords(
    reveal: Callable[[str], str | None], secret: Callable[[str], Any], read_only_users: tuple[str, ...]
) -> Any:
    plain = reveal("readOnlyPasswords")
    if not plain:
        return None
    try:
        values = json.loads(plain)
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
        check_supplied_password("readOnlyPasswords", value)
    return secret("readOnlyPasswords")
