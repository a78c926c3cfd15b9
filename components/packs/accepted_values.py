"""Which ``values.yaml`` documents were already read and accepted, so a ``pulumi up`` with nothing changed does not
parse them again.

Reading a chart's ``values.yaml`` is the largest part of checking packs (a few hundred packs hold tens of
thousands of lines). The verdict depends only on the document and on the reader, so an accepted document is
remembered by the SHA-256 of its text and the versions of what read it, as an empty file in the user's cache
folder (``$XDG_CACHE_HOME`` or ``~/.cache``, then ``palette-pack-registry/accepted-values``). Only acceptances
are remembered: a refusal is worked out again, so its message is always the reader's own. Creating the file is
atomic and concurrent runs agree, so no lock is needed; a cache that cannot be read or written is not used.
``PALETTE_PACK_REGISTRY_CACHE`` names another folder (tests use their own).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import yaml

__all__ = ["is_accepted", "remember"]

READER = "1"
"""Raise when what a values.yaml must be (components/packs/directory.py ``_check_values``) changes: every
earlier acceptance is then forgotten."""


def _folder() -> Path:
    base = os.environ.get("PALETTE_PACK_REGISTRY_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "palette-pack-registry"
    )
    return Path(base) / "accepted-values"


def _entry(text: str) -> Path:
    digest = hashlib.sha256(f"{READER}\0{yaml.__version__}\0{text}".encode("utf-8", "surrogatepass")).hexdigest()
    return _folder() / digest


def is_accepted(text: str) -> bool:
    """Whether ``text`` was read and accepted before, by this reader."""
    try:
        return _entry(text).is_file()
    except OSError:
        return False


def remember(text: str) -> None:
    """Records that ``text`` was read and accepted."""
    entry = _entry(text)
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        entry.touch()
    except OSError:
        pass
