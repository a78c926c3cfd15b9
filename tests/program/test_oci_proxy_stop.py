"""Review test: the OCI proxy container gets the registry's stop grace and the daemon's log options.

The merge of issue 15 says "the proxy container gets the same daemon log options and stop grace", but no test
held it: deleting either from components/registry.py ``Registry._proxy`` left the whole suite green.
- Without ``destroy_grace_seconds`` the provider stops the proxy with a timeout of 0, a SIGKILL that cuts every
  push in flight through nginx before the registry behind it even starts its drain
  (kreuzwerker/terraform-provider-docker v4.5.0 resource_docker_container_funcs.go resourceDockerContainerDelete).
- ``log_opts`` is ForceNew and read back in full (containerLogOptsForState): a daemon.json default such as
  ``compress`` left out of the proxy's declaration replaces the proxy on every run.
- ``stop_signal`` must stay undeclared: it is Optional+Computed (resource_docker_container.go), so the image's
  STOPSIGNAL (SIGQUIT in nginx's image: finish the requests in flight) is kept; a declared SIGTERM would be nginx's
  fast shutdown.
"""

from __future__ import annotations

from components import docker_engine
from components.registry import STOP_GRACE_SECONDS
from tests.support.harness import run_program

OCI = {"registryKind": "oci"}


def test_the_proxy_stops_gracefully_with_the_image_stop_signal() -> None:
    run = run_program(OCI)
    registry, proxy = run.named("registry-container"), run.named("registry-proxy-container")
    assert proxy.inputs["destroyGraceSeconds"] == registry.inputs["destroyGraceSeconds"] == STOP_GRACE_SECONDS
    assert "stopSignal" not in proxy.inputs


def test_the_proxy_declares_the_log_options_the_daemon_adds() -> None:
    added = {"compress": "true", "max-size": "1m"}

    def engine(*_: object, **__: object) -> docker_engine.EngineFacts:
        return docker_engine.EngineFacts(log_opts=added)

    run = run_program(OCI, engine=engine)
    registry, proxy = run.named("registry-container"), run.named("registry-proxy-container")
    assert (
        proxy.inputs["logOpts"]
        == registry.inputs["logOpts"]
        == {"compress": "true", "max-size": "10m", "max-file": "3"}
    )
