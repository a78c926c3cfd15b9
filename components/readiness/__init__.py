"""The readiness gate: the dynamic resource (``gate``) and the polling and diagnosis behind it (``probe``).

The state names the provider ``components.readiness.ReadinessGateProvider`` (pickled by reference): it is exported
here under that name.
"""

from components.readiness.gate import (
    DEFAULT_CATALOG_PATH,
    DEFAULT_HEALTH_PATH,
    DEFAULT_INTERVAL_SECONDS,
    DEFAULT_TIMEOUT_SECONDS,
    INPUT_KEYS,
    ReadinessGate,
    ReadinessGateProvider,
    RegistryNotReady,
)

__all__ = [
    "DEFAULT_CATALOG_PATH",
    "DEFAULT_HEALTH_PATH",
    "DEFAULT_INTERVAL_SECONDS",
    "DEFAULT_TIMEOUT_SECONDS",
    "INPUT_KEYS",
    "ReadinessGate",
    "ReadinessGateProvider",
    "RegistryNotReady",
]
