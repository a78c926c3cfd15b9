"""Passwords for every registry user and the bcrypt htpasswd file the server reads."""

from __future__ import annotations

import pulumi
import pulumi_random as random

from components.config.users import Users
from components.credentials.bcrypt_hash import GENERATED_ROUNDS, BcryptHash

__all__ = ["PASSWORD_SPECIALS", "Credentials"]

# Only URL-unreserved punctuation: nothing that breaks a URL, a shell word or a basic-auth header.
PASSWORD_SPECIALS = "-_"  # noqa: S105 - an alphabet, not a password


class Credentials(pulumi.ComponentResource):
    """One password per user and an htpasswd file of bcrypt entries, stable while passwords are unchanged: a generated
    password's at cost 4, a supplied one's at cost 10."""

    users: list[str]
    """All user names, admin first."""
    passwords: dict[str, pulumi.Output[str]]
    """Password per user (secret)."""
    htpasswd: pulumi.Output[str]
    """Content of ``/auth/htpasswd-basic`` (secret)."""

    def __init__(self, name: str, args: Users, opts: pulumi.ResourceOptions | None = None) -> None:
        """``args``: the users (``config.users``): their names, supplied passwords, how to generate the others."""
        super().__init__("palette-pack-registry:registry:Credentials", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.users = [args.admin_user, *args.read_only_users]
        supplied: dict[str, pulumi.Output[str]] = {}
        if args.admin_password is not None:
            supplied[args.admin_user] = pulumi.Output.secret(args.admin_password)
        if args.read_only_passwords is not None:
            passwords = pulumi.Output.secret(args.read_only_passwords)
            for index, user in enumerate(args.read_only_users):
                supplied[user] = passwords.apply(lambda values, i=index: _parse_list(values)[i])

        self.passwords = {}
        hashes: list[pulumi.Output[str]] = []
        for user in self.users:
            if user in supplied:
                password = supplied[user]
                # A password a person chose may be guessable: its hash keeps bcrypt's usual cost.
                digest = BcryptHash(f"{name}-{user}-hash", password, opts=child).hash
            else:
                generated = random.RandomPassword(
                    f"{name}-{user}",
                    length=args.password_length,
                    special=True,
                    override_special=PASSWORD_SPECIALS,
                    min_lower=2,
                    min_upper=2,
                    min_numeric=2,
                    keepers={"rotation": args.rotation_keeper},
                    opts=child,
                )
                password = generated.result
                # Not pulumi-random's bcrypt_hash, which always costs 10 (terraform-provider-random
                # resource_password.go generateHash: bcrypt.DefaultCost): a generated password is hashed at the
                # lowest cost (components/credentials/bcrypt_hash.py says why).
                digest = BcryptHash(f"{name}-{user}-hash", password, rounds=GENERATED_ROUNDS, opts=child).hash
            self.passwords[user] = pulumi.Output.secret(password)
            hashes.append(digest)

        self.htpasswd = pulumi.Output.secret(
            pulumi.Output.all(*hashes).apply(
                lambda values: "".join(f"{user}:{value}\n" for user, value in zip(self.users, values, strict=True))
            )
        )
        self.register_outputs({"users": self.users, "htpasswd": self.htpasswd})


def _parse_list(values: object) -> list[str]:
    import json

    if isinstance(values, str):
        values = json.loads(values)
    if not isinstance(values, list):
        raise TypeError("readOnlyPasswords must be a list")
    return [str(v) for v in values]
