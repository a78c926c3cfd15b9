"""The one walk of a pack directory: VCS and OS metadata, editor backups and what `.packignore` names are no part
of the pack, so the same pack from two checkouts has one digest, and what is left out is never read."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from components.packs import archive, walker
from components.packs.archive import build_archive, pack_content
from components.packs.walker import PackIgnoreError, exclusions, walk
from tests.support.paths import SAMPLE_PACK

# What a checkout, a Mac, a Windows share and an editor leave in a pack directory.
METADATA = {
    ".git/HEAD": b"ref: refs/heads/main\n",
    ".git/objects/ab/cdef": b"\x78\x9c object",
    ".git/index": os.urandom(64),
    ".svn/entries": b"12\n",
    ".hg/store/data": b"hg",
    "manifests/.git": b"gitdir: ../../.git/worktrees/hello\n",  # a worktree's or submodule's .git file
    ".DS_Store": os.urandom(32),
    "manifests/.DS_Store": os.urandom(32),
    "Thumbs.db": b"thumbs",
    "manifests/desktop.ini": b"[.ShellClassInfo]\n",
    "values.yaml~": b"old: values\n",
    "manifests/.hello-universe.yaml.swp": b"vim swap",
    ".#pack.json": b"emacs lock",
}


def copy_sample(target: Path) -> Path:
    shutil.copytree(SAMPLE_PACK, target)
    return target


def add(pack: Path, files: dict[str, bytes]) -> None:
    for relative, content in files.items():
        path = pack / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)


def test_the_same_pack_with_and_without_vcs_and_os_metadata_has_the_same_digests(tmp_path: Path) -> None:
    clean = copy_sample(tmp_path / "one" / "hello-universe")
    checkout = copy_sample(tmp_path / "two" / "hello-universe")
    add(checkout, METADATA)

    assert pack_content(checkout) == pack_content(clean)
    assert build_archive(checkout).digest == build_archive(clean).digest
    assert not set(pack_content(checkout).files) & set(METADATA)


def test_a_packignore_pattern_leaves_files_out_as_gitignore_would(tmp_path: Path) -> None:
    clean = copy_sample(tmp_path / "one" / "hello-universe")
    pack = copy_sample(tmp_path / "two" / "hello-universe")
    add(
        pack,
        {
            "notes/design.md": b"draft\n",
            "manifests/notes/x.yaml": b"kind: ConfigMap\n",  # "notes/" matches a directory at any depth
            "app.bak": b"old\n",
            "manifests/app.bak": b"old\n",
            "TODO.md": b"- ship it\n",
            ".packignore": b"# scratch\nnotes/\n*.bak\n/TODO.md\n",
        },
    )
    add(clean, {"manifests/TODO.md": b"kept: anchored patterns match at the top only\n"})
    add(pack, {"manifests/TODO.md": b"kept: anchored patterns match at the top only\n"})

    assert pack_content(pack) == pack_content(clean)
    assert "manifests/TODO.md" in pack_content(pack).files


def test_a_negated_pattern_takes_a_file_back(tmp_path: Path) -> None:
    pack = copy_sample(tmp_path / "hello-universe")
    add(pack, {"a.bak": b"a", "keep.bak": b"k", ".packignore": b"*.bak\n!keep.bak\n"})

    files = pack_content(pack).files

    assert "keep.bak" in files and "a.bak" not in files and ".packignore" not in files


def test_a_negated_pattern_cannot_take_back_what_every_pack_leaves_out(tmp_path: Path) -> None:
    """VCS metadata is left out always (walker.ALWAYS): a `.packignore` line `!.git` (or `!.DS_Store`, `!*~`) does
    not publish a checkout's history, its config (remote URLs may hold tokens) or an editor's backup. Its own
    patterns are still taken back by its own negations (above)."""
    clean = copy_sample(tmp_path / "one" / "hello-universe")
    pack = copy_sample(tmp_path / "two" / "hello-universe")
    add(pack, METADATA)
    add(pack, {".packignore": b"!.git\n!.git/**\n!.DS_Store\n!*~\n!.packignore\n!manifests/.git\n"})

    assert pack_content(pack) == pack_content(clean)


def test_what_is_left_out_is_never_opened_nor_entered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A FIFO would block a read and fail the tree check, a symlink out of the pack would be refused: left out,
    neither is looked at, and no left-out directory is listed."""
    pack = copy_sample(tmp_path / "hello-universe")
    add(pack, {".git/HEAD": b"ref\n", "scratch/big.bin": b"x", ".packignore": b"scratch/\n*.tmp\n"})
    os.mkfifo(pack / ".git" / "fifo")
    os.mkfifo(pack / "build.tmp")
    os.symlink("../../../etc/passwd", pack / ".git" / "leak")
    opened: list[str] = []
    scanned: list[str] = []
    real_open, real_scandir = open, os.scandir
    monkeypatch.setattr(
        archive, "open", lambda path, *a, **k: opened.append(path) or real_open(path, *a, **k), raising=False
    )
    monkeypatch.setattr(walker.os, "scandir", lambda path: scanned.append(path) or real_scandir(path))

    content = pack_content(pack)

    assert "pack.json" in content.files
    assert opened and not [path for path in opened if "/.git/" in path or "scratch" in path or path.endswith(".tmp")]
    assert sorted(os.path.relpath(path, pack) for path in scanned) == [".", "manifests"]


def test_the_walk_and_the_archive_agree_on_what_the_pack_is(tmp_path: Path) -> None:
    pack = copy_sample(tmp_path / "hello-universe")
    add(pack, METADATA)

    walked = {relative for _, relative, status in walk(str(pack)) if not os.path.isdir(pack / relative)}

    assert walked == set(build_archive(pack).files)


@pytest.mark.parametrize(
    ("make", "problem"),
    [
        (lambda p: (p / ".packignore").mkdir(), "is not a regular file"),
        (lambda p: os.symlink("values.yaml", p / ".packignore"), "is not a regular file"),
        (lambda p: (p / ".packignore").write_bytes(b"\xff\xfe*.bak\n"), "is not UTF-8 text"),
        (lambda p: (p / ".packignore").write_text("*.bak\n!\n"), "has an invalid pattern (Invalid git pattern: '!')"),
        (lambda p: (p / ".packignore").write_text("[z-a].yaml\n"), "has an invalid pattern (bad character range"),
    ],
)
def test_an_unusable_packignore_says_why(tmp_path: Path, make: Callable[[Path], object], problem: str) -> None:
    pack = copy_sample(tmp_path / "hello-universe")
    make(pack)

    with pytest.raises(PackIgnoreError) as raised:
        exclusions(str(pack))

    assert raised.value.problem.startswith(problem)
    assert str(raised.value).startswith(".packignore ")
