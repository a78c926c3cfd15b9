"""A values.yaml already read and accepted is not parsed again (components/packs/accepted_values.py): what a
no-change ``pulumi up`` of many packs saves; and a refusal, a changed document or another reader never takes
an earlier verdict."""

from __future__ import annotations

from pathlib import Path

import pytest

from components.config import values_yaml
from components.config.source import ConfigError
from components.kinds import OCI
from components.packs import accepted_values
from components.packs.directory import parse_packs
from tests.config.test_packs import copy_sample, raw_for


def _parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    seen: list[str] = []
    real = values_yaml.safe_load

    def counting(text: str) -> object:
        seen.append(text)
        return real(text)

    monkeypatch.setattr(values_yaml, "safe_load", counting)
    return seen


def test_an_accepted_document_is_not_parsed_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    copy_sample(tmp_path)
    parses = _parses(monkeypatch)
    parse_packs(raw_for(["packs/hello"]), tmp_path, OCI)
    assert len(parses) == 1
    parse_packs(raw_for(["packs/hello"]), tmp_path, OCI)
    assert len(parses) == 1, "the second check parsed values.yaml again"


def test_a_changed_document_is_parsed_and_judged_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pack = copy_sample(tmp_path)
    parse_packs(raw_for(["packs/hello"]), tmp_path, OCI)
    (pack / "values.yaml").write_text("- a list\n- not a mapping\n")
    with pytest.raises(ConfigError, match=r"values.yaml is not a YAML mapping"):
        parse_packs(raw_for(["packs/hello"]), tmp_path, OCI)


def test_a_refusal_is_never_remembered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, own_cache: Path) -> None:
    pack = copy_sample(tmp_path)
    (pack / "values.yaml").write_text("key: [unclosed\n")
    for _ in range(2):
        with pytest.raises(ConfigError, match=r"values.yaml is not valid YAML"):
            parse_packs(raw_for(["packs/hello"]), tmp_path, OCI)
    assert not any((own_cache / "accepted-values").glob("*"))


def test_another_reader_forgets_every_acceptance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    copy_sample(tmp_path)
    parse_packs(raw_for(["packs/hello"]), tmp_path, OCI)
    parses = _parses(monkeypatch)
    monkeypatch.setattr(accepted_values, "READER", accepted_values.READER + "-next")
    parse_packs(raw_for(["packs/hello"]), tmp_path, OCI)
    assert len(parses) == 1
    monkeypatch.setattr(accepted_values.yaml, "__version__", "0.0-other")
    parse_packs(raw_for(["packs/hello"]), tmp_path, OCI)
    assert len(parses) == 2


def test_a_cache_that_cannot_be_written_is_not_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder would be")
    monkeypatch.setenv("PALETTE_PACK_REGISTRY_CACHE", str(blocker))
    copy_sample(tmp_path)
    parses = _parses(monkeypatch)
    for _ in range(2):
        parse_packs(raw_for(["packs/hello"]), tmp_path, OCI)
    assert len(parses) == 2


