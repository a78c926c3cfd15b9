"""What the Pulumi engine does with recorded registrations: alias matching and the order of steps.

Both are small models of pulumi/pulumi's engine, written from its source (reference only):

* **Aliases** (pkg/resource/deploy/step_generator.go, ``getOldResource``, ``generateAliases``,
  ``collapseAliasToUrn``, ``inheritedChildAlias``). A registration is matched to an old resource by its
  URN first, then by its aliases in order. An alias spec without a name or type takes the resource's;
  ``noParent`` (what ``Alias(parent=ROOT_STACK_RESOURCE)`` becomes, pulumi/runtime/resource.py
  ``create_alias_spec``) means "no parent", and so does the root stack as parent. When a *parent* was
  matched through an alias (``sg.aliases[parent]``), every child also gets that parent's old URN as an
  inherited alias, its name prefix rewritten the ``{parent}-role`` way: this is how a moved component's
  children keep their old URNs without aliases of their own.
* **Order** (pkg/resource/deploy/step_executor.go: "Pulumi language hosts can only invoke the resource
  monitor once all of their dependencies have resolved"; source_eval.go ``RegisterResource`` blocks until
  the resource's step has finished). So a resource's step starts when the steps of everything it depends
  on (and its parent's registration) are done. A delete-before-replace replacement (step_generator.go,
  ``deleteBeforeReplace``) first deletes the old resource; dependents are only deleted with it when one of
  their *properties* depends on it and their provider would replace them (``calculateDependentReplacements``:
  "the edge from B to A may be a simple `dependsOn` edge such that a change to B does not actually influence
  any of B's input properties").
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from tests.support.harness import CONTAINER, READINESS, Recorded

ROOT_STACK_TYPE = "pulumi:pulumi:Stack"


def _qualified_type(urn: str) -> str:
    return urn.split("::")[2]


def _name(urn: str) -> str:
    return urn.split("::", 3)[3]


def _is_root_stack(urn: str) -> bool:
    return bool(urn) and _qualified_type(urn).split("$")[-1] == ROOT_STACK_TYPE


def create_urn(name: str, type_: str, parent: str, project: str, stack: str) -> str:
    """sdk/go/common/resource/alias.go ``CreateURN``."""
    if not parent:
        return f"urn:pulumi:{stack}::{project}::{type_}::{name}"
    return parent[: parent.rfind("::")] + "$" + type_ + "::" + name


def new_urn(stack: str, project: str, parent_type: str, type_: str, name: str) -> str:
    """sdk/go/common/resource/urn.go ``NewURN``."""
    qualified = f"{parent_type}${type_}" if parent_type else type_
    return f"urn:pulumi:{stack}::{project}::{qualified}::{name}"


@dataclass
class AliasResolver:
    """Matches new registrations to old URNs the way the engine's step generator does."""

    old_urns: set[str]
    project: str
    stack: str

    def __post_init__(self) -> None:
        self.matched: dict[str, str] = {}
        """new URN -> the old URN it took over, when that was through an alias."""
        self.claimed: dict[str, str] = {}
        """old URN -> the new URN that took it over (same URN or alias)."""

    def _collapse(self, record: Recorded, alias: Mapping[str, Any]) -> str:
        if alias.get("urn"):
            return str(alias["urn"])
        name = alias.get("name") or record.name
        type_ = alias.get("type") or record.type
        parent = alias.get("parent_urn") or ""
        if not parent:
            parent = record.parent or ""
        elif parent in self.matched:
            parent = self.matched[parent]
        if alias.get("no_parent") or _is_root_stack(parent):
            parent = ""
        return create_urn(name, type_, parent, alias.get("project") or self.project, alias.get("stack") or self.stack)

    def _inherited(self, child_type: str, child_name: str, parent_name: str, parent_alias: str) -> str:
        alias_name = child_name
        if child_name.startswith(parent_name):
            alias_name = _name(parent_alias) + child_name[len(parent_name) :]
        return new_urn(self.stack, self.project, _qualified_type(parent_alias), child_type, alias_name)

    def aliases(self, record: Recorded) -> list[str]:
        result: list[str] = []
        specs = record.options.get("aliases") or []
        for spec in specs:
            result.append(self._collapse(record, spec))
        parent = record.parent or ""
        if parent and parent in self.matched:
            parent_alias = self.matched[parent]
            parent_name = _name(parent)
            result.append(self._inherited(record.type, record.name, parent_name, parent_alias))
            for spec in specs:
                child_alias = self._collapse(record, spec)
                result.append(
                    self._inherited(
                        _qualified_type(child_alias).split("$")[-1], _name(child_alias), parent_name, parent_alias
                    )
                )
        return list(dict.fromkeys(result))

    def resolve(self, records: Iterable[Recorded]) -> None:
        """Walks the registrations in order; raises if two claim the same old resource."""
        for record in records:
            for candidate in [record.urn, *self.aliases(record)]:
                if candidate in self.old_urns:
                    if candidate in self.claimed:
                        raise AssertionError(f"{record.urn} and {self.claimed[candidate]} both claim {candidate}")
                    self.claimed[candidate] = record.urn
                    if candidate != record.urn:
                        self.matched[record.urn] = candidate
                    break


# ---------------------------------------------------------------------------------------------------------
# The order of steps.


