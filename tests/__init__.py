"""The suite, one folder per layer; a layer with fixtures or a marker of its own has them in its conftest.py:

- ``config/``: the stack's config parsed, every refusal naming the key and the fix.
- ``program/``: the program and its components under the Pulumi mocks; golden files and upgrades.
- ``package/``: the component package: its schema, its construct, the plugin over gRPC.
- ``palette/``: the Palette registration's provider, its client, the fake Palette.
- ``packs/``: the Pack provider, the pack archive, the OCI push client.
- ``readiness/``: the readiness gate's provider against real HTTPS servers.
- ``integration/``: the declared containers on a real Docker engine (marked ``integration``).
- ``benchmarks/``: measurements (marked ``benchmark``; ``integration`` too when on the engine).
- ``cli/``: the program under the real Pulumi CLI (marked ``cli``; it runs first).
- ``project/``: the README's tables and commands, .ci/run, when a missing Docker engine fails.

``support/`` holds the code the layers share (the harness under mocks, the fakes, the Docker helpers, the engine
model); ``data/`` the golden files, the schema snapshot, the sample pack and the programs the tests run. The
fixtures more than one layer takes are in ``conftest.py`` here. ``-m "not integration and not cli"`` runs the
layers that need neither Docker nor the CLI.
"""
