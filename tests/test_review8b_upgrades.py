"""Review: going back from dockerHosts to the single dockerHost keeps that host's instance."""

from __future__ import annotations

from typing import Any

import pytest

from tests.engine_model import AliasResolver
from tests.harness import CONTAINER, PROJECT, run_program

LOCAL = "unix:///var/run/docker.sock"
NODE_B = "ssh://ops@node-b.example.com"
SHARED: dict[str, Any] = {"storage": "s3", "s3Bucket": "packs-bucket", "bindAddress": "0.0.0.0"}  # noqa: S104


def _short(urn: str) -> str:
    return urn.rsplit("::", 1)[-1]


@pytest.mark.parametrize("hosts", [[LOCAL], [LOCAL, NODE_B]], ids=["only-dockerHost", "dockerHost-and-another"])
def test_unsetting_docker_hosts_keeps_the_instance_on_docker_host(hosts: list[str]) -> None:
    """Emptying dockerHosts leaves one instance on dockerHost, the engine it already runs on: it must keep it.

    With dockerHosts set, the instance on dockerHost is ``registry-<host slug>`` (its container
    ``registry-<host slug>-container``); with dockerHosts empty it is ``registry`` with one alias, to the
    stack's own child ``registry``, which a stack that went through dockerHosts no longer has. So the old
    URNs are claimed by neither its own URN nor an alias (pulumi/pulumi pkg/resource/deploy/step_generator.go
    ``getOldResource``, ``generateAliases``, ``inheritedChildAlias``: tests/engine_model.py). The engine then
    creates ``registry-container`` while the program runs and deletes the old ``registry-<slug>-container``
    only afterwards (``GenerateDeletes``, after the program has finished): the new container asks the same
    engine for the same container name and host port the running one holds, and `pulumi up` fails there.
    deleteBeforeReplace does not help: it orders a replacement of one URN, not a create and a delete of two.

    Suggested fix: when dockerHosts is empty, also alias the single instance (and its gate) to the name it
    has when dockerHost is listed, ``Alias(name=f"registry-{slug of dockerHost}")`` under the component; its
    children follow through the inherited alias.
    """
    old = run_program({**SHARED, "dockerHosts": hosts}, stack="dev")
    new = run_program(SHARED, stack="dev")
    resolver = AliasResolver({r.urn for r in old.resources}, PROJECT, "dev")
    resolver.resolve(new.resources)
    (local_container,) = [c for c in old.all(CONTAINER) if "var-run-docker-sock" in c.urn]
    assert local_container.urn in resolver.claimed, (
        f"{_short(local_container.urn)} is orphaned and {_short(new.one(CONTAINER).urn)} is created beside it "
        "on the same engine, with the same container name and port"
    )
    unclaimed = {_short(u) for u in {r.urn for r in old.resources} - set(resolver.claimed)}
    assert unclaimed == {_short(r.urn) for r in old.resources if "node-b" in r.urn}
