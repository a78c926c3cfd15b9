"""Every module of the program can be the first one imported: the component package's provider, the dynamic
providers (unpickled by reference in a process of their own, ``python -m pulumi.dynamic``) and tools each start
from a different one, and an import cycle shows only when its far end comes first."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.support.paths import ROOT

MODULES = sorted(
    ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
    for path in (ROOT / "components").rglob("*.py")
)


@pytest.mark.parametrize("module", MODULES)
def test_the_module_imports_first(module: str) -> None:
    result = subprocess.run(
        [sys.executable, "-c", f"import {module}"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr.strip().splitlines()[-1:]
