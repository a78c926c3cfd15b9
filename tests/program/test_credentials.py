"""Passwords and the htpasswd file: real bcrypt, Apache's own verifier, stable across runs."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import bcrypt
import pytest

from components.credentials.passwords import PASSWORD_SPECIALS
from tests.support.harness import BCRYPT_HASH, PASSWORD, MockState, ProgramRun, replaces, run_program

AUTH_FILE = "/auth/htpasswd-basic"


def htpasswd_of(run: ProgramRun) -> str:
    container = run.one("docker:index/container:Container")
    return next(u["content"] for u in container.inputs["uploads"] if u["file"] == AUTH_FILE)


def passwords_of(run: ProgramRun) -> dict[str, str]:
    users = [run.exports["adminUser"], *run.exports["readOnlyUsers"]]
    values = [run.exports["adminPassword"], *run.exports["readOnlyPasswords"]]
    return dict(zip(users, values, strict=True))


def entries(content: str) -> dict[str, str]:
    lines = content.splitlines()
    assert all(line.count(":") == 1 for line in lines), "one user:hash entry per line"
    return dict(line.split(":", 1) for line in lines)


def test_one_generated_password_per_user_with_safe_characters(dev_run: ProgramRun) -> None:
    """What the program asks pulumi-random for: the length, and specials limited to URL-unreserved ones."""
    generated = [r for r in dev_run.all(PASSWORD) if r.name.startswith("credentials-")]
    assert sorted(r.name for r in generated) == ["credentials-admin", "credentials-spectro"]
    assert PASSWORD_SPECIALS == "-_"
    for record in generated:
        assert record.inputs["length"] == 32
        assert record.inputs["special"] is True
        assert record.inputs["overrideSpecial"] == PASSWORD_SPECIALS
        assert (record.inputs["minLower"], record.inputs["minUpper"], record.inputs["minNumeric"]) == (2, 2, 2)
        assert record.inputs["keepers"] == {"rotation": "1"}
        assert record.parent and record.parent.endswith("::credentials")


def test_harness_password_mock_draws_from_the_declared_alphabet(dev_run: ProgramRun) -> None:
    """Harness self-test: the RandomPassword mock honours length and overrideSpecial, as pulumi-random does."""
    allowed = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789" + PASSWORD_SPECIALS)
    for user, password in passwords_of(dev_run).items():
        assert len(password) == 32, user
        assert set(password) <= allowed, user


def test_htpasswd_entries_verify_with_bcrypt(dev_run: ProgramRun) -> None:
    table = entries(htpasswd_of(dev_run))
    passwords = passwords_of(dev_run)
    assert list(table) == ["admin", "spectro"]
    for user, digest in table.items():
        assert digest.startswith("$2"), "bcrypt is the only hash the server accepts"
        assert bcrypt.checkpw(passwords[user].encode(), digest.encode())
        assert not bcrypt.checkpw(b"wrong-password", digest.encode())


def test_generated_passwords_are_hashed_at_cost_4_and_supplied_ones_at_10() -> None:
    """A generated password (192 bits) gains nothing from bcrypt's work factor, and every request naming its user
    pays it: its hash costs 4. A password a person chose keeps 10 (components/credentials/bcrypt_hash.py)."""
    generated = run_program()
    assert [hash_cost(digest) for digest in entries(htpasswd_of(generated)).values()] == [4, 4]
    for record in generated.all(BCRYPT_HASH):
        assert record.inputs["rounds"] == 4, record.name
    supplied = run_program({"adminPassword": "Admin-password-0123456789"}, secrets_={"adminPassword"})
    table = entries(htpasswd_of(supplied))
    assert (hash_cost(table["admin"]), hash_cost(table["spectro"])) == (10, 4)
    assert "rounds" not in supplied.named("credentials-admin-hash").inputs


def hash_cost(digest: str) -> int:
    return int(digest.split("$")[2])


def test_htpasswd_entries_verify_with_apache_htpasswd(dev_run: ProgramRun, tmp_path: Path) -> None:
    htpasswd = shutil.which("htpasswd")
    if htpasswd is None:
        pytest.fail("Apache's htpasswd is missing: install Debian's apache2-utils (scripts/test.sh does)")
    path = tmp_path / "htpasswd-basic"
    path.write_text(htpasswd_of(dev_run))
    for user, password in passwords_of(dev_run).items():
        good = subprocess.run(
            [htpasswd, "-v", "-i", str(path), user], input=password, text=True, capture_output=True, check=False
        )
        assert good.returncode == 0, good.stderr
        bad = subprocess.run(
            [htpasswd, "-v", "-i", str(path), user], input=password + "x", text=True, capture_output=True, check=False
        )
        assert bad.returncode != 0


def _http_secret(run: ProgramRun) -> str:
    envs = run.one("docker:index/container:Container").inputs["envs"]
    return next(e for e in envs if e.startswith("REGISTRY_HTTP_SECRET="))


def test_a_changed_rotation_keeper_rotates_and_an_unchanged_one_keeps() -> None:
    """One stack state across runs, as the engine keeps it: the mock replaces a RandomPassword only when
    pulumi-random would (tests/support/harness.py ``replaces``: a changed keeper value), else it keeps the result."""
    state = MockState()
    first = run_program(state=state)
    again = run_program(state=state)
    assert passwords_of(again) == passwords_of(first)
    assert htpasswd_of(again) == htpasswd_of(first)
    assert _http_secret(again) == _http_secret(first)

    rotated = run_program({"rotationKeeper": "2"}, state=state)
    old, new = passwords_of(first), passwords_of(rotated)
    assert all(old[u] != new[u] for u in old)
    assert _http_secret(rotated) != _http_secret(first)
    table = entries(htpasswd_of(rotated))
    for user in old:
        assert bcrypt.checkpw(new[user].encode(), table[user].encode())
        assert not bcrypt.checkpw(old[user].encode(), table[user].encode())
    assert passwords_of(run_program({"rotationKeeper": "2"}, state=state)) == new


def test_harness_mock_replaces_a_random_password_like_pulumi_random() -> None:
    """Harness self-test of the rule the rotation test relies on."""
    base = {"length": 32, "special": True, "keepers": {"rotation": "1"}}
    assert not replaces(PASSWORD, base, dict(base))
    assert replaces(PASSWORD, base, {**base, "keepers": {"rotation": "2"}})
    assert replaces(PASSWORD, base, {**base, "keepers": {}})
    assert not replaces(PASSWORD, base, {**base, "keepers": {"rotation": "1", "extra": None}})
    assert replaces(PASSWORD, base, {**base, "length": 24})


def test_supplied_passwords_are_hashed_once_per_user_and_kept_on_a_rerun() -> None:
    supplied = {"adminPassword": "Admin-password-0123456789", "readOnlyPasswords": ["Reader-password-0123456789"]}
    state = MockState()
    run = run_program(supplied, state=state, secrets_={"adminPassword", "readOnlyPasswords"})
    # One hash per user, besides the HTTP secret and the TLS material (CA key and certificate, server key,
    # request and certificate).
    assert state.generated == 2 + 6
    rerun = run_program(supplied, state=state, secrets_={"adminPassword", "readOnlyPasswords"})
    assert state.generated == 2 + 6, "a rerun with the same passwords hashed again"
    assert htpasswd_of(rerun) == htpasswd_of(run)
    assert not [r for r in run.all(PASSWORD) if r.name.startswith("credentials-")]
    hashes = run.all(BCRYPT_HASH)
    assert sorted(r.name for r in hashes) == ["credentials-admin-hash", "credentials-spectro-hash"]
    for record in hashes:
        assert "password" in record.secret_inputs
        assert set(record.options["additional_secret_outputs"]) >= {"password", "hash"}
    table = entries(htpasswd_of(run))
    assert bcrypt.checkpw(b"Admin-password-0123456789", table["admin"].encode())
    assert bcrypt.checkpw(b"Reader-password-0123456789", table["spectro"].encode())
    assert run.exports["adminPassword"] == "Admin-password-0123456789"
    assert "adminPassword" in run.secret_exports
