"""The frozen old version the real-CLI upgrade test deploys (tests/cli/test_oci_pairing_upgrade.py ``OLD_VERSION``):
what it must be, and, in a clone that holds the history, exactly the commit it names."""

from __future__ import annotations

import hashlib
import subprocess
import tarfile
from io import BytesIO

import pytest

from tests.cli.test_oci_pairing_upgrade import NAMESPACE_LAYOUT_COMMIT, OLD_VERSION
from tests.support.paths import ROOT


def _files(archive: bytes) -> dict[str, str]:
    with tarfile.open(fileobj=BytesIO(archive)) as files:
        return {
            member.name: hashlib.sha256(files.extractfile(member).read()).hexdigest()  # type: ignore[union-attr]
            for member in files.getmembers()
            if member.isfile()
        }


def test_the_frozen_version_is_a_program_of_the_namespace_layout() -> None:
    """The program, its components, and the registry joined to its proxy's namespace (what the upgrade moves from)."""
    with tarfile.open(OLD_VERSION) as files:
        names = set(files.getnames())
        container = files.extractfile("components/instance/container.py")
        assert container is not None
        source = container.read().decode()
    assert {"Pulumi.yaml", "__main__.py", "components/__init__.py"} <= names
    assert not any(name.startswith(("tests/", "/", "..")) or "/../" in name for name in names), names
    assert 'f"container:{front_id}"' in source


def test_the_frozen_version_is_the_commit_it_names_where_the_history_is_there() -> None:
    """``git archive --format=tar.gz <commit> -- Pulumi.yaml __main__.py components``, file for file. A shallow clone
    lacks the commit: the test is then reported skipped, not passed (no network is asked for it)."""
    present = subprocess.run(
        ["git", "-C", str(ROOT), "cat-file", "-e", f"{NAMESPACE_LAYOUT_COMMIT}^{{commit}}"], capture_output=True
    )
    if present.returncode != 0:
        pytest.skip(f"commit {NAMESPACE_LAYOUT_COMMIT} is not in this clone (a shallow clone): nothing to compare")
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", NAMESPACE_LAYOUT_COMMIT, "--", "Pulumi.yaml", "__main__.py", "components"],
        capture_output=True,
        check=True,
    ).stdout
    assert _files(OLD_VERSION.read_bytes()) == _files(archive)
