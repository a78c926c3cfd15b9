"""The project: its name, and the config its file declares (defaults and secrecy), the single source of truth for
defaults."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml

PROJECT = "palette-pack-registry"
"""The project's name (Pulumi.yaml ``name``): the first part of every config key and type token."""

PROJECT_FILE = Path(__file__).resolve().parent.parent / "Pulumi.yaml"


@cache
def declared_config() -> dict[str, Any]:
    """The `config:` block of Pulumi.yaml, key -> declaration."""
    with PROJECT_FILE.open(encoding="utf-8") as handle:
        project = yaml.safe_load(handle)
    return dict(project.get("config") or {})
