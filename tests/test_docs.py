"""The repository's documents hold together: nothing cites a file outside the repository."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Folders and notes that exist on the machines the project was written on, never in a clone. This file names
# them, so it is the one file the check leaves out.
OUTSIDE = re.compile(r"shared/palette|shared/registry|\.\./shared|(?<![\w.])/work/|(?<![\w.])/root/")
OUTSIDE_NOTES = ("CONTRACT.md", "FACTS.md", "COMMON.md", "STYLE.md", "pack-registry-openapi.json",
                 "oci-registry-openapi.json", "packs-openapi.json")  # fmt: skip


def tracked_files() -> list[Path]:
    """Every file git tracks in the repository (what a fresh clone holds)."""
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    return [ROOT / name for name in listed.decode().split("\0") if name]


def text_of(path: Path) -> str | None:
    """The file's text, or None for a binary file (or a symlink to a folder)."""
    try:
        data = path.read_bytes()
    except (IsADirectoryError, FileNotFoundError):
        return None
    if b"\0" in data:
        return None
    return data.decode("utf-8", errors="replace")


def outside_citations(path: Path, text: str, names: set[str]) -> list[str]:
    """``path:line: text`` for each line of ``text`` that cites a path or note outside the repository."""
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        notes = [note for note in OUTSIDE_NOTES if note in line and note not in names]
        if OUTSIDE.search(line) or notes:
            found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    return found


def test_no_tracked_file_cites_a_path_outside_the_repository() -> None:
    files = tracked_files()
    assert ROOT / "README.md" in files and ROOT / "Pulumi.yaml" in files, files[:5]
    names = {path.name for path in files}
    this = Path(__file__).resolve()
    found = []
    for path in files:
        text = text_of(path)
        if text is not None and path.resolve() != this:
            found += outside_citations(path, text, names)
    assert found == [], "cite docs/ or the upstream source instead:\n" + "\n".join(found)


def test_the_citation_check_finds_what_it_looks_for() -> None:
    """The check above finds each form a citation outside the repository takes (and passes the repository)."""
    readme = ROOT / "README.md"
    cited = [
        "see shared/registry/FACTS.md",
        "``shared/palette/oci-registry-openapi.json``",
        "../shared/palette",
        "/work/notes/helper-common.md",
        "/root/go/pkg/mod/github.com/pulumi/pulumi",
        '(CONTRACT.md "Sync")',
        "(STYLE.md, config)",
    ]
    for line in cited:
        assert outside_citations(readme, line, {"README.md"}), line
    assert outside_citations(readme, "docs/palette-api.md and tests/work/x.py, $HOME/root/y", {"README.md"}) == []
    assert outside_citations(readme, "see STYLE.md", {"STYLE.md"}) == []
