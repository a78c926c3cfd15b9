"""The one walk of a pack directory, and what it leaves out.

What a pack is made of is what this walk yields: the archive is built from it (``archive``) and the pack's checks
(``directory``) refuse what it would carry unfaithfully, so what is checked is exactly what is published.

Left out, always: version-control and OS metadata and editor backups (``ALWAYS``), which are no part of a pack but
would make the same pack from two checkouts (a clone, a copy, a colleague's Mac) two different digests and so two
publishes. A ``.packignore`` at the top of the pack directory adds patterns in ``.gitignore`` syntax (matched by
the ``pathspec`` library, as git matches them: ``build/`` a directory, ``/notes.md`` only at the top, ``!keep``
to take one of its own patterns' files back; what ``ALWAYS`` leaves out cannot be taken back: ``!.git`` would
publish a checkout's history and config); it is itself left out. An excluded directory is not entered and an
excluded file never opened.
"""

from __future__ import annotations

import functools
import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field

import pathspec
from pathspec.patterns.gitignore import GitIgnorePatternError

__all__ = ["ALWAYS", "PACKIGNORE", "Exclusions", "PackIgnoreError", "always_excluded", "exclusions", "walk"]

PACKIGNORE = ".packignore"

ALWAYS = (
    # Version control: a directory in a clone, a file (".git: gitdir: ...") in a worktree or submodule.
    ".git",
    ".svn",
    ".hg",
    # What macOS Finder and Windows Explorer leave behind.
    ".DS_Store",
    "Thumbs.db",
    "desktop.ini",
    # Editor backups, swap and lock files (Emacs, vim).
    "*~",
    "*.swp",
    ".#*",
    # The exclusions themselves: what the pack is made of is what they leave, not the list.
    f"/{PACKIGNORE}",
)
"""Patterns (``.gitignore`` syntax) left out of every pack."""


class PackIgnoreError(ValueError):
    """The pack's ``.packignore`` cannot be used: ``problem`` and ``fix`` say why and what to do."""

    def __init__(self, problem: str, fix: str) -> None:
        self.problem = problem
        self.fix = fix
        super().__init__(f"{PACKIGNORE} {problem}. {fix}")


def _spec(lines: tuple[str, ...]) -> pathspec.PathSpec:
    # The backend that is always there (Python's re): the same matches, so the same digest, on every machine,
    # whether or not an optional faster backend (re2, hyperscan) happens to be installed.
    return pathspec.GitIgnoreSpec.from_lines(lines, backend="simple")


_ALWAYS_SPEC = _spec(ALWAYS)


@dataclass(frozen=True)
class Exclusions:
    """The patterns a pack directory's walk leaves out."""

    spec: pathspec.PathSpec
    """The ``.packignore`` lines, compiled."""

    always: pathspec.PathSpec = field(default_factory=lambda: _ALWAYS_SPEC)
    """``ALWAYS``, compiled, matched on its own: a ``.packignore`` negation (``!.git``) cannot take it back."""

    def excludes(self, relative: str, is_dir: bool) -> bool:
        """Whether ``relative`` (``/``-separated, inside the pack) is left out; a directory is matched with its
        trailing ``/``, so that a pattern ending in ``/`` matches directories only, as in git."""
        path = f"{relative}/" if is_dir else relative
        return self.always.match_file(path) or self.spec.match_file(path)


def exclusions(directory: str) -> Exclusions:
    """``ALWAYS`` and the patterns of ``directory``'s ``.packignore`` (if there is one). Raises
    ``PackIgnoreError`` for a ``.packignore`` that is not a regular file, not UTF-8, or holds an invalid pattern."""
    path = os.path.join(directory, PACKIGNORE)
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return _exclusions(())
    if not stat.S_ISREG(mode):
        raise PackIgnoreError("is not a regular file", "Make it a plain file of patterns, one a line.")
    try:
        with open(path, encoding="utf-8") as handle:
            lines = tuple(handle.read().splitlines())
    except UnicodeDecodeError:
        raise PackIgnoreError("is not UTF-8 text", "Save it as UTF-8.") from None
    return _exclusions(lines)


@functools.cache
def _exclusions(lines: tuple[str, ...]) -> Exclusions:
    """Built once per set of lines: most packs have no ``.packignore`` and share ``ALWAYS`` alone."""
    try:
        spec = _spec(lines)
    except (GitIgnorePatternError, re.error) as error:
        # pathspec's own refusals ("!" alone), and what Python's re refuses in a bracket ("[z-a]").
        raise PackIgnoreError(f"has an invalid pattern ({error})", "Fix or remove that line.") from None
    return Exclusions(spec=spec)


def always_excluded(relative: str) -> bool:
    """Whether the file at ``relative`` (inside a pack) is left out of every pack, whatever its ``.packignore``."""
    return _exclusions(()).excludes(relative, False)


def walk(directory: str, excluded: Exclusions | None = None) -> Iterator[tuple[str, str, os.stat_result]]:
    """``(path, relative path, lstat)`` of everything under ``directory`` that is part of the pack, sorted by
    name within each directory, parents first (the order ``tar --sort=name`` gives). ``excluded``: the pack's
    exclusions (default: read from ``directory``)."""
    yield from _walk(directory, "", exclusions(directory) if excluded is None else excluded)


def _walk(directory: str, prefix: str, excluded: Exclusions) -> Iterator[tuple[str, str, os.stat_result]]:
    with os.scandir(directory) as scanned:
        children = sorted(scanned, key=lambda child: child.name.encode("utf-8", "surrogateescape"))
    for child in children:
        status = child.stat(follow_symlinks=False)
        relative = f"{prefix}{child.name}"
        is_dir = stat.S_ISDIR(status.st_mode)
        if excluded.excludes(relative, is_dir):
            continue
        yield child.path, relative, status
        if is_dir:
            yield from _walk(child.path, f"{relative}/", excluded)
