"""The real Pulumi CLI for the tests: where it is, and a stack in a folder of the test's own.

``PULUMI_CLI_ROOT`` names a folder holding ``bin/pulumi``, the YAML language host and the Python SDK's two helper
scripts (``scripts/build-pulumi-cli.sh`` builds one from the Go module proxy and prints its path; scripts/test.sh
exports it). Unset, the tests ask that script, which reuses its cache (a second) or builds (about 6 minutes).

Each ``CliStack`` runs offline and repeatably: its own ``PULUMI_HOME``, a ``file://`` backend in the test's folder,
a passphrase secrets provider, no update check and no plugin downloads. ``PATH`` puts the stand-in provider plugins
(``tests/cli/plugins/bin``) first: the CLI takes a plugin found on ``PATH`` before its plugin cache (pulumi/pulumi
sdk/go/common/workspace/plugins.go ``getPluginInfoAndPath``, warning "using ... from $PATH").
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.cli.plugins.environment import ROOT, plugin_env

BUILD_SCRIPT = ROOT / "scripts" / "build-pulumi-cli.sh"
PROJECT = "palette-pack-registry"
PASSPHRASE = "cli-tests-only-passphrase"
CLI_ROOT_VARIABLE = "PULUMI_CLI_ROOT"
_OPERATION_TIMEOUT = 900


class CliUnavailable(RuntimeError):
    """The CLI could not be found or built."""


def cli_root() -> Path:
    """The folder with ``bin/pulumi``: ``PULUMI_CLI_ROOT``, or what the build script reuses or builds."""
    configured = os.environ.get(CLI_ROOT_VARIABLE)
    if configured:
        root = Path(configured)
        if not (root / "bin" / "pulumi").is_file():
            raise CliUnavailable(f"{CLI_ROOT_VARIABLE}={configured} holds no bin/pulumi")
        return root
    result = subprocess.run(["bash", str(BUILD_SCRIPT)], capture_output=True, text=True, check=False, timeout=1800)
    if result.returncode != 0:
        raise CliUnavailable(f"scripts/build-pulumi-cli.sh failed: {result.stderr.strip()[-2000:]}")
    return Path(result.stdout.strip().splitlines()[-1])


@dataclass
class Result:
    """What one operation did: its change summary, outputs (``up``), and the CLI's output or error."""

    op: str
    ok: bool
    changes: dict[str, int] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    stdout: str = ""
    error: str = ""
    cli_seconds: float | None = None
    """How long the ``pulumi <op>`` command itself ran (the Automation API runs others around it)."""

    @property
    def text(self) -> str:
        return self.stdout + self.error

    def changed(self) -> dict[str, int]:
        """The counts of every kind of step except ``same``."""
        return {kind: count for kind, count in self.changes.items() if kind != "same" and count}


def cli_environment(root: Path, home: Path, backend: Path, extra: Mapping[str, str] = ()) -> dict[str, str]:
    """The variables every CLI run sets: offline, in the test's folders, the stand-in plugins and this virtualenv
    first on PATH (``plugin_env``), the CLI's own folder after them."""
    paths = plugin_env({"PATH": ""})
    env = {
        "PATH": os.pathsep.join([paths["PATH"].rstrip(os.pathsep), str(root / "bin"), os.environ.get("PATH", "")]),
        "PYTHONPATH": paths["PYTHONPATH"],
        "PULUMI_HOME": str(home),
        "PULUMI_BACKEND_URL": backend.as_uri(),
        "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE,
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
        # The dynamic providers run `python -m pulumi.dynamic` from this virtualenv
        # (sdk/python/dist/pulumi-resource-pulumi-python), and unpickle the project's modules by name.
        "PULUMI_RUNTIME_VIRTUALENV": str(Path(sys.executable).parent.parent),
        CLI_ROOT_VARIABLE: str(root),
    }
    env.update(extra)
    return env


@dataclass
class Operation:
    """A running operation: its child process, and the ``pulumi`` process the Automation API started in it."""

    op: str
    process: subprocess.Popen

    def cli_pid(self, timeout: float = 60) -> int:
        """The pid of the ``pulumi <op>`` process running this operation (a child of the runner, which first runs
        other commands: ``version``, ``stack select``), once it runs."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for pid in _children(self.process.pid):
                try:
                    arguments = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
                except OSError:
                    continue
                if Path(arguments[0].decode()).name == "pulumi" and self.op.encode() in arguments[1:3]:
                    return pid
            time.sleep(0.05)
        raise AssertionError(f"no pulumi process under the runner of {self.op} within {timeout}s")

    def kill_all(self) -> None:
        """SIGKILL to the runner, its ``pulumi`` and the plugins the CLI started, all in the runner's own session:
        what a dying CI runner or a closed laptop does. Killing ``pulumi`` alone would leave its plugins waiting
        for an engine that is gone; the CLI starts each in a process group of its own
        (sdk/go/common/util/cmdutil/child_unix.go ``Setpgid``), so the session is what holds them all."""
        for pid in _in_session(self.process.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def wait(self) -> Result:
        try:
            stdout, stderr = self.process.communicate(timeout=_OPERATION_TIMEOUT)
        except subprocess.TimeoutExpired:
            # Not left running: a pulumi process past its time would hold the stack's lock through the teardown.
            self.kill_all()
            stdout, stderr = self.process.communicate()
            return Result(
                op=self.op, ok=False, stdout=stdout, error=f"timed out after {_OPERATION_TIMEOUT} s\n{stderr}"
            )
        last = stdout.strip().splitlines()[-1] if stdout.strip() else ""
        try:
            answer = json.loads(last)
        except json.JSONDecodeError:
            return Result(op=self.op, ok=False, stdout=stdout, error=stderr)
        return Result(
            op=answer["op"],
            ok=answer["ok"],
            changes=answer.get("changes") or {},
            outputs=answer.get("outputs") or {},
            stdout=answer.get("stdout", ""),
            error=answer.get("error", "") + stderr,
            cli_seconds=answer.get("cli_seconds"),
        )


def _processes() -> Iterator[tuple[int, list[str]]]:
    """Every process's pid and the fields of its /proc stat after the command (state, ppid, pgrp, session, ...)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            yield int(stat.parent.name), stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue


