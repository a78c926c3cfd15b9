"""The generated pack corpus: shaped like the 220 real packs it stands in for, and every pack accepted by the
program's own checks."""

from __future__ import annotations

import json
import os
import statistics
import struct
import zlib
from pathlib import Path

from components.config.source import Raw
from components.kinds import OCI
from components.packs.archive import pack_content
from components.packs.directory import parse_packs
from components.project import declared_config
from tests.support.pack_corpus import values_line_counts, write_corpus


def raw_for(packs: list[Path]) -> Raw:
    return Raw(lambda key: json.dumps([str(p) for p in packs]) if key == "packs" else None, declared_config())


def png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """The chunks of a PNG, each CRC checked."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks, at = [], 8
    while at < len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        kind, body = data[at + 4 : at + 8], data[at + 8 : at + 8 + length]
        assert struct.unpack(">I", data[at + 8 + length : at + 12 + length])[0] == zlib.crc32(kind + body)
        chunks.append((kind, body))
        at += 12 + length
    return chunks


def test_every_generated_pack_passes_the_programs_pack_checks(pack_corpus: list[Path]) -> None:
    sources, warnings = parse_packs(raw_for(pack_corpus), None, OCI)

    assert [source.directory for source in sources] == pack_corpus
    assert warnings == []
    assert len({(source.name, source.version) for source in sources}) == 220


def test_the_corpus_is_shaped_like_the_measured_packs(pack_corpus: list[Path]) -> None:
    lines = [len((pack / "values.yaml").read_text().splitlines()) for pack in pack_corpus]
    files = [sum(len(names) for _, _, names in os.walk(pack)) for pack in pack_corpus]

    # Measured: 11,185 files; values.yaml 66,886 lines in all, median 160, largest 5,697.
    assert 60_000 <= sum(lines) <= 75_000
    assert 150 <= statistics.median(lines) <= 170
    assert 5_000 <= max(lines) <= 6_500
    assert sum(count > 2_000 for count in lines) >= 3
    assert 10_000 <= sum(files) <= 12_500
    charts = [pack for pack in pack_corpus if (pack / "charts").is_dir()]
    assert 0.4 < len(charts) / len(pack_corpus) < 0.6
    assert any(len(f"{p.name}/{q.relative_to(p)}".encode()) > 100 for p in charts for q in p.rglob("*"))
    assert sorted(lines) == values_line_counts(220)


def test_each_logo_is_a_valid_png(pack_corpus: list[Path]) -> None:
    for pack in pack_corpus[:20]:
        chunks = dict(png_chunks((pack / "logo.png").read_bytes()))
        width, height, depth, colour = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
        assert (depth, colour) == (8, 2)
        assert len(zlib.decompress(chunks[b"IDAT"])) == height * (1 + 3 * width)
        assert b"IEND" in chunks


def test_the_same_arguments_write_the_same_bytes_and_another_seed_other_packs(tmp_path: Path) -> None:
    first = write_corpus(tmp_path / "one", packs=6, seed=7)
    again = write_corpus(tmp_path / "two", packs=6, seed=7)
    other = write_corpus(tmp_path / "three", packs=6, seed=8)

    assert [p.name for p in first] == [p.name for p in again]
    assert [pack_content(p) for p in first] == [pack_content(p) for p in again]
    assert [pack_content(p).content_digest for p in other] != [pack_content(p).content_digest for p in first]
