"""Where the program finds Palette: its default API URL, and where the API key comes from.

Read by the stack config (``config/palette.py``: the defaults and checks) and by the registration's provider
(``palette/provider.py``: the key itself, never a resource input).
"""

from __future__ import annotations

from components.project import PROJECT

__all__ = ["API_KEY_CONFIG", "API_KEY_ENV", "DEFAULT_API_URL", "normalise_api_key"]

DEFAULT_API_URL = "https://api.spectrocloud.com"
"""Palette's SaaS API; ``paletteApiUrl`` names a self-hosted Palette."""

API_KEY_CONFIG = f"{PROJECT}:paletteApiKey"
"""The stack config key (secret) whose value the provider's ``configure()`` receives."""

API_KEY_ENV = "PALETTE_API_KEY"
"""The environment variable read when the stack config holds no key."""


def normalise_api_key(key: str) -> str:
    """The key as it is sent: surrounding whitespace (a trailing newline from a file) removed."""
    return key.strip()
