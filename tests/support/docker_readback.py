"""The docker provider's read-back rules, restated from its source: what it writes into the state after a
create or a refresh, from the engine's ``docker inspect`` JSON, for each field the program sets.

Source: kreuzwerker/terraform-provider-docker v4.5.0 (the submodule ``upstream`` of pulumi/pulumi-docker
at the commit after sdk/v5.1.0 that pulumi-docker 5.2.0 ships, 5074970c; "Upgrade terraform-provider-docker to
v4.5.0 (#1747)"):

- internal/provider/resource_docker_container_funcs.go ``resourceDockerContainerRead``: ``name`` without the
  leading "/"; ``image`` is ``.Image`` when the declared image starts with ``sha256:``, else
  ``.Config.Image``; ``restart`` RestartPolicy.Name; ``network_mode`` HostConfig.NetworkMode; ``ports`` only
  when declared and the container runs (or must_run), from ``NetworkSettings.Ports`` (the bound sockets,
  not HostConfig.PortBindings) through ``flattenContainerPorts`` (resource_docker_container_structures.go:
  sorted by port number, one entry per binding, HostIp and HostPort as reported); ``memory`` is
  Memory/1024/1024; ``memory_swap`` MemorySwap/1024/1024 when positive, else as is; ``cpus``
  ``nanoInt64ToDecimalString(NanoCPUs)`` (helpers.go) only when positive (else the state keeps what it
  had); ``log_driver`` LogConfig.Type; ``log_opts`` LogConfig.Config, only when log_opts is declared
  (``containerLogOptsForState``).
- Not read back (the state keeps what was declared): ``env`` and ``labels`` ("We decided not to set the
  environment variables and labels"), ``volumes`` (commented out), ``upload`` ("can't be imported"),
  ``destroy_grace_seconds`` ("can't be imported"), ``must_run`` (only set to false for a stopped container).
- internal/provider/resource_docker_volume.go ``resourceDockerVolumeRead``: ``name``; ``labels`` from the
  volume's Labels; ``driver``; ``driver_opts`` the volume's Options.

Keys are Pulumi's camelCase names, like the recorded inputs of tests/support/harness.py.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

__all__ = [
    "CONTAINER_FORCE_NEW",
    "CONTAINER_NOT_READ",
    "VOLUME_FORCE_NEW",
    "container_drift",
    "container_state",
    "nano_cpus_to_decimal",
    "volume_drift",
    "volume_state",
]

MIB = 1024 * 1024

CONTAINER_NOT_READ = frozenset(
    {"envs", "labels", "volumes", "uploads", "destroyGraceSeconds", "mustRun", "networksAdvanced"}
)
"""Declared fields the provider never overwrites from the engine (``networks_advanced`` only when it is empty,
resourceDockerContainerRead's import branch)."""

CONTAINER_FORCE_NEW = frozenset(
    {
        "name",
        "image",
        "ports",
        "envs",
        "labels",
        "volumes",
        "uploads",
        "logDriver",
        "logOpts",
        "cpus",
        "networkMode",
        "networksAdvanced",
    }
)
"""ForceNew in resource_docker_container.go (memory, memory_swap, restart and destroy_grace_seconds are not)."""

VOLUME_FORCE_NEW = frozenset({"name", "labels", "driver", "driverOpts"})
"""ForceNew in resource_docker_volume.go."""


def nano_cpus_to_decimal(nano_cpus: int) -> str:
    """helpers.go nanoInt64ToDecimalString, line by line: big.Rat FloatString(9); when the text has exactly
    nine '0' characters, FloatString(1); else the trailing zeros cut (so 20 CPUs read back as "20.")."""
    if nano_cpus == 0:
        return "0"
    ratio = Fraction(nano_cpus, 1_000_000_000)
    text = _float_string(ratio, 9)
    if text.count("0") == 9:
        return _float_string(ratio, 1)
    return text.rstrip("0")


def _float_string(ratio: Fraction, digits: int) -> str:
    """big.Rat.FloatString: rounded half away from zero to ``digits`` decimals."""
    scaled = abs(ratio) * 10**digits
    whole = int(scaled)
    if scaled - whole >= Fraction(1, 2):
        whole += 1
    sign = "-" if ratio < 0 else ""
    integer, fraction = divmod(whole, 10**digits)
    return f"{sign}{integer}.{fraction:0{digits}d}" if digits else f"{sign}{integer}"


def _ports(network_ports: dict[str, Any] | None) -> list[dict[str, Any]]:
    """flattenContainerPorts: keys sorted by port number, each binding an entry."""
    out = []
    for key in sorted(network_ports or {}, key=lambda k: int(k.split("/")[0])):
        internal, protocol = key.split("/")
        for binding in network_ports[key] or []:
            out.append(
                {
                    "internal": int(internal),
                    "external": int(binding["HostPort"]) if binding["HostPort"].isdigit() else 0,
                    "ip": binding["HostIp"],
                    "protocol": protocol,
                }
            )
    return out


def container_state(inspect: dict[str, Any], declared: dict[str, Any]) -> dict[str, Any]:
    """What the provider stores for the read-back fields the program declares, from ``docker inspect``."""
    host = inspect["HostConfig"]
    by_id = str(declared.get("image", "")).startswith("sha256:")
    state: dict[str, Any] = {
        "name": inspect["Name"].lstrip("/"),
        "image": inspect["Image"] if by_id else inspect["Config"]["Image"],
        "restart": host["RestartPolicy"]["Name"],
        "networkMode": host["NetworkMode"],
        "memory": int(host["Memory"]) // MIB,
        "memorySwap": int(host["MemorySwap"]) // MIB if int(host["MemorySwap"]) > 0 else int(host["MemorySwap"]),
        "logDriver": host["LogConfig"]["Type"],
        "logOpts": dict(host["LogConfig"]["Config"] or {}) if declared.get("logOpts") else None,
    }
    if declared.get("ports") and (inspect["State"]["Running"] or declared.get("mustRun")):
        state["ports"] = _ports(inspect["NetworkSettings"]["Ports"])
    if int(host["NanoCpus"]) > 0:
        state["cpus"] = nano_cpus_to_decimal(int(host["NanoCpus"]))
    return state


def _declared_value(key: str, value: Any) -> Any:
    """A declared input as the provider's schema types it (the wire brings ints as floats; unset is zero)."""
    if key in ("memory", "memorySwap"):
        return int(value or 0)
    if key == "restart":
        return value or "no"
    if key == "networkMode":
        return value or "bridge"
    if key == "ports":
        return [
            {
                "internal": int(p["internal"]),
                "external": int(p.get("external") or 0),
                "ip": p.get("ip") or "0.0.0.0",  # noqa: S104 - the schema's default for ports.ip
                "protocol": p.get("protocol") or "tcp",
            }
            for p in value or []
        ]
    if key == "logOpts":
        return dict(value) if value else None
    return value


def container_drift(declared: dict[str, Any], inspect: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Read-back fields whose stored value differs from the declared one: (declared, stored) by key. Empty
    means the next `pulumi up` neither replaces nor updates the container."""
    state = container_state(inspect, declared)
    drift = {}
    for key, stored in state.items():
        wanted = _declared_value(key, declared.get(key))
        if wanted != stored:
            drift[key] = (wanted, stored)
    return drift


def volume_state(inspect: dict[str, Any]) -> dict[str, Any]:
    """resourceDockerVolumeRead, from ``docker volume inspect``."""
    return {
        "name": inspect["Name"],
        "labels": sorted((k, v) for k, v in (inspect.get("Labels") or {}).items()),
        "driver": inspect["Driver"],
        "driverOpts": dict(inspect.get("Options") or {}),
    }


def volume_drift(
    declared: dict[str, Any], inspect: dict[str, Any], ignore_changes: list[str] | tuple[str, ...] = ()
) -> dict[str, tuple[Any, Any]]:
    """ForceNew volume fields that differ, after the bridge drops ignored attributes from the provider's
    diff (pulumi/pulumi-terraform-bridge pkg/tfshim/sdk-v2/instance_diff.go processIgnoreChanges). ``driver``
    is Optional+Computed: left undeclared it is no change."""
    state = volume_state(inspect)
    wanted = {
        "name": declared.get("name"),
        "labels": sorted((d["label"], d["value"]) for d in declared.get("labels") or []),
        "driverOpts": dict(declared.get("driverOpts") or {}),
    }
    if declared.get("driver"):
        wanted["driver"] = declared["driver"]
    return {
        key: (value, state[key])
        for key, value in wanted.items()
        if key in VOLUME_FORCE_NEW and key not in ignore_changes and value != state[key]
    }
