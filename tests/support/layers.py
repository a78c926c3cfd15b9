"""How a layer's conftest.py finds its own tests: pytest hands every conftest the whole session's items."""

from __future__ import annotations

from pathlib import Path

import pytest


def items_in_layer(items: list[pytest.Item], conftest_file: str) -> list[pytest.Item]:
    """The collected items under the folder of the conftest.py at ``conftest_file`` (its ``__file__``)."""
    folder = Path(conftest_file).resolve().parent
    return [item for item in items if item.path.resolve().is_relative_to(folder)]
