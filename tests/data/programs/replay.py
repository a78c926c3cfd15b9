"""The dev stack's resources declared again with literal inputs: no config, no components, no Outputs.

It is the floor for registering that many resources under the mocks, so the benchmark can tell the
program's own cost from Pulumi's per-resource registration cost.
"""

import pulumi

from tests.data.programs import REPLAY

for type_, name, inputs, custom in REPLAY:
    if custom:
        pulumi.CustomResource(type_, name, dict(inputs))
    else:
        pulumi.ComponentResource(type_, name, None)
