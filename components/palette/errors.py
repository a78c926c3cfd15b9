"""What a failed Palette call raises.

The exceptions name the registration, the Palette, the verb and path and the HTTP status, never a secret: the
client redacts every form of one from any text before it reaches a message or a log line (``dynamic/http.py``
``redact``).
"""

from __future__ import annotations

__all__ = [
    "ERRORS_BY_STATUS",
    "PaletteAuthError",
    "PaletteBadRequest",
    "PaletteConflict",
    "PaletteError",
    "PaletteForbiddenError",
    "PaletteNotFound",
    "PaletteSyncError",
    "PaletteUnavailable",
]


_REDACTED = "[redacted]"


class PaletteError(Exception):
    """A Palette call failed. The message is safe to show: it never holds a secret."""

    def __init__(
        self,
        message: str,
        *,
        registration: str | None = None,
        method: str | None = None,
        path: str | None = None,
        status: int | None = None,
        code: str | None = None,
        ref: str | None = None,
        unreachable: str | None = None,
    ) -> None:
        super().__init__(message)
        self.registration = registration
        self.method = method
        self.path = path
        self.status = status
        self.code = code
        self.ref = ref
        self.unreachable = unreachable
        """Why Palette could not be reached (``"connection refused"``, ``"502 Bad Gateway"``), or None when
        it answered (``components.dynamic.unreachable``)."""


class PaletteAuthError(PaletteError):
    """401, or no API key at all: the key is missing, wrong or expired."""


class PaletteForbiddenError(PaletteError):
    """403: the key's user may not manage pack registries (a tenant admin may)."""


class PaletteNotFound(PaletteError):
    """404 on the URL that was asked for."""


class PaletteConflict(PaletteError):
    """409: most likely a registration with that name already exists."""


class PaletteBadRequest(PaletteError):
    """400 or 422: Palette refused the payload (or, for validate, could not use the registry)."""


class PaletteUnavailable(PaletteError):
    """429/5xx after every retry, a connection error or a timeout."""


class PaletteSyncError(PaletteError):
    """The pack sync failed, or did not finish in time."""


ERRORS_BY_STATUS: dict[int, type[PaletteError]] = {
    400: PaletteBadRequest,
    401: PaletteAuthError,
    403: PaletteForbiddenError,
    404: PaletteNotFound,
    409: PaletteConflict,
    422: PaletteBadRequest,
}
