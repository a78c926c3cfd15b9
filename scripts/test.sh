#!/usr/bin/env bash
# Set up this machine for the tests and run them: bash scripts/test.sh [pytest arguments...]
#
# On a fresh Debian machine it installs everything the tests need, starts the Docker engine, builds the
# stand-in images and the real Pulumi CLI, lints, and runs the whole suite with REQUIRE_DOCKER=1 (a missing
# engine or CLI fails the run instead of skipping). Each step is skipped when already done, so a second run goes
# straight to the tests. Arguments are passed to pytest (`bash scripts/test.sh -m cli`, `... tests/config/test_refusals.py`).
# `.ci/run` runs exactly `bash scripts/test.sh`; docs/testing.md describes the steps.
#
# Environment:
#   PULUMI_CLI_ROOT   a Pulumi CLI folder of your own (docs/testing.md); otherwise scripts/build-pulumi-cli.sh
#                     builds one, or reuses its cache
#   and those of scripts/start-dockerd.sh, scripts/build-standin-image.sh and scripts/build-pulumi-cli.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

echo "== Debian packages: docker.io (engine), docker-registry (stand-in servers), nginx (stand-in proxy),"
echo "   apache2-utils (htpasswd), iproute2 (a second engine's bridge)"
missing=()
for pkg in python3 python3-venv docker.io docker-registry nginx apache2-utils iproute2; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
    # Only the binaries are wanted: a policy-rc.d that says no keeps the nginx package from starting a
    # server on this machine's port 80 (removed again if this run put it there).
    policy_added=0
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' | as_root tee /usr/sbin/policy-rc.d >/dev/null
        as_root chmod 755 /usr/sbin/policy-rc.d
        policy_added=1
    fi
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
    if [ "$policy_added" -eq 1 ]; then
        as_root rm -f /usr/sbin/policy-rc.d
    fi
fi

echo "== Python dependencies (.venv)"
if ! .venv/bin/python -c "" 2>/dev/null; then
    python3 -m venv --clear .venv
fi
# pip runs only when a requirements file changed since the last install into this .venv.
stamp=.venv/.requirements.sha256
wanted="$(cat requirements.txt requirements-dev.txt | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null || true)" != "$wanted" ]; then
    .venv/bin/python -m pip install -q --disable-pip-version-check -r requirements-dev.txt
    echo "$wanted" >"$stamp"
fi

echo "== Docker engine"
if ! docker info >/dev/null 2>&1; then
    as_root bash scripts/start-dockerd.sh
fi

echo "== Stand-in images (legacy registry, OCI registry, nginx proxy)"
for recipe in legacy oci proxy; do
    as_root bash scripts/build-standin-image.sh "$recipe"
done

echo "== The real Pulumi CLI and the YAML language host (built from the Go module proxy, cached)"
if [ -z "${PULUMI_CLI_ROOT:-}" ]; then
    PULUMI_CLI_ROOT="$(bash scripts/build-pulumi-cli.sh)"
fi
export PULUMI_CLI_ROOT

echo "== Lint"
.venv/bin/ruff check .

echo "== Tests"
# Integration and CLI tests fail, never skip, when Docker or the CLI is missing (tests/support/docker_support.py
# docker_required).
export REQUIRE_DOCKER=1
# pytest's list of failures is repeated as the run's last lines: whatever the interpreter prints while it exits comes
# after pytest's own summary, and a CI log shown by its tail would hide it.
output="$(mktemp)"
trap 'rm -f "$output"' EXIT
# tee -i: on Ctrl-C tee outlives pytest, whose summary of the interrupted run still reaches the terminal. The status
# is pytest's own (tee's only when pytest passed and tee could not write).
set +e
.venv/bin/python -m pytest "$@" 2>&1 | tee -i "$output"
statuses=("${PIPESTATUS[@]}")
set -e
status="${statuses[0]}"
if [ "$status" -eq 0 ]; then status="${statuses[1]}"; fi
if [ "$status" -ne 0 ]; then
    echo "== Tests failed (pytest exit status $status)"
    # The summary line is framed by = signs, but not with -q; "ERROR: " is a usage error (exit status 4).
    grep -E '^(FAILED|ERROR) |^ERROR: |^(=+ )?(no tests ran|[0-9]+ (failed|passed|errors?|skipped|deselected|xfailed|xpassed|warnings?)\b.*) in [0-9.]+s\b' "$output" || true
fi
exit "$status"
