"""The whole pack registry as one component (``component``), the outputs it exposes (``outputs``), and the same
registry as a component package for any Pulumi language (``package``, ``package_args``)."""

from components.pack_registry.component import PackRegistry
from components.pack_registry.outputs import registry_outputs

__all__ = ["PackRegistry", "registry_outputs"]
