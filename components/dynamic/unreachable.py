"""What the dynamic providers do when the registry or Palette cannot be reached (day two: refresh, destroy).

"Cannot be reached" is a failure to get an answer from the endpoint itself: the connection refused, reset or
closed without an answer, a timeout, a host name that does not resolve, no route, or 502/503/504 from the
proxy or load balancer in front (nginx answers 502 once the registry behind it is gone); ``dynamic/http.py``
``unreachable_reason`` and ``unreachable_status`` tell it apart. A definite answer (a 404, a refused key, a
certificate for another name, a 500 from the server itself) is not: it is handled as before.

- ``read`` (a refresh) keeps the last-known state of what it cannot reach and says so once per endpoint
  (``keep_on_refresh``). The engine runs one provider process for the whole CLI operation, so the set of
  endpoints already warned about lives in this module, never on the pickled provider.
- ``delete`` fails with one line naming the endpoint, what happened and the opt-in, or, opted in (the
  ``delete_unreachable`` input from the ``deleteUnreachable`` config key, or ``DELETE_UNREACHABLE_ENV=true``
  in the environment of the run), releases the resource from the state with a warning saying what may
  remain where (``release_or_fail``).

Messages are built from the resource's names, the endpoint's URL, fixed phrases and the status's standard
reason phrase, never from what the server or the exception said, so they hold no secret.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

__all__ = [
    "DELETE_UNREACHABLE_ENV",
    "DELETE_UNREACHABLE_KEY",
    "delete_opted_in",
    "keep_on_refresh",
    "recently_unreachable",
    "release_or_fail",
]

log = logging.getLogger(__name__)

DELETE_UNREACHABLE_KEY = "deleteUnreachable"
"""The config key that opts in, recorded on each resource as its ``delete_unreachable`` input."""

DELETE_UNREACHABLE_ENV = "PALETTE_PACK_REGISTRY_DELETE_UNREACHABLE"
"""The environment variable that opts in for one run (read by the provider process when it deletes)."""

_TRUE = frozenset({"true", "1", "yes"})

_WARNED: set[str] = set()
_WARNED_LOCK = threading.Lock()

RECHECK_SECONDS = 60.0
"""How long an endpoint found unreachable is taken as still unreachable by the reads and deletes that follow in
the same provider process, without asking it again. A refresh or destroy of hundreds of packs behind one hung
registry would otherwise wait out every read's timeouts and retries (minutes each) one pack after another; the
engine issues them within seconds, so one verdict covers the run, while an endpoint that comes back (the
container re-created by the same ``pulumi up --refresh``) is asked again a minute later."""
_DOWN: dict[str, tuple[float, str]] = {}


def delete_opted_in(props: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> bool:
    """Whether a delete may let go of what it cannot reach: the resource's ``delete_unreachable`` input, or
    the environment variable of this run."""
    env = os.environ if environ is None else environ
    return props.get("delete_unreachable") is True or env.get(DELETE_UNREACHABLE_ENV, "").strip().lower() in _TRUE


def recently_unreachable(endpoint: str) -> str | None:
    """Why ``endpoint`` could not be reached, when this process found so less than ``RECHECK_SECONDS`` ago."""
    with _WARNED_LOCK:
        found = _DOWN.get(endpoint)
    if found is None or time.monotonic() - found[0] > RECHECK_SECONDS:
        return None
    return found[1]


def _mark_unreachable(endpoint: str, reason: str) -> None:
    with _WARNED_LOCK:
        _DOWN[endpoint] = (time.monotonic(), reason)


def keep_on_refresh(endpoint: str, reason: str, kept: str) -> None:
    """Say once per endpoint (in this process) that a refresh could not reach it and keeps ``kept``."""
    _mark_unreachable(endpoint, reason)
    with _WARNED_LOCK:
        if endpoint in _WARNED:
            return
        _WARNED.add(endpoint)
    log.warning("warning: %s could not be reached during refresh (%s): %s", endpoint, reason, kept)


def _one_line_errors() -> None:
    """In the SDK's provider server, report errors as their one line. It sends an exception to the engine as
    ``traceback.format_exc()`` (pulumi/dynamic/__main__.py ``_abort_with_traceback``), which honours
    ``sys.tracebacklimit``: at 0 that is ``<type>: <message>``. Set for the rest of that provider process (one per
    CLI operation); any other process (a test, a program) keeps its tracebacks."""
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    if spec is not None and spec.name == "pulumi.dynamic.__main__":
        sys.tracebacklimit = 0


def release_or_fail(
    props: Mapping[str, Any],
    *,
    subject: str,
    endpoint: str,
    reason: str,
    remains: str,
    where: str,
    error: Callable[[str], Exception],
) -> None:
    """A delete of ``subject`` that could not reach ``endpoint``: return (released, with a warning that
    ``remains`` may be left in ``where``) when opted in, else raise ``error(one line naming the opt-in)``: the
    provider's own exception type, so that what catches its errors still does."""
    if delete_opted_in(props):
        log.warning(
            "warning: %s is released from the state without being deleted: %s could not be reached (%s); "
            "%s may remain in %s",
            subject,
            endpoint,
            reason,
            remains,
            where,
        )
        return
    # Without the failure it replaces (its retries, its library's wording): the one line is the whole story.
    _one_line_errors()
    raise error(
        f"{subject} cannot be deleted: {endpoint} could not be reached ({reason}). To release it from the state "
        f"and leave {remains} in {where}, run again with {DELETE_UNREACHABLE_ENV}=true (or, for what the stack "
        f"still declares, set the config key {DELETE_UNREACHABLE_KEY} to true: `pulumi config set "
        f"{DELETE_UNREACHABLE_KEY} true`, recorded by the next `pulumi up`; a pack or registration the stack no "
        "longer declares keeps the inputs it was deleted with, so only the variable reaches it)."
    ) from None
