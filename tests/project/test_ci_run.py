""".ci/run works on a fresh Debian machine: CI runs `bash .ci/run` on one.

.ci/run creates the venv with ``python3 -m venv`` before anything else Python. On Debian, python3 is not
part of a minimal system and the venv module's ``ensurepip`` is split into the ``python3-venv`` package
(without it: "ensurepip is not available ... you need to install the python3-venv package"), so both must be
in the list of Debian packages the script installs when missing.
"""

from __future__ import annotations

import re

from tests.support.paths import ROOT


def _debian_packages() -> set[str]:
    script = (ROOT / ".ci" / "run").read_text()
    (listed,) = re.findall(r"^for pkg in ([^;]+); do", script, flags=re.MULTILINE)
    return set(listed.split())


def test_ci_run_installs_what_python3_m_venv_needs_on_a_fresh_debian() -> None:
    script = (ROOT / ".ci" / "run").read_text()
    assert "python3 -m venv" in script
    missing = {"python3", "python3-venv"} - _debian_packages()
    assert not missing, f".ci/run runs `python3 -m venv` but never installs {sorted(missing)}"
