"""Where the stand-in plugins are, and the environment in which the CLI (or a test) finds and runs them."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

__all__ = ["BIN", "PLUGINS", "ROOT", "plugin_command", "plugin_env"]

ROOT = Path(__file__).resolve().parents[3]
BIN = Path(__file__).resolve().parent / "bin"
"""The folder of ``pulumi-resource-<name>`` executables: first on PATH, the CLI takes them over its cache."""
PLUGINS = ("docker", "random", "tls")


def plugin_env(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """``base`` (the process's environment by default) with the stand-ins' folder and this interpreter's bin
    folder (the venv's: its ``python3`` runs them) first on PATH, and the repository on PYTHONPATH."""
    env = dict(os.environ if base is None else base)
    # Not resolved: a venv's python is a symlink to the base interpreter, whose folder has no grpc.
    interpreter_bin = Path(sys.executable).parent
    env["PATH"] = os.pathsep.join([str(BIN), str(interpreter_bin), *filter(None, [env.get("PATH")])])
    env["PYTHONPATH"] = str(ROOT)
    return env


def plugin_command(name: str, engine_address: str = "127.0.0.1:0") -> list[str]:
    """How the engine starts a provider plugin: the executable, then the engine's address (plugin.go
    ExecPlugin; ``--logtostderr``, ``-v=N`` and ``--tracing`` come first when the CLI runs with them)."""
    return [str(BIN / f"pulumi-resource-{name}"), engine_address]
