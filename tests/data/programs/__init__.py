"""Programs the benchmarks compare the dev stack with."""

from typing import Any

REPLAY: list[tuple[str, str, dict[str, Any], bool]] = []
"""(type, name, inputs, custom) of each resource the replay program declares."""
