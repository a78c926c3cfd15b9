"""A change that replaces an OCI instance's private network (a new ``containerName``: the network's name is
ForceNew, as every attribute of the docker provider's network, kreuzwerker/terraform-provider-docker
internal/provider/resource_docker_network.go) must still roll the instances one after another.

The networks are delete-before-replace (their names are unique on the host), and the containers on them name
them by id in ``networks_advanced`` (ForceNew): the engine deletes those containers when the *network's*
replacement step starts (pulumi/pulumi pkg/resource/deploy/step_generator.go ``calculateDependentReplacements``
and the DeleteReplacementStep of each dependent, issued with the network's own delete). A network that does not
wait for the previous instance's gate therefore takes its instance down at once, whatever the containers wait for.
"""

from __future__ import annotations

import itertools

from tests.support import golden
from tests.support.engine_model import moments_all_down, outages
from tests.support.harness import CONTAINER, NETWORK, READINESS, run_program


def _renamed() -> tuple[list, set[str], set[str]]:
    """The oci-ha stack with another containerName: what is declared, and what the engine replaces."""
    stack = golden.load("oci-ha")["stack"]
    before, _ = golden.evaluate("oci-ha")
    generated = golden._generated_material()
    config = {key: golden._fill(value, generated) for key, value in stack["config"].items()}
    config["containerName"] = "renamed-registry"
    run = run_program(
        config, stack=stack["name"], secrets_=set(stack["secretKeys"]), use_stack_file=stack["useStackFile"]
    )
    names = {r.inputs["name"] for r in before.all(NETWORK)}
    assert names.isdisjoint({r.inputs["name"] for r in run.all(NETWORK)}), "the rename changes every network's name"
    networks = {r.urn for r in run.all(NETWORK)}
    changed = networks | {r.urn for r in run.all(CONTAINER)}
    return run.resources, changed, networks


def test_a_replaced_network_waits_for_the_previous_instance() -> None:
    """Each instance's two containers are down and up again before the next instance's network is replaced."""
    records, changed, networks = _renamed()
    gates = [r for r in records if r.type == READINESS]
    assert len(gates) > 1
    assert moments_all_down(records, changed, replaced=networks) == []
    windows = outages(records, changed, replaced=networks)
    by_instance = [[w for w in windows if w.container in gate.options["dependencies"]] for gate in gates]
    assert all(len(pair) == 2 for pair in by_instance)
    spans = sorted((min(w.down_from for w in pair), max(w.up_at for w in pair)) for pair in by_instance)
    assert all(later[0] >= earlier[1] for earlier, later in itertools.pairwise(spans)), spans


def test_the_model_sees_the_deletion_the_network_brings() -> None:
    """Without ``replaced`` the model would date each container's deletion from its own step only."""
    records, changed, networks = _renamed()
    with_networks = {w.container: w.down_from for w in outages(records, changed, replaced=networks)}
    alone = {w.container: w.down_from for w in outages(records, changed)}
    assert all(with_networks[urn] <= alone[urn] for urn in alone)
