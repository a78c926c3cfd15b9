"""How instances are named across dockerHosts changes, and what new S3 keys alone replace."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from tests.program.test_pack_registry import HOST_A, HOST_B, HOST_C, SECRET_KEY, _changed, ha_run
from tests.support.engine_model import AliasResolver, moments_all_down, outages
from tests.support.harness import CONTAINER, PROJECT, MockState, run_program

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
    ``getOldResource``, ``generateAliases``, ``inheritedChildAlias``: tests/support/engine_model.py). The engine then
    creates ``registry-container`` while the program runs and deletes the old ``registry-<slug>-container``
    only afterwards (pkg/resource/deploy/deployment_executor.go ``performPostSteps`` calls ``GenerateDeletes``
    once the program has finished): the new container asks the same
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


@pytest.mark.parametrize("key", ["s3AccessKey", "s3SecretKey"])
def test_new_s3_keys_alone_replace_every_container_one_at_a_time(key: str) -> None:
    """The keys reach the server only in the credentials file uploaded at create, so new keys alone must
    replace every container (kreuzwerker/terraform-provider-docker internal/provider/resource_docker_container.go:
    ``upload`` and its ``content`` are ForceNew), and through the rolling chain, never all at once."""
    state = MockState()
    hosts = [HOST_A, HOST_B, HOST_C]
    before = ha_run(state, dockerHosts=hosts)
    after = ha_run(state, dockerHosts=hosts, **{key: "Rotated" + SECRET_KEY})
    changed = _changed(before, after)
    containers = [r.urn for r in after.all(CONTAINER)]
    assert set(containers) <= changed
    for container in after.all(CONTAINER):
        old = next(r for r in before.all(CONTAINER) if r.urn == container.urn)
        assert old.inputs["envs"] == container.inputs["envs"], "the keys must not be in the env"
        assert "uploads" in container.secret_paths
    windows = sorted(outages(after.resources, changed), key=lambda w: w.down_from)
    assert [w.container for w in windows] == containers
    assert all(later.down_from >= earlier.up_at for earlier, later in itertools.pairwise(windows))
    assert moments_all_down(after.resources, changed) == []
