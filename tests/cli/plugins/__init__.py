"""Stand-in provider plugins for the CLI tests: ``pulumi-resource-docker``, ``-tls`` and ``-random`` in ``bin/``.

The real plugins cannot be downloaded here. The CLI takes a provider plugin from ``$PATH`` before its plugin cache
(pulumi/pulumi sdk/go/common/workspace/plugins.go ``GetPluginPath``: "using %s from $PATH"), so a test puts
``bin/`` first on PATH (``process.plugin_env``). Each stand-in serves only the resource types the program
declares, with the real provider's property names, replacement rules and outputs: the gRPC side is written once
in ``server.py``; random and tls generate their material as the program's mocks do (tests/support/harness.py
``generate``); docker drives the configured Docker host through the docker CLI.
"""
