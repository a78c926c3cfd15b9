"""The readiness gate: the dynamic resource (``gate``) and the polling and diagnosis behind it (``probe``).

The state names the provider ``components.readiness.ReadinessGateProvider`` (pickled by reference): it is exported
here under that name.
"""

from components.readiness.gate import ReadinessGate, ReadinessGateProvider, RegistryNotReady

__all__ = ["ReadinessGate", "ReadinessGateProvider", "RegistryNotReady"]