def _children(pid: int) -> list[int]:
    """The processes whose parent is ``pid``."""
    return [child for child, fields in _processes() if int(fields[1]) == pid]


def _in_session(session: int) -> list[int]:
    """The processes of a session (the runner's: started with ``start_new_session``)."""
    return [member for member, fields in _processes() if int(fields[3]) == session]


@dataclass
class CliStack:
    """A stack of a project folder, operated through the real CLI (one child process per operation)."""

    project_dir: Path
    stack: str
    root: Path
    env: dict[str, str]
    project: str = PROJECT

    @property
    def state_file(self) -> Path:
        """The file backend's checkpoint of this stack."""
        backend = Path(self.env["PULUMI_BACKEND_URL"].removeprefix("file://"))
        return backend / ".pulumi" / "stacks" / self.project / f"{self.stack}.json"

    def state(self) -> dict[str, Any]:
        return json.loads(self.state_file.read_text(encoding="utf-8"))

    def resources(self) -> list[dict[str, Any]]:
        return self.state()["checkpoint"].get("latest", {}).get("resources") or []

    def start(self, request: dict[str, Any], env: Mapping[str, str] | None = None) -> Operation:
        """Starts one operation in its child process (``stack_command``); ``Operation.wait`` gives its result."""
        env_all = {**self.env, **(env or {})}
        payload = {
            "project_dir": str(self.project_dir),
            "project": self.project,
            "stack": self.stack,
            "cli_root": str(self.root),
            "env": env_all,
            **request,
        }
        with tempfile.TemporaryFile("w+") as request_file:
            json.dump(payload, request_file)
            request_file.seek(0)
            process = subprocess.Popen(
                [sys.executable, "-m", "tests.cli.stack_command"],
                stdin=request_file,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                cwd=self.project_dir,
                env={**os.environ, **env_all},
                # A session of its own, with the CLI and the plugins in it (Operation.kill_all).
                start_new_session=True,
            )
        return Operation(request["op"], process)

    def _run(self, request: dict[str, Any], env: Mapping[str, str] | None = None) -> Result:
        return self.start(request, env).wait()

    def configure(self, config: Mapping[str, Any], secrets: Sequence[str] = (), remove: Sequence[str] = ()) -> None:
        """``pulumi config set [--secret] [--path]`` for each key (lists become ``key[i]`` paths)."""
        flat: dict[str, Any] = {}
        secret_paths: list[str] = []
        for key, value in config.items():
            items = value if isinstance(value, list | tuple) else None
            paths = [f"{key}[{index}]" for index in range(len(items))] if items is not None else [key]
            values = list(items) if items is not None else [value]
            for path, item in zip(paths, values, strict=True):
                flat[path] = json.dumps(item) if isinstance(item, bool) else item
                if key in secrets:
                    secret_paths.append(path)
        result = self._run({"op": "config", "config": flat, "secrets": secret_paths, "remove": list(remove)})
        assert result.ok, result.text

    def preview(self, **options: Any) -> Result:
        return self._run({"op": "preview", "options": options})

    def up(self, env: Mapping[str, str] | None = None, **options: Any) -> Result:
        return self._run({"op": "up", "options": options}, env)

    def refresh(self, env: Mapping[str, str] | None = None, **options: Any) -> Result:
        return self._run({"op": "refresh", "options": options}, env)

    def destroy(self, env: Mapping[str, str] | None = None) -> Result:
        return self._run({"op": "destroy"}, env)

    def cli(
        self, *args: str, env: Mapping[str, str] | None = None, cwd: Path | None = None
    ) -> subprocess.CompletedProcess:
        """The ``pulumi`` binary itself, for what needs no program (``stack export``, ``cancel``, a YAML project)."""
        return subprocess.run(
            [str(self.root / "bin" / "pulumi"), *args, "--non-interactive"],
            capture_output=True,
            text=True,
            cwd=cwd or self.project_dir,
            env={**os.environ, **self.env, **(env or {})},
            timeout=_OPERATION_TIMEOUT,
            check=False,
        )


def project_copy(target: Path, stack_files: Sequence[str] = ("Pulumi.dev.yaml",)) -> Path:
    """The project's files that the CLI reads, in a folder of the test's own (the stack files the CLI writes stay
    out of the repository): Pulumi.yaml, the program and the committed stack files. ``components`` is imported
    from the repository (``PYTHONPATH``), so its defaults and relative pack paths are the repository's."""
    target.mkdir(parents=True, exist_ok=True)
    for name in ("Pulumi.yaml", "__main__.py", "requirements.txt", *stack_files):
        shutil.copy2(ROOT / name, target / name)
    return target
