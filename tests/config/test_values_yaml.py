"""values.yaml read through libyaml where it agrees with PyYAML's pure loader: the pure loader's results,
every refusal message included, at libyaml's speed for ordinary files."""

from __future__ import annotations

import contextlib
import random
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.config import values_yaml
from tests.support.paths import SAMPLE_PACK

# Documents on which libyaml alone reads otherwise than the pure loader (values_yaml's module docstring).
DIVERGENT = {
    "tab after a value": "a: b\t# c\n",
    "tab before a colon": "a\t: b\n",
    "tab after a colon": "a:\tb\n",
    "tab inside a plain scalar": "a: b\tc\n",
    "tab in a flow sequence": "a: [1,\t2]\n",
    "byte order mark starting a later line": "a: b\n\ufeffc: d\n",
    "block scalar header then '#'": "a: |# note\n  x\n",
    "folded header with chomping then '#'": "a: >-#\n  x\n",
    "'?' in a flow plain scalar": "a: [http://x?y=1]\n",
    "'?' in a flow mapping key": "a: {b?: c}\n",
    "tag ending at ',' in a flow sequence": "a: [!!str, x]\n",
    "non-specific tag on an empty document": "!\n",
    "YAML 1.3 directive": "%YAML 1.3\n---\na: b\n",
    "escaped surrogate": 'a: "\\ud800"\n',
}

# Documents both read alike, kept on the fast path or sent back to the pure loader for the message.
ALIKE = {
    "empty": "",
    "comment only": "# nothing\n",
    "mapping": "a: 1\nb: [x, y]\nc: {d: e}\n",
    "anchors and merge": "base: &b {x: 1}\nderived:\n  <<: *b\n  y: 2\n",
    "recursive alias": "a: &x [*x]\n",
    "block scalars": "a: |\n  one\n  two\nb: >-\n  folded\n  text\n",
    "explicit str on an empty value": "a: !!str\n",
    "a list": "- a\n- b\n",
    "a set": "!!set {a, b}\n",
    "unclosed flow sequence": "pack: [unclosed\n",
    "undefined alias": "a: *nowhere\n",
    "duplicate anchor": "a: &x 1\nb: &x 2\n",
    "unknown tag": "a: !thing 1\n",
    "two documents": "a: 1\n---\nb: 2\n",
    "control character": "a: \x07\n",
    "byte order mark first": "\ufeffa: b\n",
    "flow nested 300 deep": "a: " + "[" * 300 + "]" * 300 + "\n",
}


def read(load: Any, text: str) -> tuple[str, Any]:
    """What a loader gives: ("ok", the data's repr and type) or the exception's type and message."""
    try:
        data = load(text)
    except Exception as error:  # what the checks let through (IndexError, ValueError, RecursionError) counts too
        return type(error).__name__, str(error)
    return "ok", (type(data).__name__, repr(data))


def libyaml(text: str) -> Any:
    return yaml.load(text, Loader=yaml.CSafeLoader)


@pytest.mark.parametrize("text", DIVERGENT.values(), ids=DIVERGENT.keys())
def test_where_libyaml_reads_otherwise_the_pure_loaders_reading_is_returned(text: str) -> None:
    assert read(libyaml, text) != read(yaml.safe_load, text), "libyaml now agrees: the case tests nothing"

    assert read(values_yaml.safe_load, text) == read(yaml.safe_load, text)


@pytest.mark.parametrize("text", ALIKE.values(), ids=ALIKE.keys())
def test_documents_read_alike_give_the_pure_loaders_data_or_refusal(text: str) -> None:
    assert read(values_yaml.safe_load, text) == read(yaml.safe_load, text)


@pytest.mark.parametrize("style", ["flow", "block"])
def test_nesting_deeper_than_the_pure_loader_reaches_is_left_to_it(style: str) -> None:
    # libyaml reads 700 levels; the pure loader's recursion gives up first.
    if style == "flow":
        text = "a: " + "[" * 700 + "]" * 700 + "\n"
    else:
        text = "a:\n" + "".join("  " * level + "- \n" for level in range(1, 700))
    assert read(libyaml, text)[0] == "ok"

    assert read(values_yaml.safe_load, text)[0] == read(yaml.safe_load, text)[0] == "RecursionError"


TOKENS = [
    *("a", "key", "1", "~", "null", ".inf", "2001-01-01", "2001-02-30", "0x1", "é", "\U0001f600", "\u00a0"),
    *(":", ": ", " ", "  ", "\n", "\n  ", "\r\n", "\r", "\x85", "\u2028", "\t", "\ufeff", "\x07"),
    *("- ", "-", "?", "? ", "[", "]", "{", "}", ",", "#", " #", "&x ", "*x", "<<: *x", "!", "! ", "!!str "),
    *("!!set ", "!!binary ", "!!int ", "!x ", "!<tag:x> ", "'", '"', "|", ">", "|-", ">+", "|2", "\\", "@", "`"),
    *("%YAML 1.1\n", "%TAG ! !x\n", "---", "...", "x:y", "::", "?:", "\\t", "\\x41", "\\ud800"),
]


def mutants(seeds: list[str], count: int) -> list[str]:
    """``count`` documents: token soup and seeds with a few tokens inserted, removed or overwritten."""
    rng = random.Random(20240607)
    documents = []
    for index in range(count):
        if index % 2:
            documents.append("".join(rng.choice(TOKENS) for _ in range(rng.randrange(1, 30))))
            continue
        text = rng.choice(seeds)
        for _ in range(rng.randrange(1, 5)):
            at, token = rng.randrange(len(text) + 1), rng.choice(TOKENS)
            operation = rng.randrange(3)
            if operation == 0:
                text = text[:at] + token + text[at:]
            elif operation == 1:
                text = text[:at] + text[at + rng.randrange(1, 6) :]
            else:
                text = text[:at] + token + text[at + len(token) :]
        documents.append(text)
    return documents


def took_the_fast_path(text: str) -> bool:
    with contextlib.suppress(Exception):  # an exception means the pure loader had the last word
        return values_yaml._lexically_plain(text) and values_yaml._fast_load(text)[0]
    return False


def test_thousands_of_mutated_documents_read_as_the_pure_loader_reads_them(pack_corpus: list[Path]) -> None:
    seeds = [(pack / "values.yaml").read_text()[:1500] for pack in pack_corpus[:40]]
    seeds += [(SAMPLE_PACK / "values.yaml").read_text(), *ALIKE.values()]
    fast = 0
    for text in mutants(seeds, 3000):
        assert read(values_yaml.safe_load, text) == read(yaml.safe_load, text), repr(text)
        fast += took_the_fast_path(text)
    assert fast > 300, "the fast path is barely taken: the comparison proves little"


def test_every_generated_and_sample_values_file_takes_the_fast_path(pack_corpus: list[Path]) -> None:
    paths = [SAMPLE_PACK / "values.yaml", *(pack / "values.yaml" for pack in pack_corpus)]
    for index, path in enumerate(paths):
        text = path.read_text()
        assert values_yaml._lexically_plain(text), path
        done, data = values_yaml._fast_load(text)
        assert done, path
        if index % 10 == 0:  # the pure loader takes ten times as long: a sample suffices
            assert data == yaml.safe_load(text), path
