"""A pack directory as the layer Palette downloads: a gzipped tar, byte for byte reproducible.

The layout is what ``tar -czf NAME-VERSION.tar.gz DIR`` run in the directory's parent gives: one top-level
folder named like the directory, then everything in it. What would make two checkouts of the same files
differ is fixed: entries sorted by name (depth first, as ``tar --sort=name``), every mtime 0, uid and gid 0
without owner names, modes 0644 for files and 0755 for directories and executables, GNU tar format, and a
gzip header without a file name or time (level 6, gzip's default).

Two digests come out: ``digest`` (sha256 of the gzipped bytes: the layer blob the registry holds) and
``content_digest`` (sha256 of the uncompressed tar, the layer's "diff id"). The content digest is what a
program compares on every run: it needs no compression, which costs far more than reading and hashing
(about 20 ms per MiB of incompressible data here), and the same files always give the same tar.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import stat
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Archive", "PackContent", "build_archive", "pack_content"]

COMPRESS_LEVEL = 6

_FILE_MODE = 0o644

_EXECUTABLE_MODE = 0o755


@dataclass(frozen=True)
class PackContent:
    """What identifies a pack's files, computed without compressing."""

    content_digest: str
    """``sha256:<hex>`` of the uncompressed tar."""
    files: dict[str, str]
    """Path inside the pack (``/``-separated) -> sha256 hex of the file (a symlink: ``-> <target>``)."""


@dataclass(frozen=True)
class Archive:
    """The layer: gzipped tar bytes and their digests."""

    data: bytes = field(repr=False)
    digest: str
    """``sha256:<hex>`` of ``data``."""
    content_digest: str
    files: dict[str, str]

    @property
    def size(self) -> int:
        return len(self.data)


class _HashingSink:
    """A write-only file that hashes what is written and keeps it when asked to."""

    def __init__(self, keep: bool) -> None:
        self.hash = hashlib.sha256()
        self.buffer = io.BytesIO() if keep else None

    def write(self, data: bytes) -> int:
        self.hash.update(data)
        if self.buffer is not None:
            self.buffer.write(data)
        return len(data)


def _entries(directory: Path) -> Iterator[Path]:
    """Everything under ``directory``, sorted by name within each directory, parents first."""
    with os.scandir(directory) as scanned:
        children = sorted(scanned, key=lambda child: child.name.encode("utf-8", "surrogateescape"))
    for child in children:
        path = Path(child.path)
        yield path
        if child.is_dir(follow_symlinks=False):
            yield from _entries(path)


def _info(name: str, kind: bytes, mode: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = mode
    info.mtime = 0
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def _write_tar(directory: Path, sink: _HashingSink) -> dict[str, str]:
    files: dict[str, str] = {}
    top = directory.name
    with tarfile.open(fileobj=sink, mode="w|", format=tarfile.GNU_FORMAT) as tar:  # type: ignore[call-overload]
        tar.addfile(_info(top, tarfile.DIRTYPE, _EXECUTABLE_MODE))
        for path in _entries(directory):
            relative = path.relative_to(directory).as_posix()
            name = f"{top}/{relative}"
            mode = path.lstat().st_mode
            if stat.S_ISLNK(mode):
                info = _info(name, tarfile.SYMTYPE, 0o777)
                info.linkname = os.readlink(path)
                files[relative] = f"-> {info.linkname}"
                tar.addfile(info)
            elif stat.S_ISDIR(mode):
                tar.addfile(_info(name, tarfile.DIRTYPE, _EXECUTABLE_MODE))
            elif stat.S_ISREG(mode):
                content = path.read_bytes()
                info = _info(name, tarfile.REGTYPE, _EXECUTABLE_MODE if mode & 0o111 else _FILE_MODE)
                info.size = len(content)
                files[relative] = hashlib.sha256(content).hexdigest()
                tar.addfile(info, io.BytesIO(content))
            else:
                raise ValueError(f"{path} is neither a file, a directory nor a symlink")
    return files


def pack_content(directory: Path) -> PackContent:
    """The content digest and files map of ``directory`` (no compression: cheap enough for every run)."""
    sink = _HashingSink(keep=False)
    files = _write_tar(Path(directory), sink)
    return PackContent(content_digest=f"sha256:{sink.hash.hexdigest()}", files=files)


def build_archive(directory: Path) -> Archive:
    """The layer for ``directory``: the same files give the same bytes on any machine and checkout."""
    sink = _HashingSink(keep=True)
    files = _write_tar(Path(directory), sink)
    assert sink.buffer is not None
    compressed = io.BytesIO()
    # GzipFile writes the header itself: no file name, mtime 0 and OS "unknown" (255) on every platform
    # (gzip.compress leaves the header to zlib, whose OS byte depends on the platform zlib was built for).
    with gzip.GzipFile(filename="", mode="wb", compresslevel=COMPRESS_LEVEL, fileobj=compressed, mtime=0) as gz:
        gz.write(sink.buffer.getvalue())
    data = compressed.getvalue()
    return Archive(
        data=data,
        digest=f"sha256:{hashlib.sha256(data).hexdigest()}",
        content_digest=f"sha256:{sink.hash.hexdigest()}",
        files=files,
    )
