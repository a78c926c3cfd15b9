"""A pack directory as the layer Palette downloads: a gzipped tar, byte for byte reproducible.

The layout is what ``tar -czf NAME-VERSION.tar.gz DIR`` run in the directory's parent gives: one top-level
folder named like the directory, then everything in it that is part of the pack (``walker``: no VCS or OS
metadata, no editor backups, nothing ``.packignore`` leaves out). What would make two checkouts of the same files
differ is fixed: entries sorted by name (depth first, as ``tar --sort=name``), every mtime 0, uid and gid 0
without owner names, modes 0644 for files and 0755 for directories and executables, GNU tar format, and a
gzip header without a file name or time (level 6, gzip's default).

Two digests come out: ``digest`` (sha256 of the gzipped bytes: the layer blob the registry holds) and
``content_digest`` (sha256 of the uncompressed tar, the layer's "diff id"). The content digest is what a
program compares on every run: it needs no compression, which costs far more than reading and hashing
(about 20 ms per MiB of incompressible data here), and the same files always give the same tar.

The tar is produced piece by piece and hashed as it goes (``pack_content`` keeps no archive); its bytes are
what ``tarfile`` writes entry by entry, but the common headers are built directly: ``tarfile``'s per-entry
work was most of a run's cost for packs of many small files (11k files: 0.65 s down to 0.28 s).
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import io
import os
import stat
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from components.packs.walker import walk

__all__ = ["Archive", "PackContent", "build_archive", "pack_content"]

COMPRESS_LEVEL = 6

_FILE_MODE = 0o644

_EXECUTABLE_MODE = 0o755

_ZEROS = bytes(tarfile.BLOCKSIZE)


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


def _tarfile_header(name: str, kind: bytes, mode: int, size: int, linkname: str) -> bytes:
    """The header block(s) ``TarFile(format=GNU_FORMAT)`` writes for this entry (``TarInfo.tobuf``)."""
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = mode
    info.size = size
    info.linkname = linkname
    info.mtime = 0
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info.tobuf(tarfile.GNU_FORMAT, tarfile.ENCODING, "surrogateescape")


# After the link name: the magic, empty owner names, device numbers and prefix, and the block's zero padding.
_GNU_TAIL = tarfile.GNU_MAGIC + bytes(32 + 32 + 8 + 8 + 155 + 12)


def _short_header(name: bytes, kind: bytes, mode: int, size: int, linkname: bytes) -> bytes:
    """One 512-byte GNU header, as ``tarfile`` lays it out, for names and link names of at most 100 bytes."""
    block = b"".join(
        (
            name.ljust(100, b"\0"),
            b"%07o\0%07o\0%07o\0" % (mode, 0, 0),  # mode, uid, gid
            b"%011o\0%011o\0" % (size, 0),  # size, mtime
            b"        ",  # the checksum field counts as spaces
            kind,
            linkname.ljust(100, b"\0"),
            _GNU_TAIL,
        )
    )
    return b"%s%06o\0%s" % (block[:148], sum(block), block[155:])


@functools.cache
def _short_headers_agree() -> bool:
    """Whether ``_short_header`` gives this Python's ``tarfile`` bytes (checked once; otherwise tarfile writes
    every header)."""
    samples = (
        ("p/", tarfile.DIRTYPE, _EXECUTABLE_MODE, 0, ""),
        ("p/a", tarfile.REGTYPE, _FILE_MODE, 1234, ""),
        ("p/l", tarfile.SYMTYPE, 0o777, 0, "a"),
    )
    return all(
        _short_header(n.encode(), k, m, s, ln.encode()) == _tarfile_header(n, k, m, s, ln) for n, k, m, s, ln in samples
    )


def _header(name: str, kind: bytes, mode: int, size: int = 0, linkname: str = "") -> bytes:
    """The header block(s) ``TarFile(format=GNU_FORMAT)`` writes for this entry: built directly in the common
    case (a third of the cost), by ``tarfile`` itself for long names, huge files or another layout."""
    full = f"{name}/" if kind == tarfile.DIRTYPE and not name.endswith("/") else name
    encoded = full.encode(tarfile.ENCODING, "surrogateescape")
    link = linkname.encode(tarfile.ENCODING, "surrogateescape")
    if len(encoded) <= 100 and len(link) <= 100 and size < 8**11 and _short_headers_agree():
        return _short_header(encoded, kind, mode, size, link)
    return _tarfile_header(name, kind, mode, size, linkname)


def _tar_chunks(directory: Path, files: dict[str, str]) -> Iterator[bytes]:
    """The uncompressed tar of ``directory``, piece by piece, byte for byte what ``tarfile`` in ``w|`` mode
    writes when each entry is added with ``addfile`` (header, data, zero padding to 512 bytes; two zero blocks
    and zeros up to a 10240-byte record at the end), without its per-entry bookkeeping. Fills ``files``."""
    top = directory.name
    written = 0
    header = _header(top, tarfile.DIRTYPE, _EXECUTABLE_MODE)
    written += len(header)
    yield header
    for path, relative, status in walk(str(directory)):
        name = f"{top}/{relative}"
        mode = status.st_mode
        if stat.S_ISLNK(mode):
            linkname = os.readlink(path)
            files[relative] = f"-> {linkname}"
            header = _header(name, tarfile.SYMTYPE, 0o777, linkname=linkname)
        elif stat.S_ISDIR(mode):
            header = _header(name, tarfile.DIRTYPE, _EXECUTABLE_MODE)
        elif stat.S_ISREG(mode):
            with open(path, "rb") as handle:
                content = handle.read()
            files[relative] = hashlib.sha256(content).hexdigest()
            header = _header(name, tarfile.REGTYPE, _EXECUTABLE_MODE if mode & 0o111 else _FILE_MODE, len(content))
            padding = -len(content) % tarfile.BLOCKSIZE
            written += len(header) + len(content) + padding
            yield header
            yield content
            if padding:
                yield _ZEROS[:padding]
            continue
        else:
            raise ValueError(f"{Path(path)} is neither a file, a directory nor a symlink")
        written += len(header)
        yield header
    end = 2 * tarfile.BLOCKSIZE
    written += end
    yield bytes(end + -written % tarfile.RECORDSIZE)


def pack_content(directory: Path) -> PackContent:
    """The content digest and files map of ``directory`` (no compression, no archive kept: cheap enough for
    every run)."""
    files: dict[str, str] = {}
    digest = hashlib.sha256()
    for chunk in _tar_chunks(Path(directory), files):
        digest.update(chunk)
    return PackContent(content_digest=f"sha256:{digest.hexdigest()}", files=files)


def build_archive(directory: Path) -> Archive:
    """The layer for ``directory``: the same files give the same bytes on any machine and checkout."""
    files: dict[str, str] = {}
    tar = b"".join(_tar_chunks(Path(directory), files))
    compressed = io.BytesIO()
    # GzipFile writes the header itself: no file name, mtime 0 and OS "unknown" (255) on every platform
    # (gzip.compress leaves the header to zlib, whose OS byte depends on the platform zlib was built for).
    with gzip.GzipFile(filename="", mode="wb", compresslevel=COMPRESS_LEVEL, fileobj=compressed, mtime=0) as gz:
        gz.write(tar)
    data = compressed.getvalue()
    return Archive(
        data=data,
        digest=f"sha256:{hashlib.sha256(data).hexdigest()}",
        content_digest=f"sha256:{hashlib.sha256(tar).hexdigest()}",
        files=files,
    )