@dataclass(frozen=True)
class Step:
    urn: str
    start: int
    """When the resource's registration reaches the engine (all its dependencies done)."""
    finish: int
    """When its step is done (start, or start + 1 when something changes)."""


def schedule(records: list[Recorded], changed: set[str]) -> dict[str, Step]:
    """Earliest start and finish of every registration, each changed resource's step taking one unit.

    Unchanged resources (and components) finish the moment they start: a "same" step does no work.
    """
    by_urn = {r.urn: r for r in records}
    steps: dict[str, Step] = {}

    def visit(urn: str) -> Step:
        if urn in steps:
            return steps[urn]
        record = by_urn[urn]
        waits = [dep for dep in record.options["dependencies"] if dep in by_urn]
        if record.parent in by_urn:
            waits.append(record.parent)
        start = max((visit(dep).finish for dep in waits), default=0)
        steps[urn] = Step(urn, start, start + (1 if urn in changed else 0))
        return steps[urn]

    for record in records:
        visit(record.urn)
    return steps


@dataclass(frozen=True)
class Outage:
    """One instance out of service during an update: from its container's deletion until its gate is done."""

    container: str
    down_from: int
    up_at: int


def outages(records: list[Recorded], changed: set[str], replaced: Iterable[str] = ()) -> list[Outage]:
    """The outage of every replaced container (delete-before-replace), ended by its readiness gate.

    ``replaced``: resources (a container's network, say) replaced delete-before-replace. The engine deletes each
    one's dependents whose properties depend on it when the *replaced resource's* step starts
    (``calculateDependentReplacements``, then a DeleteReplacementStep per dependent, before the resource's own
    delete), not when the dependent's own registration arrives: such a container is down from the earlier of the
    two.
    """
    steps = schedule(records, changed)
    by_urn = {r.urn: r for r in records}
    condemning = {urn for urn in replaced if urn in by_urn and by_urn[urn].options["delete_before_replace"]}
    gates = {dep: r.urn for r in records if r.type == READINESS for dep in r.options["dependencies"]}
    result = []
    for record in records:
        if record.type != CONTAINER or record.urn not in changed:
            continue
        assert record.options["delete_before_replace"], record.urn
        gate = gates.get(record.urn)
        up_at = steps[gate].finish if gate else steps[record.urn].finish
        on = {dep for deps in record.options.get("property_dependencies", {}).values() for dep in deps}
        down_from = min([steps[record.urn].start, *(steps[urn].start for urn in on & condemning)])
        result.append(Outage(record.urn, down_from, up_at))
    return result


def moments_all_down(records: list[Recorded], changed: set[str], replaced: Iterable[str] = ()) -> list[int]:
    """The moments at which every instance is out of service at once (should be none)."""
    containers = [r.urn for r in records if r.type == CONTAINER]
    windows = outages(records, changed, replaced)
    if len(windows) < len(containers):
        return []
    horizon = max(window.up_at for window in windows)
    return [t for t in range(horizon) if all(w.down_from <= t < w.up_at for w in windows)]


@dataclass(frozen=True)
class Ran:
    """One step as ``execute`` ran it: monotonic start and finish, in seconds."""

    urn: str
    started: float
    finished: float


class _NotRun(Exception):
    """A step that did not run because something it waits for failed."""


def _waits(records: list[Recorded]) -> dict[str, list[str]]:
    """What each registration waits for before its step starts: its dependencies and its parent."""
    by_urn = {r.urn for r in records}
    result = {}
    for record in records:
        waits = [dep for dep in record.options["dependencies"] if dep in by_urn]
        if record.parent in by_urn:
            waits.append(record.parent)
        result[record.urn] = waits
    return result


def execute(records: list[Recorded], changed: set[str], act: Callable[[Recorded], None]) -> list[Ran]:
    """Runs ``act`` for every changed resource as the engine would: each step starts the moment all it
    waits for is done (the same rule as ``schedule``), steps whose waits are done run at the same time
    (one thread each; the engine's parallelism is unbounded by default, pulumi/pulumi
    pkg/resource/deploy/step_executor.go), and a failed step stops everything that waits for it.

    So the order and the concurrency come from the program's declared dependencies, not from the caller.
    Raises the first step's error once every step that could run has finished.
    """
    waits = _waits(records)
    done = {r.urn: threading.Event() for r in records}
    failed: dict[str, BaseException] = {}
    ran: list[Ran] = []
    lock = threading.Lock()

    def step(record: Recorded) -> None:
        try:
            for dep in waits[record.urn]:
                done[dep].wait()
            if any(dep in failed for dep in waits[record.urn]):
                failed.setdefault(record.urn, _NotRun(record.urn))
                return
            started = time.monotonic()
            if record.urn in changed:
                act(record)
            with lock:
                ran.append(Ran(record.urn, started, time.monotonic()))
        except BaseException as error:  # reported below, once the other steps are done
            failed[record.urn] = error
        finally:
            done[record.urn].set()

    threads = [threading.Thread(target=step, args=(record,), daemon=True) for record in records]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    errors = [failed[r.urn] for r in records if r.urn in failed and not isinstance(failed[r.urn], _NotRun)]
    if errors:
        raise errors[0]
    return sorted(ran, key=lambda r: r.started)
