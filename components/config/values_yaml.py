"""A pack's ``values.yaml`` read as ``yaml.safe_load`` reads it, through libyaml wherever the two agree.

PyYAML's pure-Python loader is what the checks were written against, and its verdicts (and refusal messages)
are the ones reported; its C loader (``yaml.CSafeLoader``, libyaml) reads the same files about ten times
faster. The two share the constructor and the resolver, but libyaml's scanner and parser (0.2.5 and the later
one PyYAML's wheels bundle) accept some documents the pure loader refuses, or read them otherwise:

* a tab where the pure scanner allows only spaces: between tokens, after a value, in flow collections;
* a byte order mark that starts a line other than the first;
* a block scalar header followed by ``#`` without a space (``key: |# comment``);
* ``?`` inside a plain scalar in a flow collection, and a tag that ends at ``,`` there (libyaml #105, #179);
* the non-specific tag ``!`` on an empty value (``''`` where the pure loader gives ``None``);
* nesting deeper than the pure loader's recursion (it raises ``RecursionError``).

libyaml's reading is therefore used only for a document that holds none of these; every other document, and
every document libyaml refuses, is read again by the pure loader, whose reading or refusal is returned.
``tests/config/test_values_yaml.py`` holds the two to the same results over those cases and many mutated documents.
"""

from __future__ import annotations

import re
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode

__all__ = ["safe_load"]

_FAST_LOADER: type[Any] | None = getattr(yaml, "CSafeLoader", None)

_HEADER_THEN_COMMENT = re.compile(r"[|>][-+0-9]{0,2}#")
"""A block scalar header followed directly by '#' (over-approximated: '|#' anywhere)."""

MAX_DEPTH = 64
"""Deeper documents go to the pure loader, which recurses once per level."""

_STR = "tag:yaml.org,2002:str"


def _lexically_plain(text: str) -> bool:
    """No character or sequence on which libyaml's scanner is known to differ."""
    return "\t" not in text and text.find("\ufeff", 1) == -1 and _HEADER_THEN_COMMENT.search(text) is None


def _read_alike(text: str, root: Node) -> bool:
    """Whether the pure loader composes ``root`` alike: shallow enough, no '?' or '!' inside a flow
    collection, no empty value read as a string without quotes (the tag '!')."""
    tagged = "!" in text  # an empty value becomes a string only through a tag
    aliased = "*" in text  # without aliases no node is met twice
    if isinstance(root, ScalarNode):
        return not (tagged and _empty_string(root))
    stack: list[tuple[Node, int]] = [(root, 0)]
    seen: set[int] = set()
    while stack:
        node, depth = stack.pop()
        if aliased:
            if id(node) in seen:
                continue
            seen.add(id(node))
        if depth > MAX_DEPTH:
            return False
        if node.flow_style:
            # Flow collections hold only flow collections: the outermost one's source covers them all, and
            # its brackets bound their depth.
            span = text[node.start_mark.index : node.end_mark.index]
            if "?" in span or "!" in span or depth + span.count("[") + span.count("{") > MAX_DEPTH:
                return False
            continue
        children = [part for pair in node.value for part in pair] if isinstance(node, MappingNode) else node.value
        for child in children:
            if not isinstance(child, ScalarNode):
                stack.append((child, depth + 1))
            elif tagged and _empty_string(child):
                return False
    return True


def _empty_string(node: ScalarNode) -> bool:
    """An empty plain value with the string tag: libyaml's reading of ``!`` alone (the pure loader: None)."""
    return not node.style and not node.value and node.tag == _STR


def _fast_load(text: str) -> tuple[bool, Any]:
    """``(True, data)`` when libyaml reads ``text`` as the pure loader would, else ``(False, None)``."""
    assert _FAST_LOADER is not None
    loader = _FAST_LOADER(text)
    try:
        root = loader.get_single_node()
        if root is None:
            return True, None
        if not _read_alike(text, root):
            return False, None
        return True, loader.construct_document(root)
    except yaml.YAMLError:
        return False, None
    finally:
        loader.dispose()


def safe_load(text: str) -> Any:
    """``yaml.safe_load(text)``: the same data, or the same exception with the same message."""
    if _FAST_LOADER is not None and _lexically_plain(text):
        done, data = _fast_load(text)
        if done:
            return data
    return yaml.safe_load(text)
