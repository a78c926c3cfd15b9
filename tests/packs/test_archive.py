"""The pack layer: what `tar -czf NAME-VERSION.tar.gz DIR` gives, and the same bytes for the same files."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import stat
import subprocess
import tarfile
from pathlib import Path

import pytest

from components.packs.archive import _short_headers_agree, build_archive, pack_content
from tests.support.pack_corpus import write_corpus
from tests.support.paths import SAMPLE_PACK

# Path inside the pack -> (content, executable); directories follow from the paths.
FILES: dict[str, tuple[bytes, bool]] = {
    "pack.json": (b'{"name": "hello-universe", "version": "1.0.0"}\n', False),
    "values.yaml": (b"", False),
    "logo.png": (bytes(range(256)) * 4, False),
    "manifests/b.yaml": (b"kind: ConfigMap\n", False),
    "manifests/a.yaml": (b"kind: Namespace\n", False),
    "manifests/sub/z.yaml": (b"kind: Secret\n", False),
    "scripts/run.sh": (b"#!/bin/sh\necho hi\n", True),
}


def make_pack(root: Path, order: list[str], umask: int, mtime: int) -> Path:
    """The pack in ``root/hello-universe``, its files created in ``order`` under ``umask``, all at ``mtime``."""
    pack = root / "hello-universe"
    previous = os.umask(umask)
    try:
        for relative in order:
            content, executable = FILES[relative]
            path = pack / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
            if executable:
                path.chmod(0o777 & ~umask)
        (pack / "empty").mkdir(exist_ok=True)
    finally:
        os.umask(previous)
    for path in [*pack.rglob("*"), pack]:
        os.utime(path, (mtime, mtime), follow_symlinks=False)
    return pack


def test_the_same_files_give_the_same_bytes_whatever_mtime_umask_and_creation_order(tmp_path: Path) -> None:
    order = sorted(FILES)
    first = make_pack(tmp_path / "one", order, umask=0o022, mtime=1_000_000_000)
    second = make_pack(tmp_path / "two", list(reversed(order)), umask=0o077, mtime=1_700_000_000)
    assert (first / "pack.json").stat().st_mode != (second / "pack.json").stat().st_mode

    one, two = build_archive(first), build_archive(second)

    assert one.data == two.data
    assert one.digest == two.digest == f"sha256:{hashlib.sha256(one.data).hexdigest()}"
    assert one.content_digest == two.content_digest
    assert one.files == two.files


def test_a_changed_file_changes_the_digests_and_its_entry_only(tmp_path: Path) -> None:
    pack = make_pack(tmp_path, sorted(FILES), umask=0o022, mtime=0)
    before = build_archive(pack)
    (pack / "manifests" / "a.yaml").write_bytes(b"kind: Namespace\nmetadata: {}\n")

    after = build_archive(pack)

    assert after.digest != before.digest and after.content_digest != before.content_digest
    assert {k for k in after.files if after.files[k] != before.files[k]} == {"manifests/a.yaml"}


def test_a_mode_change_to_executable_changes_the_content_digest(tmp_path: Path) -> None:
    pack = make_pack(tmp_path, sorted(FILES), umask=0o022, mtime=0)
    before = pack_content(pack)
    (pack / "values.yaml").chmod(0o755)

    assert pack_content(pack).content_digest != before.content_digest


def test_pack_content_matches_the_archive_without_compressing(tmp_path: Path) -> None:
    pack = make_pack(tmp_path, sorted(FILES), umask=0o022, mtime=0)
    archive = build_archive(pack)

    content = pack_content(pack)

    assert content.content_digest == archive.content_digest
    assert content.files == archive.files
    assert content.content_digest == f"sha256:{hashlib.sha256(gzip.decompress(archive.data)).hexdigest()}"


def test_the_files_map_has_every_file_and_its_sha256(tmp_path: Path) -> None:
    pack = make_pack(tmp_path, sorted(FILES), umask=0o022, mtime=0)

    files = build_archive(pack).files

    assert files == {path: hashlib.sha256(content).hexdigest() for path, (content, _) in FILES.items()}


def test_the_gzip_header_has_no_name_and_no_time(tmp_path: Path) -> None:
    data = build_archive(make_pack(tmp_path, sorted(FILES), umask=0o022, mtime=1_600_000_000)).data

    # RFC 1952: ID1 ID2 CM FLG MTIME(4) XFL OS; FLG 0 means no FNAME, no comment, no extra field.
    assert data[:4] == b"\x1f\x8b\x08\x00"
    assert data[4:8] == b"\x00\x00\x00\x00"
    assert data[9] == 255


def test_gnu_tar_lists_one_top_level_folder_sorted_with_normalised_owners_modes_and_times(tmp_path: Path) -> None:
    pack = make_pack(tmp_path / "src", list(reversed(sorted(FILES))), umask=0o027, mtime=1_650_000_000)
    os.symlink("a.yaml", pack / "manifests" / "link.yaml")
    layer = tmp_path / "hello-universe-1.0.0.tar.gz"
    layer.write_bytes(build_archive(pack).data)

    listing = subprocess.run(
        ["tar", "-tzvf", str(layer), "--numeric-owner", "--full-time"],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "TZ": "UTC", "LC_ALL": "C"},
    ).stdout.splitlines()

    rows = [line.split() for line in listing]
    names = [row[5] for row in rows]
    assert names == [
        "hello-universe/",
        "hello-universe/empty/",
        "hello-universe/logo.png",
        "hello-universe/manifests/",
        "hello-universe/manifests/a.yaml",
        "hello-universe/manifests/b.yaml",
        "hello-universe/manifests/link.yaml",
        "hello-universe/manifests/sub/",
        "hello-universe/manifests/sub/z.yaml",
        "hello-universe/pack.json",
        "hello-universe/scripts/",
        "hello-universe/scripts/run.sh",
        "hello-universe/values.yaml",
    ]
    modes = dict(zip(names, (row[0] for row in rows), strict=True))
    assert modes["hello-universe/"] == "drwxr-xr-x"
    assert modes["hello-universe/manifests/sub/"] == "drwxr-xr-x"
    assert modes["hello-universe/pack.json"] == "-rw-r--r--"
    assert modes["hello-universe/scripts/run.sh"] == "-rwxr-xr-x"
    assert modes["hello-universe/manifests/link.yaml"] == "lrwxrwxrwx"
    assert rows[6][-2:] == ["->", "a.yaml"]
    assert {row[1] for row in rows} == {"0/0"}
    assert {(row[3], row[4]) for row in rows} == {("1970-01-01", "00:00:00")}


def test_gnu_tar_extracts_the_sample_pack_as_it_is(tmp_path: Path) -> None:
    layer = tmp_path / "hello-universe-1.0.0.tar.gz"
    layer.write_bytes(build_archive(SAMPLE_PACK).data)
    out = tmp_path / "out"
    out.mkdir()

    subprocess.run(["tar", "-xzf", str(layer), "-C", str(out)], check=True)

    extracted = {p.relative_to(out / "hello-universe").as_posix() for p in (out / "hello-universe").rglob("*")}
    original = {p.relative_to(SAMPLE_PACK).as_posix() for p in SAMPLE_PACK.rglob("*")}
    assert extracted == original
    for relative in original:
        if (SAMPLE_PACK / relative).is_file():
            assert (out / "hello-universe" / relative).read_bytes() == (SAMPLE_PACK / relative).read_bytes()


def tarfile_reference(directory: Path) -> bytes:
    """The uncompressed layer as ``tarfile`` writes it entry by entry (``w|``, GNU format, ``addfile``): what
    ``pack_archive`` wrote before it built the headers and padding itself."""

    def info(name: str, kind: bytes, mode: int) -> tarfile.TarInfo:
        entry = tarfile.TarInfo(name)
        entry.type, entry.mode, entry.mtime, entry.uid, entry.gid, entry.uname, entry.gname = (
            kind,
            mode,
            0,
            0,
            0,
            "",
            "",
        )
        return entry

    def entries(folder: Path) -> list[Path]:
        children = sorted(folder.iterdir(), key=lambda child: child.name.encode("utf-8", "surrogateescape"))
        return [
            found
            for child in children
            for found in [child, *(entries(child) if child.is_dir() and not child.is_symlink() else [])]
        ]

    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.GNU_FORMAT) as tar:
        tar.addfile(info(directory.name, tarfile.DIRTYPE, 0o755))
        for path in entries(directory):
            name = f"{directory.name}/{path.relative_to(directory).as_posix()}"
            mode = path.lstat().st_mode
            if stat.S_ISLNK(mode):
                link = info(name, tarfile.SYMTYPE, 0o777)
                link.linkname = os.readlink(path)
                tar.addfile(link)
            elif stat.S_ISDIR(mode):
                tar.addfile(info(name, tarfile.DIRTYPE, 0o755))
            else:
                content = path.read_bytes()
                entry = info(name, tarfile.REGTYPE, 0o755 if mode & 0o111 else 0o644)
                entry.size = len(content)
                tar.addfile(entry, io.BytesIO(content))
    return out.getvalue()


def awkward_pack(root: Path) -> Path:
    """Names past tar's 100-byte fields (GNU long names and long links), non-ASCII names, empty and
    block-sized files, an empty directory, an executable, symlinks."""
    pack = root / "édge-pack"
    deep = pack / ("d" * 120) / "sub"
    deep.mkdir(parents=True)
    (deep / ("f" * 130 + ".yaml")).write_text("x" * 512)
    (pack / ("n" * 89)).write_text("a name of exactly 100 bytes inside the layer")
    (pack / ("m" * 88)).mkdir()  # with the trailing '/' a directory name of exactly 100 bytes
    (pack / "ünïcödé-名前.yaml").write_text("a: 1\n")
    (pack / "empty.txt").write_bytes(b"")
    (pack / "block").write_bytes(b"a" * 512)
    (pack / "record").write_bytes(b"b" * 10240)
    (pack / "odd").write_bytes(os.urandom(70_001))
    (pack / "run.sh").write_text("#!/bin/sh\n")
    (pack / "run.sh").chmod(0o755)
    (pack / "emptydir").mkdir()
    os.symlink("run.sh", pack / "link")
    os.symlink("../" * 3 + "x" * 120, pack / "longlink")
    return pack


@pytest.mark.parametrize("layout", ["sample", "awkward", "corpus"])
def test_the_layer_is_what_tarfile_writes_entry_by_entry(tmp_path: Path, layout: str) -> None:
    if layout == "sample":
        packs = [SAMPLE_PACK]
    elif layout == "awkward":
        packs = [awkward_pack(tmp_path)]
    else:
        packs = write_corpus(tmp_path, packs=8, seed=3)

    for pack in packs:
        reference = tarfile_reference(pack)
        archive = build_archive(pack)
        assert gzip.decompress(archive.data) == reference, pack.name
        assert pack_content(pack).content_digest == f"sha256:{hashlib.sha256(reference).hexdigest()}", pack.name


def test_this_pythons_tarfile_lays_out_headers_as_the_archive_builds_them() -> None:
    # Otherwise every header goes through tarfile: the same bytes, at about twice the cost per run.
    assert _short_headers_agree()


def test_the_sample_pack_keeps_the_content_digest_earlier_releases_pushed_it_with() -> None:
    # A new digest for the same files would push every pack of every stack again.
    assert pack_content(SAMPLE_PACK).content_digest == (
        "sha256:3de8d8b5f759bca8b1507c0e0c125d77665345bf0be094b02a9b9abdeabb368e"
    )
