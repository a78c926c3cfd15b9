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
