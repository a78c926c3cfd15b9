"""Which ``values.yaml`` documents were already read and accepted, so a ``pulumi up`` with nothing changed does not
parse them again.

Reading a chart's ``values.yaml`` is the largest part of checking packs (a few hundred packs hold tens of
thousands of lines). The verdict depends only on the document and on the reader, so an accepted document is
remembered by the SHA-256 of its text and the versions of what read it, as an empty file in the user's cache
folder (``$XDG_CACHE_HOME`` or ``~/.cache``, then ``palette-pack-registry/accepted-values``). Only acceptances
are remembered: a refusal is worked out again, so its message is always the reader's own. Creating the file is
atomic and concurrent runs agree, so no lock is needed; a cache that cannot be read or written is not used, nor
one that is not absolute. An entry counts only as a plain file of the user's, and is never created through a
symlink, so a cache folder others can write to (a shared ``$XDG_CACHE_HOME``) can neither pass a document unread
nor make this process create a file elsewhere.
``PALETTE_PACK_REGISTRY_CACHE`` names another folder (tests use their own).

The folder does not grow for ever: a run that remembers a new document also removes the entries written more than
``KEEP_DAYS`` ago (an entry still in use is then written again after one more read of its document). Only the
user's own plain files named like an entry are removed.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import stat
import time
from pathlib import Path

import yaml

__all__ = ["KEEP_DAYS", "is_accepted", "remember"]

KEEP_DAYS = 90
"""How long an entry is kept after it was written."""

_ENTRY_NAME = re.compile(r"[0-9a-f]{64}")

READER = "1"
"""Raise when what a values.yaml must be (components/packs/directory.py ``_check_values``) changes: every
earlier acceptance is then forgotten. A change of the reader itself (``components/config/values_yaml.py``), of
PyYAML or of libyaml does so without it (``_reader``)."""


def _libyaml_version() -> str:
    """The libyaml PyYAML's C loader runs (a build against the system's may differ under one PyYAML version)."""
    try:
        from yaml import _yaml  # type: ignore[attr-defined]

        return str(_yaml.get_version_string())
    except ImportError:
        return "none"


@functools.cache
def _reader_source(path: str) -> str:
    """The SHA-256 of the reader module's text (read once per run)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _reader() -> str:
    """What the verdict depends on besides the document: ``READER``, the reader module's own text, PyYAML's and
    libyaml's versions."""
    from components.config import values_yaml

    return f"{READER}\0{_reader_source(values_yaml.__file__)}\0{yaml.__version__}\0{_libyaml_version()}"


def _folder() -> Path | None:
    """The cache folder, or None when there is no absolute one: a relative ``$XDG_CACHE_HOME`` is invalid (the
    XDG Base Directory spec), and without ``HOME`` or a passwd entry ``expanduser`` leaves ``~`` as it is; either
    would put the cache under the working directory, which is the user's project."""
    base = os.environ.get("PALETTE_PACK_REGISTRY_CACHE")
    if not base:
        cache_home = os.environ.get("XDG_CACHE_HOME", "")
        if not os.path.isabs(cache_home):
            cache_home = os.path.join(os.path.expanduser("~"), ".cache")
        base = os.path.join(cache_home, "palette-pack-registry")
    return Path(base) / "accepted-values" if os.path.isabs(base) else None


def _entry(text: str) -> Path | None:
    folder = _folder()
    if folder is None:
        return None
    digest = hashlib.sha256(f"{_reader()}\0{text}".encode("utf-8", "surrogatepass")).hexdigest()
    return folder / digest


def is_accepted(text: str) -> bool:
    """Whether ``text`` was read and accepted before, by this reader: the entry is a plain file of this user's
    (not a symlink, nor planted by another user where the folder is shared)."""
    entry = _entry(text)
    if entry is None:
        return False
    try:
        status = os.lstat(entry)
    except OSError:
        return False
    return stat.S_ISREG(status.st_mode) and status.st_uid == os.getuid()


def remember(text: str) -> None:
    """Records that ``text`` was read and accepted (never through a symlink: ``O_NOFOLLOW``)."""
    entry = _entry(text)
    if entry is None:
        return
    try:
        entry.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        folder = _own_folder(entry.parent)
    except OSError:
        return
    try:
        os.close(os.open(entry.name, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW, 0o600, dir_fd=folder))
    except OSError:
        return
    else:
        _prune_once(str(entry.parent), folder)
    finally:
        os.close(folder)


def _own_folder(path: Path) -> int:
    """The cache folder opened, when it is the user's own directory and not a symlink (in a cache others can write
    to, a planted ``accepted-values`` link would make this process create, and remove, files elsewhere); entries are
    then created and removed through it, so the folder cannot be swapped in between."""
    folder = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    if os.fstat(folder).st_uid != os.getuid():
        os.close(folder)
        raise PermissionError(f"{path} is not this user's")
    return folder


_PRUNED: set[str] = set()
"""The folders pruned in this process."""


def _prune_once(path: str, folder: int) -> None:
    """Removes the entries written more than ``KEEP_DAYS`` ago, once per process and folder (``path``; ``folder`` is
    its open descriptor)."""
    if path in _PRUNED:
        return
    _PRUNED.add(path)
    oldest = time.time() - KEEP_DAYS * 86400
    try:
        names = os.listdir(folder)
    except OSError:
        return
    for name in names:
        if not _ENTRY_NAME.fullmatch(name):
            continue
        try:
            status = os.stat(name, dir_fd=folder, follow_symlinks=False)
            if stat.S_ISREG(status.st_mode) and status.st_uid == os.getuid() and status.st_mtime < oldest:
                os.unlink(name, dir_fd=folder)
        except OSError:
            continue
