"""The repository's documents hold together: every relative link leads somewhere, nothing cites outside it."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from tests.support.paths import ROOT

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")

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


def links(text: str) -> list[str]:
    """The targets of the Markdown links in ``text``, outside fenced code blocks and inline code."""
    prose = re.sub(r"^```.*?^```", "", text, flags=re.MULTILINE | re.DOTALL)
    prose = re.sub(r"`[^`\n]*`", "", prose)
    return LINK.findall(prose)


def anchors(text: str) -> set[str]:
    """The anchors GitHub gives the headings of ``text``: lower case, punctuation dropped, spaces as hyphens, and
    ``-1``, ``-2`` ... after a repeated one (github/cmark-gfm's ``anchor`` rules, as github.com renders them)."""
    prose = re.sub(r"^```.*?^```", "", text, flags=re.MULTILINE | re.DOTALL)
    found: set[str] = set()
    for heading in re.findall(r"^#{1,6} (.+?)\s*$", prose, flags=re.MULTILINE):
        anchor = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
        unique, count = anchor, 0
        while unique in found:
            count += 1
            unique = f"{anchor}-{count}"
        found.add(unique)
    return found


def broken_links(page: Path, root: Path = ROOT) -> list[str]:
    """Each relative link of ``page`` whose file is missing or outside ``root``, or whose anchor is not a heading
    of its target."""
    broken = []
    for target in links(page.read_text()):
        if re.match(r"^[a-z]+:", target):
            continue  # https:, mailto: ... are not checked here
        path, _, anchor = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        if not resolved.is_relative_to(root):
            broken.append(f"{target}: outside the repository")
        elif not resolved.exists():
            broken.append(f"{target}: no such file")
        elif anchor and (resolved.suffix != ".md" or anchor not in anchors(resolved.read_text())):
            broken.append(f"{target}: no heading with that anchor")
    return broken


def test_every_relative_link_in_the_readme_and_docs_leads_to_a_file_and_heading() -> None:
    assert len(PAGES) >= 10, PAGES
    broken = {str(page.relative_to(ROOT)): broken_links(page) for page in PAGES}
    assert {page: found for page, found in broken.items() if found} == {}
    assert sum(len(links(page.read_text())) for page in PAGES) >= 50


def test_the_readme_leads_to_every_docs_page() -> None:
    linked = {(ROOT / target.partition("#")[0]).resolve() for target in links((ROOT / "README.md").read_text())}
    assert [page.name for page in PAGES[1:] if page not in linked] == []


def test_the_link_check_finds_a_missing_file_a_missing_heading_and_a_way_out(tmp_path: Path) -> None:
    root = tmp_path / "repository"
    (root / "docs").mkdir(parents=True)
    for name in ("README.md", "Pulumi.yaml", "docs/configuration.md"):
        (root / name).write_text((ROOT / name).read_text())
    page = root / "docs" / "page.md"
    text = (
        "# A page\n\n## What one `pulumi up` does\n\n## Repeated\n\n## Repeated\n\n"
        "[ok](#what-one-pulumi-up-does) [ok](#repeated-1) [ok](configuration.md#every-key) [ok](../README.md)\n"
        "[web](https://example.com/x#y) `[in code](nowhere.md)`\n```\n[in a block](nowhere.md)\n```\n"
        "[a](nowhere.md) [b](configuration.md#no-such-key) [c](#repeated-2) [d](../../outside.md)\n"
        "[e](../Pulumi.yaml#x)\n"
    )
    (tmp_path / "outside.md").write_text("# Outside\n")
    page.write_text(text)
    assert broken_links(page, root) == [
        "nowhere.md: no such file",
        "configuration.md#no-such-key: no heading with that anchor",
        "#repeated-2: no heading with that anchor",
        "../../outside.md: outside the repository",
        "../Pulumi.yaml#x: no heading with that anchor",
    ]
