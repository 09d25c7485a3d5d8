#!/usr/bin/env bash
# scripts/slurm/stop.sh [--wipe] - stop what scripts/slurm/start.sh started. Idempotent.
#
# Cancels the jobs still queued or running (so no job step outlives its daemon), then stops
# slurmd and slurmctld, and munged last. Processes are found through their pidfiles only.
#   --wipe  also remove Slurm's state and logs, so the next start begins again at job id 1.
set -uo pipefail

wipe=0
[ "${1:-}" = --wipe ] && wipe=1
say() { echo "[slurm/stop] $*" >&2; }
[ "$(id -u)" -eq 0 ] || { say "run me as root"; exit 1; }

# SIGTERM the program named in pidfile $1 if it really is $2; print its pid for `reap`.
signal_pidfile() {
  local pid
  pid=$(cat "$1" 2>/dev/null) || return 0
  if [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$2" ]; then
    say "stopping $2 (pid $pid)"
    kill -TERM "$pid" 2>/dev/null && echo "$pid"
  fi
  rm -f "$1"
}

# Wait up to 10 s for the given pids to exit, then SIGKILL the stragglers.
reap() {
  local pid left i
  for i in $(seq 100); do
    left=0
    for pid in "$@"; do kill -0 "$pid" 2>/dev/null && left=1; done
    [ "$left" -eq 0 ] && return 0
    sleep 0.1
  done
  for pid in "$@"; do
    if kill -0 "$pid" 2>/dev/null; then say "pid $pid ignored SIGTERM: SIGKILL"; kill -KILL "$pid"; fi
  done
}

if command -v scontrol >/dev/null && timeout 5 scontrol ping 2>/dev/null | grep -q "is UP"; then
  jobs=$(squeue -h -o %i 2>/dev/null | tr '\n' ' ')
  if [ -n "${jobs// /}" ]; then
    say "cancelling jobs $jobs"
    # shellcheck disable=SC2086
    scancel $jobs 2>/dev/null
    for _ in $(seq 75); do
      [ -z "$(squeue -h -o %i 2>/dev/null)" ] && break
      sleep 0.2
    done
  fi
fi

# both Slurm daemons at once (each takes a second or two), munged after them
# shellcheck disable=SC2046
reap $(signal_pidfile /run/slurmd.pid slurmd) $(signal_pidfile /run/slurmctld.pid slurmctld)
# shellcheck disable=SC2046
reap $(signal_pidfile /run/munge/munged.pid munged)

if [ "$wipe" -eq 1 ]; then
  say "removing Slurm state and logs"
  rm -rf /var/spool/slurmctld /var/spool/slurmd
  rm -f /var/log/slurm/slurmctld.log /var/log/slurm/slurmd.log
fi
exit 0
