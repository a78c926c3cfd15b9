"""Entry point of the component package: serves components.pack_registry.package.PackRegistry with the SDK's
component provider host, which infers the schema from it and prints the port it listens on, as the engine expects.

The Python language host runs this directory as ``python <plugin dir> <engine address> [flags]``
(pulumi/pulumi sdk/python/cmd/pulumi-language-python/main.go ``RunPlugin``). The plugin lives in its own directory
because the repository root is the program: Pulumi refuses a directory holding both Pulumi.yaml and
PulumiPlugin.yaml (sdk/go/common/workspace/loaders.go ``LoadBaseProjectFrom``), and the root's __main__.py is the
program's.

The package's name is the ``name`` given to the host (host.py ``component_provider_host`` -> the schema's ``name``
and every type token); PulumiPlugin.yaml has no name field (sdk/go/common/workspace/project.go ``PluginProject``).
Without a __main__.py the host would run ``python -m pulumi.run.plugin <pyproject name>`` instead, which needs a
buildable package (main.go ``RunPlugin``); a plain directory keeps the program's layout.
"""

import sys
import tomllib
from pathlib import Path

# The components live in the repository root, next to Pulumi.yaml (their defaults): importable from there.
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pulumi.provider import main  # noqa: E402 - after the path

from components.pack_registry.package import package_provider  # noqa: E402 - after the path

if __name__ == "__main__":
    version = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    # What component_provider_host does (host.py: main(ComponentProvider(...), sys.argv[1:])), with the
    # schema's secret arguments marked (components/pack_registry/package.py package_provider).
    main(package_provider(version), sys.argv[1:])
