"""Passwords and the htpasswd file: real bcrypt, Apache's own verifier, stable across runs."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import bcrypt
import pytest

from components.credentials import PASSWORD_SPECIALS
from tests.harness import BCRYPT_HASH, PASSWORD, ProgramRun, run_program

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
    generated = [r for r in dev_run.all(PASSWORD) if r.name.startswith("credentials-")]
    assert sorted(r.name for r in generated) == ["credentials-admin", "credentials-spectro"]
    allowed = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789" + PASSWORD_SPECIALS)
    for record in generated:
        assert record.inputs["length"] == 32
        assert record.inputs["overrideSpecial"] == PASSWORD_SPECIALS
        assert record.inputs["keepers"] == {"rotation": "1"}
        assert record.parent and record.parent.endswith("::credentials")
    for user, password in passwords_of(dev_run).items():
        assert len(password) == 32, user
        assert set(password) <= allowed, f"{user}'s password has characters that break URLs or shells"
        assert len(password.encode()) <= 72


def test_htpasswd_entries_verify_with_bcrypt(dev_run: ProgramRun) -> None:
    table = entries(htpasswd_of(dev_run))
    passwords = passwords_of(dev_run)
    assert list(table) == ["admin", "spectro"]
    for user, digest in table.items():
        assert digest.startswith("$2"), "bcrypt is the only hash the server accepts"
        assert bcrypt.checkpw(passwords[user].encode(), digest.encode())
        assert not bcrypt.checkpw(b"wrong-password", digest.encode())


def test_htpasswd_entries_verify_with_apache_htpasswd(dev_run: ProgramRun, tmp_path: Path) -> None:
    htpasswd = shutil.which("htpasswd")
    if htpasswd is None:
        pytest.fail("Apache's htpasswd is missing: install Debian's apache2-utils (.ci/run does)")
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


def test_rotation_keeper_rotates_passwords_and_the_file(dev_run: ProgramRun) -> None:
    rotated = run_program({"rotationKeeper": "2"})
    old, new = passwords_of(dev_run), passwords_of(rotated)
    assert all(old[u] != new[u] for u in old)
    table = entries(htpasswd_of(rotated))
    for user in old:
        assert bcrypt.checkpw(new[user].encode(), table[user].encode())
        assert not bcrypt.checkpw(old[user].encode(), table[user].encode())


def test_supplied_passwords_are_hashed_once_by_the_provider() -> None:
    supplied = {"adminPassword": "Admin-password-0123456789", "readOnlyPasswords": ["Reader-password-0123456789"]}
    run = run_program(supplied, secrets_={"adminPassword", "readOnlyPasswords"})
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
