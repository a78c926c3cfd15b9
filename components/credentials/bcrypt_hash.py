"""A bcrypt hash of a user-supplied password, computed once by a dynamic provider and kept in state.

Hashing in the program would draw a fresh salt on every run and rewrite the htpasswd file (and replace
the container) each time. Here the hash is computed on create, and ``diff`` only reports a change when
the new password no longer verifies against the stored hash.
"""

from __future__ import annotations

from typing import Any

import bcrypt
import pulumi
import pulumi.dynamic

from components.dynamic.values import InputCheck, is_unknown

__all__ = ["BcryptHash", "BcryptHashProvider"]

_ROUNDS = 10


class BcryptHashProvider(pulumi.dynamic.ResourceProvider):
    """Hashes ``password`` with bcrypt on create/update; the hash survives until the password changes."""

    # Pickled by reference as ``components.bcrypt_hash.{class name}`` (tests/program/test_state_unpickles.py):
    # the path stays, so existing stacks unpickle it and a new pickle is byte for byte the one they hold.
    __module__ = "components.bcrypt_hash"

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> pulumi.dynamic.CheckResult:
        check = InputCheck(news)
        password = check.text("password")
        if password is not None and len(password.encode()) > 72:
            check.fail("password", "bcrypt only uses the first 72 bytes")
        return pulumi.dynamic.CheckResult(news, check.failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> pulumi.dynamic.DiffResult:
        password = news.get("password")
        if is_unknown(password):
            return pulumi.dynamic.DiffResult(changes=True)
        old_hash = olds.get("hash")
        unchanged = (
            isinstance(password, str)
            and isinstance(old_hash, str)
            and bcrypt.checkpw(password.encode(), old_hash.encode())
        )
        return pulumi.dynamic.DiffResult(changes=not unchanged)

    def create(self, props: dict[str, Any]) -> pulumi.dynamic.CreateResult:
        return pulumi.dynamic.CreateResult("bcrypt", _outputs(props["password"]))

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> pulumi.dynamic.UpdateResult:
        return pulumi.dynamic.UpdateResult(_outputs(news["password"]))


def _outputs(password: str) -> dict[str, Any]:
    digest = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=_ROUNDS)).decode()
    return {"password": password, "hash": digest}


class BcryptHash(pulumi.dynamic.Resource, module="registry", name="BcryptHash"):
    """The bcrypt hash of a password (both secret in state)."""

    hash: pulumi.Output[str]
    """``$2b$...`` bcrypt hash, stable while the password verifies against it."""

    def __init__(self, name: str, password: pulumi.Input[str], opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(
            BcryptHashProvider(),
            name,
            {"password": pulumi.Output.secret(password), "hash": None},
            pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(additional_secret_outputs=["password", "hash"])),
        )
