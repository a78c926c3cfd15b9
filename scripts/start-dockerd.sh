#!/usr/bin/env bash
# Make sure a Docker engine answers on this machine, starting dockerd as root when none does.
#
# Idempotent: when `docker info` answers it does nothing. Otherwise it starts dockerd in the background
# (logging to $DOCKERD_LOG) and waits up to $DOCKERD_WAIT_SECONDS for it. On these sandboxes the default
# flags work (overlay2 storage, iptables, the userland proxy for 127.0.0.1 port publishing); should dockerd
# exit at start-up with them, it is retried once with the flags that need the least from the kernel
# (vfs storage, no iptables: ports published on 127.0.0.1 still work through docker-proxy).
#
# Environment:
#   DOCKERD_FLAGS          extra flags for dockerd (used for the first attempt; no fallback when set)
#   DOCKERD_LOG            log file (default: /tmp/dockerd.log)
#   DOCKERD_WAIT_SECONDS   how long to wait for `docker info` (default: 60)
set -euo pipefail

log="${DOCKERD_LOG:-/tmp/dockerd.log}"
wait_seconds="${DOCKERD_WAIT_SECONDS:-60}"
fallback_flags="--storage-driver=vfs --iptables=false --ip-masq=false"

die() {
    echo "start-dockerd: $*" >&2
    if [[ -s "$log" ]]; then
        echo "start-dockerd: last lines of $log:" >&2
        tail -n 30 "$log" >&2
    fi
    exit 1
}

answers() {
    docker info >/dev/null 2>&1
}

if answers; then
    echo "start-dockerd: the Docker engine already answers"
    exit 0
fi

command -v docker >/dev/null || die "docker CLI not found: install Debian's docker.io package"
command -v dockerd >/dev/null || die "dockerd not found: install Debian's docker.io package"
[[ "$(id -u)" == "0" ]] || die "dockerd must be started as root (run this script as root)"

# A process that has not exited (zombies, which `kill -0` and pgrep still see, count as exited).
alive() {
    local state
    state="$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" || return 1
    [[ -n "$state" && "$state" != "Z" && "$state" != "X" ]]
}

# Wait for a dockerd that is running (ours or one already starting); returns 1 as soon as it exits.
wait_for() {
    local pid="$1" deadline=$((SECONDS + wait_seconds))
    while ((SECONDS < deadline)); do
        answers && return 0
        alive "$pid" || return 1
        sleep 0.5
    done
    answers
}

# A dockerd may already be starting (another caller of this script): wait for it rather than start a
# second one, which would fail on the pid file. One that exits meanwhile is replaced below.
for running in $(pgrep -x dockerd || true); do
    alive "$running" || continue
    echo "start-dockerd: dockerd (pid $running) is running but not answering yet; waiting"
    if wait_for "$running"; then
        echo "start-dockerd: the Docker engine answers"
        exit 0
    fi
    alive "$running" && die "dockerd (pid $running) is running but did not answer within ${wait_seconds}s"
    echo "start-dockerd: dockerd (pid $running) exited; starting a new one"
done

start() {
    local flags="$1"
    echo "start-dockerd: starting dockerd ${flags:-(default flags)}; log: $log"
    # setsid: the daemon must outlive the shell (and the CI step) that started it.
    # shellcheck disable=SC2086 # flags are a word list on purpose
    setsid dockerd $flags >>"$log" 2>&1 </dev/null &
    started_pid=$!
    # setsid execs dockerd in place unless it has to fork (when it leads its process group): then the pid
    # to watch is the newest dockerd.
    sleep 0.2
    if [[ "$(cat "/proc/$started_pid/comm" 2>/dev/null)" != "dockerd" ]]; then
        started_pid="$(pgrep -n -x dockerd || echo "$started_pid")"
    fi
}

# A pid file left by a dockerd that was killed (its pid may still show as a zombie, which dockerd
# takes for a running daemon) would stop the new one at start-up.
pid_file=/var/run/docker.pid
if [[ -f "$pid_file" ]] && ! alive "$(cat "$pid_file" 2>/dev/null || echo 0)"; then
    echo "start-dockerd: removing stale $pid_file"
    rm -f "$pid_file"
fi

: >"$log"
start "${DOCKERD_FLAGS:-}"
if wait_for "$started_pid"; then
    echo "start-dockerd: the Docker engine answers"
    exit 0
fi

if alive "$started_pid"; then
    die "dockerd (pid $started_pid) did not answer within ${wait_seconds}s"
fi
if [[ -n "${DOCKERD_FLAGS:-}" ]]; then
    die "dockerd exited at start-up with DOCKERD_FLAGS=$DOCKERD_FLAGS"
fi

echo "start-dockerd: dockerd exited at start-up with the default flags; retrying with: $fallback_flags" >&2
tail -n 10 "$log" >&2 || true
start "$fallback_flags"
if wait_for "$started_pid"; then
    echo "start-dockerd: the Docker engine answers (fallback flags)"
    exit 0
fi
die "dockerd did not answer within ${wait_seconds}s, with the default flags nor with: $fallback_flags"
