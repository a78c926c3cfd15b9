"""Pack registry for Spectro Cloud Palette: typed config in, one component, outputs out."""

import pulumi

from components.config import load_settings
from components.outputs_settle import settle_outputs
from components.pack_registry import PackRegistry
from components.pack_registry.outputs import registry_outputs

settings = load_settings()
registry = PackRegistry("pack-registry", settings)

for name, value in registry_outputs(registry, settings).items():
    pulumi.export(name, value)

settle_outputs()
