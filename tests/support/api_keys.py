"""Palette API keys as people paste them: the one table every layer that reads a key is tested with.

The client (components/palette/access.py) owns the rule: surrounding whitespace is stripped (a key read
from a file or a CI variable often ends in a newline), and a key with a control or non-ASCII character
inside is refused as malformed before any request, without being shown. The config reader
(components/config/palette.py) refuses the same keys before any resource is created. The provider and the
gRPC host only pass the key on: they are tested with one entry each.
"""

from __future__ import annotations

SURROUNDING = {"newline": "\n", "CRLF": "\r\n", "blank and tab": " \t", "two newlines": "\n\n"}
"""Whitespace around a key: stripped, and the key works."""
INSIDE = {
    "newline": "\n",
    "carriage return": "\r",
    "tab": "\t",
    "NUL": "\x00",
    "DEL": "\x7f",
    "e-acute": "\u00e9",
    "BOM": "\ufeff",
    "zero-width space": "\u200b",
}
"""A character inside a key: the key cannot go into a header and is refused, never shown."""
