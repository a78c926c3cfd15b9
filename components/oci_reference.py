"""The OCI reference grammar, written once: repository path components, repository paths, tags and digests, and
Docker's whole image reference (distribution/reference regexp.go, spelled with ASCII classes).

Read by the config (``image``, ``proxyImage``, ``baseContentPath``, a pack's name and version), by the ``Pack``
provider's checks and by the Palette registration's (``base_content_path``).
"""

from __future__ import annotations

import re

__all__ = [
    "IMAGE_DIGEST_SIZES",
    "IMAGE_NAME_MAX",
    "IMAGE_REFERENCE",
    "is_path_component",
    "is_repository_path",
    "is_sha256_digest",
    "is_tag",
]

PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
"""One component of a repository path: lower-case alphanumerics joined by ``.``, ``_``, ``__`` or dashes."""

TAG = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
"""A tag (distribution/reference regexp.go ``tag``)."""

_REPOSITORY_PATH = re.compile(rf"{PATH_COMPONENT}(?:/{PATH_COMPONENT})*")
_PATH_COMPONENT = re.compile(PATH_COMPONENT)
_TAG = re.compile(TAG)
_SHA256_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")

_IMAGE_DOMAIN = (
    r"(?:(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*"
    r"|\[[a-fA-F0-9:]+\])(?::[0-9]+)?"
)

IMAGE_REFERENCE = re.compile(
    rf"^(?P<name>(?:{_IMAGE_DOMAIN}/)?{PATH_COMPONENT}(?:/{PATH_COMPONENT})*)"
    rf"(?::(?P<tag>{TAG}))?"
    r"(?:@(?P<digest>[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}))?$"
)
"""A whole image reference: ``name`` (with its registry), an optional ``tag`` and an optional ``digest``."""

IMAGE_NAME_MAX = 255
"""The longest repository name (with its registry) Docker takes."""

IMAGE_DIGEST_SIZES = {"sha256": 64, "sha384": 96, "sha512": 128}
"""Hex digits per digest algorithm, what go-digest (behind distribution/reference Parse) checks a digest against."""


def is_path_component(value: str) -> bool:
    return _PATH_COMPONENT.fullmatch(value) is not None


def is_repository_path(value: str) -> bool:
    """Path components separated by single ``/``, no leading or trailing ``/``."""
    return _REPOSITORY_PATH.fullmatch(value) is not None


def is_tag(value: str) -> bool:
    return _TAG.fullmatch(value) is not None


def is_sha256_digest(value: str) -> bool:
    return _SHA256_DIGEST.fullmatch(value) is not None