def test_a_relative_cache_home_is_not_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``XDG_CACHE_HOME`` must be absolute (the XDG Base Directory spec: a relative one is invalid and ignored);
    nor is ``~`` when ``os.path.expanduser`` cannot find a home (no ``HOME`` and no passwd entry, as in a
    container run as an arbitrary uid, it returns ``~`` unchanged). Else the cache would be made under the working
    directory, which for ``pulumi up`` is the project: a stray ``~/`` or ``.cache/`` folder beside the code."""
    project = tmp_path / "project"
    project.mkdir()
    copy_sample(tmp_path)
    monkeypatch.chdir(project)
    monkeypatch.delenv("PALETTE_PACK_REGISTRY_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", "relative-cache")
    parse_packs(raw_for(["packs/hello"]), tmp_path, OCI)
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setattr(accepted_values.os.path, "expanduser", lambda path: path)
    parse_packs(raw_for(["packs/hello"]), tmp_path, OCI)
    assert list(project.iterdir()) == []


def test_an_entry_that_is_a_symlink_or_anothers_is_not_an_acceptance(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, own_cache: Path
) -> None:
    """Where the cache folder can be written by someone else (a shared ``XDG_CACHE_HOME``), an entry planted there
    must not pass a document unread, and remembering must not follow a planted symlink (``Path.touch`` opens
    with ``O_CREAT`` and follows it: it would create an empty file wherever the link points)."""
    pack = copy_sample(tmp_path)
    (pack / "values.yaml").write_text("- a list\n- not a mapping\n")
    text = (pack / "values.yaml").read_text(encoding="utf-8")
    entry = accepted_values._entry(text)
    assert entry is not None
    entry.parent.mkdir(parents=True)
    entry.symlink_to(pack / "pack.json")  # any file of the user's
    with pytest.raises(ConfigError, match=r"values.yaml is not a YAML mapping"):
        parse_packs(raw_for(["packs/hello"]), tmp_path, OCI)
    (pack / "values.yaml").write_text("key: value\n")
    entry = accepted_values._entry((pack / "values.yaml").read_text(encoding="utf-8"))
    assert entry is not None
    elsewhere = tmp_path / "planted-by-a-link"
    entry.symlink_to(elsewhere)
    parse_packs(raw_for(["packs/hello"]), tmp_path, OCI)
    assert not elsewhere.exists(), "remembering followed a symlink and created a file where it points"


def test_an_entry_owned_by_another_user_is_not_an_acceptance(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, own_cache: Path
) -> None:
    pack = copy_sample(tmp_path)
    (pack / "values.yaml").write_text("- a list\n- not a mapping\n")
    entry = accepted_values._entry((pack / "values.yaml").read_text(encoding="utf-8"))
    assert entry is not None
    entry.parent.mkdir(parents=True)
    entry.touch()
    monkeypatch.setattr(accepted_values.os, "getuid", lambda: entry.stat().st_uid + 1)
    with pytest.raises(ConfigError, match=r"values.yaml is not a YAML mapping"):
        parse_packs(raw_for(["packs/hello"]), tmp_path, OCI)


def test_a_changed_reader_module_forgets_every_acceptance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The verdict is ``components/config/values_yaml.py``'s (which documents it reads through libyaml and which
    again through the pure loader): a change there, even without ``READER`` raised by hand, reads every document
    again; so does another libyaml under the same PyYAML."""
    copy_sample(tmp_path)
    parse_packs(raw_for(["packs/hello"]), tmp_path, OCI)
    parses = _parses(monkeypatch)
    changed = tmp_path / "values_yaml.py"
    changed.write_text(Path(values_yaml.__file__).read_text(encoding="utf-8") + "\n# changed\n", encoding="utf-8")
    monkeypatch.setattr(values_yaml, "__file__", str(changed))
    parse_packs(raw_for(["packs/hello"]), tmp_path, OCI)
    assert len(parses) == 1, "a changed reader took an earlier acceptance"
    monkeypatch.setattr(accepted_values, "_libyaml_version", lambda: "0.0.0-other")
    parse_packs(raw_for(["packs/hello"]), tmp_path, OCI)
    assert len(parses) == 2, "another libyaml took an earlier acceptance"


def test_a_run_that_remembers_removes_entries_older_than_the_keep_days(
    tmp_path: Path, own_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The folder does not grow for ever: entries written more than KEEP_DAYS ago go when a run remembers a new
    document; a younger entry stays, and so does anything that is not the user's plain file named like an entry."""
    import os
    import time

    folder = own_cache / "accepted-values"
    folder.mkdir(parents=True)
    long_ago = time.time() - (accepted_values.KEEP_DAYS + 1) * 86400
    lately = time.time() - (accepted_values.KEEP_DAYS - 1) * 86400
    old, young, other = folder / ("a" * 64), folder / ("b" * 64), folder / "notes.txt"
    outside = tmp_path / "outside"
    link = folder / ("c" * 64)
    for path in (old, young, other, outside):
        path.write_text("")
    link.symlink_to(outside)
    for path, when in ((old, long_ago), (young, lately), (other, long_ago), (outside, long_ago)):
        os.utime(path, (when, when))
    os.utime(link, (long_ago, long_ago), follow_symlinks=False)
    copy_sample(tmp_path)
    parses = _parses(monkeypatch)

    parse_packs(raw_for(["packs/hello"]), tmp_path, OCI)

    assert len(parses) == 1
    assert not old.exists()
    assert young.exists() and other.exists() and link.is_symlink() and outside.exists()
    assert len([p for p in folder.iterdir() if p not in (young, other, link)]) == 1, "the new entry is written"


def test_a_folder_that_is_a_symlink_is_neither_written_nor_pruned(
    tmp_path: Path, own_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In a cache others can write to, ``accepted-values`` may be a link planted to a folder of the user's (an OCI
    layout's blobs/sha256 holds old files named like entries): nothing is created or removed there."""
    import os
    import time

    elsewhere = tmp_path / "blobs"
    elsewhere.mkdir()
    blob = elsewhere / ("d" * 64)
    blob.write_text("a layer")
    long_ago = time.time() - (accepted_values.KEEP_DAYS + 1) * 86400
    os.utime(blob, (long_ago, long_ago))
    own_cache.mkdir(parents=True, exist_ok=True)
    (own_cache / "accepted-values").symlink_to(elsewhere)
    copy_sample(tmp_path)
    parses = _parses(monkeypatch)

    parse_packs(raw_for(["packs/hello"]), tmp_path, OCI)

    assert len(parses) == 1
    assert sorted(elsewhere.iterdir()) == [blob], "a file was created or removed through the link"
