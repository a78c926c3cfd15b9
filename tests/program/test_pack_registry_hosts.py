"""Instances keep their Docker host when the list of hosts changes around them."""

from __future__ import annotations

from typing import Any

from tests.program.test_pack_registry import HOST_A, HOST_C, ha_run
from tests.support.harness import MockState, ProgramRun

PROVIDER = "pulumi:providers:docker"
NO_TLS: dict[str, Any] = {"dockerCaCert": "", "dockerCert": "", "dockerKey": ""}
HOST_D = "ssh://ops@node-d.example.com"
HOST_E = "ssh://ops@node-e.example.com"


def _hosts(run: ProgramRun) -> dict[str, str]:
    """The Docker host each provider URN points at."""
    return {r.urn: r.inputs["host"] for r in run.all(PROVIDER)}


def test_removing_the_first_host_leaves_the_other_instances_on_their_hosts() -> None:
    """Removing dockerHosts[0] must remove only that instance; no remaining resource may move to another host.

    Were the first entry's resources named by position (``registry``, ``registry-docker``,
    ``registry-container``, ``readiness``), after removing host C they would describe host D, while D's own
    (slug-named) instance would be dropped from the program. What the engine would then do, from the sources:

    * the provider ``registry-docker`` keeps its URN and only its ``host`` input changes. pulumi-docker's
      ``DiffConfig`` is the bridge's (pulumi/pulumi-docker provider/hybrid.go), which asks for a replacement
      only for config fields marked ``ForcesProviderReplace`` (pulumi/pulumi-terraform-bridge
      pkg/tfbridge/provider.go ``configDiffer``); pulumi-docker marks none, so the provider is updated in place;
    * ``registry-container`` has unchanged inputs and the same provider reference, so it is a "same" step
      (pulumi/pulumi pkg/resource/deploy/step_generator.go ``providerChanged`` returns false): its state, the
      id of the container on host C, is now read and deleted through host D;
    * ``readiness`` polls host D, where D's old container still answers, so the gate passes;
    * D's slug-named instance is not registered any more and is deleted at the end (``GenerateDeletes``).

    ``pulumi up`` would succeed, host D would be left without a registry and host C's container would keep
    running unmanaged. Hence instances are named after their host.
    """
    state = MockState()
    before = _hosts(ha_run(state, dockerHosts=[HOST_C, HOST_D, HOST_E], **NO_TLS))
    after = _hosts(ha_run(state, dockerHosts=[HOST_D, HOST_E], **NO_TLS))
    moved = {urn: (before[urn], after[urn]) for urn in set(before) & set(after) if before[urn] != after[urn]}
    assert moved == {}, f"resources that would change host: {moved}"
    assert set(before.values()) - set(after.values()) == {HOST_C}
    assert {before[urn] for urn in set(before) - set(after)} == {HOST_C}, "the removed URNs were not host C's"


def test_reordering_the_hosts_moves_no_instance() -> None:
    """The order of dockerHosts is only the rolling order: reordering must not re-point any URN at another host.

    Swapping the first two entries re-points ``registry-docker`` at host C (an in-place provider update, see
    above) while host A gets a new slug-named instance whose container takes the name and port the old,
    still running container on A holds: the create fails on A, and the state now says A's container is on C.
    """
    state = MockState()
    before = _hosts(ha_run(state, dockerHosts=[HOST_A, HOST_C, HOST_D], **NO_TLS))
    after = _hosts(ha_run(state, dockerHosts=[HOST_C, HOST_A, HOST_D], **NO_TLS))
    moved = {urn: (before[urn], after[urn]) for urn in set(before) & set(after) if before[urn] != after[urn]}
    assert moved == {}, f"resources that would change host: {moved}"


def test_reaching_the_same_host_as_another_ssh_user_keeps_its_instance() -> None:
    """A new ssh user (or port) for the same machine is the same engine: its instance must stay.

    Were the resource names taken from the whole URL (``registry-ssh-ops-node-c-example-com``), the instance
    would be dropped and a new one created. The engine creates the new container (registered during the
    program) before it deletes the old one (``GenerateDeletes`` runs after the program), and both would carry
    the same container name and host port on that one engine: the create would fail and `pulumi up` stop.
    """
    state = MockState()
    before = _hosts(ha_run(state, dockerHosts=[HOST_A, HOST_C], **NO_TLS))
    after = _hosts(ha_run(state, dockerHosts=[HOST_A, HOST_C.replace("ops@", "deploy@")], **NO_TLS))
    assert set(after) == set(before), "the instance on node-c would be deleted and created again"
