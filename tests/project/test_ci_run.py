"""scripts/test.sh, the README's test command that .ci/run runs: set-up on a fresh machine, then pytest.

CI runs `bash .ci/run` with CI=true in a fresh clone on a fresh Debian machine. The script creates the venv with
``python3 -m venv`` before anything else Python. On Debian, python3 is not part of a minimal system and the venv
module's ``ensurepip`` is split into the ``python3-venv`` package (without it: "ensurepip is not available ...
you need to install the python3-venv package"), so both must be in the list of Debian packages the script
installs when missing. Run a second time, the script must skip what is done and go straight to the tests, and
it passes its arguments to pytest.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

from tests.support.paths import ROOT

SCRIPT = ROOT / "scripts" / "test.sh"


def _debian_packages() -> set[str]:
    script = SCRIPT.read_text()
    (listed,) = re.findall(r"^for pkg in ([^;]+); do", script, flags=re.MULTILINE)
    return set(listed.split())


def test_the_test_script_installs_what_python3_m_venv_needs_on_a_fresh_debian() -> None:
    script = SCRIPT.read_text()
    assert "python3 -m venv" in script
    missing = {"python3", "python3-venv"} - _debian_packages()
    assert not missing, f"scripts/test.sh runs `python3 -m venv` but never installs {sorted(missing)}"


def test_ci_run_runs_the_test_script_and_nothing_else() -> None:
    commands = [line for line in (ROOT / ".ci" / "run").read_text().splitlines() if line and not line.startswith("#")]
    assert commands == ["set -euo pipefail", 'cd "$(dirname "$0")/.."', "bash scripts/test.sh"]


def _stub(path: Path, body: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/usr/bin/env bash\n" + body + "\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def _checkout_with_stubs(tmp_path: Path) -> tuple[Path, Path, dict[str, str]]:
    """A copy of the script in a checkout whose tools only write what they were asked into a log."""
    checkout, log = tmp_path / "checkout", tmp_path / "calls.log"
    (checkout / "scripts").mkdir(parents=True)
    shutil.copy(SCRIPT, checkout / "scripts" / "test.sh")
    for name in ("requirements.txt", "requirements-dev.txt"):
        shutil.copy(ROOT / name, checkout / name)
    record = f'echo "$(basename "$0") $* REQUIRE_DOCKER=${{REQUIRE_DOCKER:-}} CLI=${{PULUMI_CLI_ROOT:-}}" >> {log}'
    _stub(checkout / ".venv" / "bin" / "python", record)
    _stub(checkout / ".venv" / "bin" / "ruff", record)
    _stub(checkout / "scripts" / "start-dockerd.sh", record)
    _stub(checkout / "scripts" / "build-standin-image.sh", record)
    _stub(checkout / "scripts" / "build-pulumi-cli.sh", record + "\necho /cache/pulumi-cli")
    tools = tmp_path / "bin"
    _stub(tools / "dpkg", record)  # every package is installed
    _stub(tools / "docker", record)  # the engine answers
    _stub(tools / "sudo", 'exec "$@"')
    env = {key: value for key, value in os.environ.items() if key not in ("PULUMI_CLI_ROOT", "REQUIRE_DOCKER")}
    env["PATH"] = f"{tools}:{env['PATH']}"
    return checkout, log, env


def test_the_test_script_sets_up_once_and_passes_its_arguments_to_pytest(tmp_path: Path) -> None:
    checkout, log, env = _checkout_with_stubs(tmp_path)
    script = str(checkout / "scripts" / "test.sh")

    subprocess.run(["bash", script, "-m", "cli", "-k", "quick start"], env=env, check=True, capture_output=True)
    first = log.read_text().splitlines()
    assert {line.split()[2] for line in first if line.startswith("dpkg -s")} == _debian_packages()
    pip = "python -m pip install -q --disable-pip-version-check -r requirements-dev.txt REQUIRE_DOCKER= CLI="
    assert first.index(pip) < first.index("docker info REQUIRE_DOCKER= CLI=")
    assert [line for line in first if line.startswith("build-standin-image.sh")] == [
        f"build-standin-image.sh {recipe} REQUIRE_DOCKER= CLI=" for recipe in ("legacy", "oci", "proxy")
    ]
    assert "ruff check . REQUIRE_DOCKER= CLI=/cache/pulumi-cli" in first
    assert first[-1] == "python -m pytest -m cli -k quick start REQUIRE_DOCKER=1 CLI=/cache/pulumi-cli"
    assert not any(line.startswith("start-dockerd.sh") for line in first), "the engine answered: not started"

    log.unlink()
    subprocess.run(["bash", script], env={**env, "PULUMI_CLI_ROOT": "/mine"}, check=True, capture_output=True)
    second = log.read_text().splitlines()
    assert not any("pip install" in line for line in second), "the requirements did not change: no pip"
    assert not any(line.startswith("build-pulumi-cli.sh") for line in second), "PULUMI_CLI_ROOT is the user's"
    assert second[-1] == "python -m pytest REQUIRE_DOCKER=1 CLI=/mine"

    (checkout / "requirements-dev.txt").write_text((ROOT / "requirements-dev.txt").read_text() + "extra==1.0\n")
    log.unlink()
    subprocess.run(["bash", script], env=env, check=True, capture_output=True)
    assert any("pip install" in line for line in log.read_text().splitlines()), "a changed requirements file"
