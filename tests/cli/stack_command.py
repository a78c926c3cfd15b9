"""One Pulumi operation on a stack through the real CLI, run in a child process of the test.

The Python language host cannot be had here, so the program is served the way the Automation API serves an
inline program: the SDK's in-process language server runs it and passes the CLI ``--client=<address>``
(pulumi/pulumi sdk/python/lib/pulumi/automation/_stack.py ``_run_inline_program`` -> ``LanguageServer``).
Everything else is the CLI's: the engine, the state, the secrets provider, the plugins, and the dynamic
providers through ``pulumi-resource-pulumi-python``. The program is the project's own ``__main__.py`` run with
``runpy``, as the Python host would run it.

A child process because ``pulumi.runtime`` settings are process-global: one operation per process, like a
``pulumi`` command.

Reads one JSON request on stdin and writes one JSON result as the last line of stdout (see ``pulumi_cli.py``).
"""

from __future__ import annotations

import json
import os
import runpy
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from pulumi import automation as auto


class TimedCommand(auto.PulumiCommand):
    """The CLI, with the wall time of each command it runs: what a user waits for after typing ``pulumi up``
    is that command alone, not the ``stack select`` before it or the output reads the Automation API adds."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.seconds: dict[str, float] = {}

    def run(self, args: list[str], *rest: Any, **kwargs: Any) -> auto.CommandResult:
        verb = args[0]  # before the SDK adds its flags in front
        started = time.monotonic()
        try:
            return super().run(args, *rest, **kwargs)
        finally:
            self.seconds[verb] = time.monotonic() - started


def _program(project_dir: Path) -> auto.PulumiFn:
    def run() -> None:
        runpy.run_path(str(project_dir / "__main__.py"), run_name="__main__")

    return run


def _stack(request: dict[str, Any], command: TimedCommand) -> auto.Stack:
    project_dir = Path(request["project_dir"])
    options = auto.LocalWorkspaceOptions(
        work_dir=str(project_dir),
        pulumi_home=request["env"]["PULUMI_HOME"],
        env_vars=request["env"],
        secrets_provider="passphrase",
        pulumi_command=command,
    )
    return auto.create_or_select_stack(
        stack_name=request["stack"],
        project_name=request["project"],
        program=_program(project_dir),
        opts=options,
    )


def _outputs(stack: auto.Stack) -> dict[str, Any]:
    return {key: {"value": out.value, "secret": out.secret} for key, out in stack.outputs().items()}


def run(request: dict[str, Any]) -> dict[str, Any]:
    command = TimedCommand(root=request["cli_root"], skip_version_check=False)
    stack = _stack(request, command)
    lines: list[str] = []
    operation = request["op"]
    options = request.get("options") or {}
    result: dict[str, Any] = {"op": operation}
    if operation == "config":
        values = {
            key: auto.ConfigValue(value=str(value), secret=key in request.get("secrets", ()))
            for key, value in request["config"].items()
        }
        stack.set_all_config(values, path=True)
        for key in request.get("remove", ()):
            stack.remove_config(key, path=True)
        return result
    if operation == "preview":
        preview = stack.preview(
            on_output=lines.append,
            diff=options.get("diff", False),
            expect_no_changes=options.get("expect_no_changes", False),
            refresh=options.get("refresh", False),
        )
        result["changes"] = dict(preview.change_summary)
    elif operation == "up":
        up = stack.up(
            on_output=lines.append,
            expect_no_changes=options.get("expect_no_changes", False),
            refresh=options.get("refresh", False),
            replace=options.get("replace"),
            diff=options.get("diff", False),
        )
        result["changes"] = dict(up.summary.resource_changes or {})
        result["outputs"] = {key: {"value": out.value, "secret": out.secret} for key, out in up.outputs.items()}
    elif operation == "refresh":
        refresh = stack.refresh(on_output=lines.append, clear_pending_creates=options.get("clear_pending_creates"))
        result["changes"] = dict(refresh.summary.resource_changes or {})
    elif operation == "destroy":
        destroy = stack.destroy(on_output=lines.append)
        result["changes"] = dict(destroy.summary.resource_changes or {})
    elif operation == "outputs":
        result["outputs"] = _outputs(stack)
    else:
        raise ValueError(f"unknown operation {operation!r}")
    result["stdout"] = "\n".join(lines)
    result["cli_seconds"] = command.seconds.get(operation)
    return result


def main() -> None:
    request = json.load(sys.stdin)
    os.chdir(request["project_dir"])
    try:
        result = run(request)
        result["ok"] = True
    except auto.CommandError as error:
        result = {"op": request["op"], "ok": False, "error": str(error)}
    except Exception:
        result = {"op": request["op"], "ok": False, "error": traceback.format_exc()}
    sys.stdout.write("\n" + json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
