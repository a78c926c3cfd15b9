"""A bcrypt hash of a password, computed once by a dynamic provider and kept in state.

Hashing in the program would draw a fresh salt on every run and rewrite the htpasswd file (and replace
the container) each time. Here the hash is computed on create, and ``diff`` only reports a change when
the new password no longer verifies against the stored hash, or the hash's cost is not the one asked for.

The cost: bcrypt's work factor makes each guess of a *guessable* password expensive; it adds nothing to a
password drawn at random from 64 symbols, 32 long (192 bits: no number of guesses finds it). But the server
pays that cost on every request that names a known user, a wrong password included, so a client that sends
wrong passwords in a loop takes the server's CPU from everyone (docs/operating.md, "A flood of wrong
passwords"). So a generated password is hashed at bcrypt's lowest cost, ``GENERATED_ROUNDS`` (4: about a
millisecond, 64 times less than 10), and a password a person chose keeps ``SUPPLIED_ROUNDS``.
"""

from __future__ import annotations

from typing import Any

import bcrypt
import pulumi
import pulumi.dynamic

from components.dynamic.values import InputCheck, is_unknown

__all__ = ["GENERATED_ROUNDS", "SUPPLIED_ROUNDS", "BcryptHash", "BcryptHashProvider", "cost_of"]

SUPPLIED_ROUNDS = 10
"""The cost of a supplied password's hash (what pulumi-random's ``bcrypt_hash`` and Apache's ``htpasswd -B`` use)."""
GENERATED_ROUNDS = 4
"""The cost of a generated password's hash: bcrypt's minimum (Go's ``bcrypt.MinCost``, which the legacy server
accepts; libxcrypt's, which nginx calls through crypt())."""


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
        rounds = news.get("rounds")
        if check.known("rounds") and rounds is not None and not _valid_rounds(rounds):
            check.fail("rounds", f"{rounds!r} is not a bcrypt cost: use a whole number from 4 to 31")
        return pulumi.dynamic.CheckResult(news, check.failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> pulumi.dynamic.DiffResult:
        password = news.get("password")
        rounds = news.get("rounds")
        if is_unknown(password) or is_unknown(rounds):
            return pulumi.dynamic.DiffResult(changes=True)
        old_hash = olds.get("hash")
        unchanged = (
            isinstance(password, str)
            and isinstance(old_hash, str)
            and cost_of(old_hash) == _rounds(news)
            and bcrypt.checkpw(password.encode(), old_hash.encode())
        )
        return pulumi.dynamic.DiffResult(changes=not unchanged)

    def create(self, props: dict[str, Any]) -> pulumi.dynamic.CreateResult:
        return pulumi.dynamic.CreateResult("bcrypt", _outputs(props))

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> pulumi.dynamic.UpdateResult:
        return pulumi.dynamic.UpdateResult(_outputs(news))


def _valid_rounds(rounds: object) -> bool:
    if isinstance(rounds, bool) or not isinstance(rounds, int | float):
        return False
    return rounds == int(rounds) and 4 <= rounds <= 31


def _rounds(props: dict[str, Any]) -> int:
    """The cost asked for: ``rounds`` where given (the engine sends numbers as floats), else SUPPLIED_ROUNDS, which a
    hash made before the input existed has."""
    rounds = props.get("rounds")
    return SUPPLIED_ROUNDS if rounds is None else int(rounds)


def cost_of(digest: str) -> int | None:
    """The cost of a ``$2b$NN$...`` bcrypt hash (None for anything else)."""
    parts = digest.split("$")
    return int(parts[2]) if len(parts) == 4 and parts[2].isdigit() else None


def _outputs(props: dict[str, Any]) -> dict[str, Any]:
    password = props["password"]
    digest = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=_rounds(props))).decode()
    outputs = {"password": password, "hash": digest}
    if props.get("rounds") is not None:
        outputs["rounds"] = _rounds(props)
    return outputs


class BcryptHash(pulumi.dynamic.Resource, module="registry", name="BcryptHash"):
    """The bcrypt hash of a password (both secret in state)."""

    hash: pulumi.Output[str]
    """``$2b$...`` bcrypt hash, stable while the password verifies against it."""

    def __init__(
        self,
        name: str,
        password: pulumi.Input[str],
        rounds: int | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """``rounds``: the bcrypt cost; None is SUPPLIED_ROUNDS, and keeps the inputs of a hash made before the input
        existed exactly as they were."""
        props: dict[str, Any] = {"password": pulumi.Output.secret(password), "hash": None}
        if rounds is not None:
            props["rounds"] = rounds
        super().__init__(
            BcryptHashProvider(),
            name,
            props,
            pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(additional_secret_outputs=["password", "hash"])),
        )
