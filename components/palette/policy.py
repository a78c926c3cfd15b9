"""How patient the Palette client is: the timeouts and retries of every call, and how often a sync is polled.

The defaults suit the real service; a test or a slow network tunes them with ``PALETTE_HTTP_*`` variables.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from urllib3.util import Retry

from components.dynamic.http import RETRY_AFTER_MAX_SECONDS, retry

__all__ = ["HttpPolicy"]


def _env_number(environ: Mapping[str, str], name: str, default: float, *, minimum: float) -> float:
    raw = environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not a number") from None
    if value < minimum:
        raise ValueError(f"{name}={raw!r} must be at least {minimum:g}")
    return value


@dataclass(frozen=True)
class HttpPolicy:
    """Timeouts and retries for every Palette call. The defaults suit the real service."""

    retries: int = 5
    """Retries after the first attempt, for each request (and for the create loop)."""
    backoff_factor: float = 0.5
    """Exponential backoff: 0, 2x, 4x, 8x ... this many seconds between retries (urllib3's formula)."""
    backoff_max: float = 30.0
    """No single backoff sleep is longer than this."""
    backoff_jitter: float = 0.5
    """Up to this many random seconds are added to each backoff, so clients do not retry in step."""
    retry_after_max: int = RETRY_AFTER_MAX_SECONDS
    """A longer ``Retry-After`` is cut to this (urllib3 would otherwise wait up to 6 hours)."""
    connect_timeout: float = 10.0
    """Seconds to open a connection."""
    read_timeout: float = 30.0
    """Seconds to wait for the response's bytes."""
    sync_poll_seconds: float = 5.0
    """Seconds between two sync-status reads while waiting for a sync."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> HttpPolicy:
        """The defaults, tuned by ``PALETTE_HTTP_RETRIES``, ``PALETTE_HTTP_BACKOFF_FACTOR``,
        ``PALETTE_HTTP_TIMEOUT_SECONDS`` (read timeout) and ``PALETTE_SYNC_POLL_SECONDS``."""
        env = os.environ if environ is None else environ
        base = cls()
        backoff = _env_number(env, "PALETTE_HTTP_BACKOFF_FACTOR", base.backoff_factor, minimum=0)
        return cls(
            retries=int(_env_number(env, "PALETTE_HTTP_RETRIES", base.retries, minimum=0)),
            backoff_factor=backoff,
            # A test that turns backoff off wants no jitter either.
            backoff_jitter=base.backoff_jitter if backoff > 0 else 0.0,
            read_timeout=_env_number(env, "PALETTE_HTTP_TIMEOUT_SECONDS", base.read_timeout, minimum=0.01),
            sync_poll_seconds=_env_number(env, "PALETTE_SYNC_POLL_SECONDS", base.sync_poll_seconds, minimum=0),
        )

    def retry(self, *, retry_post: bool) -> Retry:
        """urllib3's retry policy. POST is retried only when ``retry_post`` (calls that cannot duplicate)."""
        methods = {"GET", "HEAD", "PUT", "DELETE"}
        if retry_post:
            methods.add("POST")
        return retry(
            self.retries,
            methods=methods,
            backoff_factor=self.backoff_factor,
            retry_after_max=self.retry_after_max,
            connect=self.retries,
            read=self.retries,
            status=self.retries,
            other=0,
            redirect=0,
            backoff_max=self.backoff_max,
            backoff_jitter=self.backoff_jitter,
        )

    @property
    def timeout(self) -> tuple[float, float]:
        return (self.connect_timeout, self.read_timeout)
