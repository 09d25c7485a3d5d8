#!/usr/bin/env bash
# scripts/slurm/start.sh - a real single-node Slurm for tests and CI, started without systemd.
#
# Runs as root on Debian 12 (Slurm 22.05, munge 0.5). Idempotent: daemons already running with the
# same configuration are left alone; a changed configuration restarts them. Returns only when the
# node is idle and a trivial job has run, then prints the node's sinfo line.
#
# Environment:
#   SLURM_CI_GPUS=2          fake GPUs declared through gres (0 = none, at most 5)
#   SLURM_CI_CPUS=8          CPUs the node advertises (more than the machine has is fine for tiny
#                            test jobs: it lets a minute-long timeout job run beside the others);
#                            0 = exactly what `slurmd -C` reports
#   SLURM_CI_PARTITION=debug
#   SLURM_CI_TIMEOUT=90      seconds to wait for each daemon, the node and the probe job
#   SLURM_CI_INSTALL=1       apt-get the packages when they are missing
set -euo pipefail

GPUS=${SLURM_CI_GPUS:-2}
CPUS=${SLURM_CI_CPUS:-8}
PARTITION=${SLURM_CI_PARTITION:-debug}
TIMEOUT=${SLURM_CI_TIMEOUT:-90}
HOST=$(hostname -s 2>/dev/null || uname -n)
HOST=${HOST%%.*}
CONF_DIR=/etc/slurm

say() { echo "[slurm/start] $*" >&2; }
fail() {
  say "ERROR: $*"
  local f
  for f in /var/log/munge/munged.log /var/log/slurm/slurmctld.log /var/log/slurm/slurmd.log; do
    if [ -f "$f" ]; then echo "----- last lines of $f" >&2; tail -n 25 "$f" >&2; fi
  done
  exit 1
}
[ "$(id -u)" -eq 0 ] || fail "run me as root (it installs packages and starts daemons)"

# Test files running in parallel may each call this script: one at a time (apt and the daemons
# must not be set up twice at once); the later callers then find everything running.
lock=/run/lock
[ -d "$lock" ] && [ -w "$lock" ] || lock=/tmp
exec 9>"$lock/lmtd-slurm-start.lock"
flock -w 600 9 || fail "another start.sh held the lock for 10 minutes"

# Is the process named in pidfile $1 alive and really program $2? (pids are reused)
running() {
  local pid
  pid=$(cat "$1" 2>/dev/null) || return 1
  [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$2" ]
}

# Poll a command until it succeeds; fail early when the daemon behind it died.
await() { # $1=what $2=pidfile $3=program, then the command
  local what=$1 pidfile=$2 prog=$3
  shift 3
  local start=$SECONDS
  until "$@" >/dev/null 2>&1; do
    [ $((SECONDS - start)) -lt "$TIMEOUT" ] || fail "gave up waiting for $what after ${TIMEOUT}s"
    # daemons fork before writing their pidfile: allow a moment before judging
    if [ $((SECONDS - start)) -ge 3 ] && ! running "$pidfile" "$prog"; then fail "$what died"; fi
    sleep 0.2
  done
}

halt() { # $1=pidfile $2=program: SIGTERM by pidfile, never by name
  if running "$1" "$2"; then
    local pid
    pid=$(cat "$1")
    kill -TERM "$pid"
    local i
    for i in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -f "$1"
}

# ------------------------------------------------------------------------------ packages
missing=0
for prog in slurmctld slurmd sbatch squeue scontrol munged; do
  command -v "$prog" >/dev/null || missing=1
done
if [ "$missing" -eq 1 ]; then
  [ "${SLURM_CI_INSTALL:-1}" = 1 ] || fail "Slurm or munge is not installed (SLURM_CI_INSTALL=0)"
  say "installing slurmctld slurmd slurm-client munge (no recommends)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends slurmctld slurmd slurm-client munge >/dev/null
fi

# ------------------------------------------------------------------------------ munge
install -d -o munge -g munge -m 0700 /etc/munge /var/log/munge
install -d -o munge -g munge -m 0711 /var/lib/munge
install -d -o munge -g munge -m 0755 /run/munge
if [ ! -s /etc/munge/munge.key ]; then
  say "no munge key shipped: generating one"
  head -c 1024 /dev/urandom >/etc/munge/munge.key
fi
chown munge:munge /etc/munge/munge.key
chmod 0400 /etc/munge/munge.key
if ! running /run/munge/munged.pid munged; then
  say "starting munged"
  runuser -u munge -- /usr/sbin/munged 9>&- || fail "munged would not start" # (the lock must not outlive us)
fi
await munged /run/munge/munged.pid munged sh -c 'munge -n | unmunge'

# ------------------------------------------------------------------------------ configuration
# Hardware as slurmd detects it, without the NodeName, e.g.
# "CPUs=2 Boards=1 SocketsPerBoard=1 CoresPerSocket=2 ThreadsPerCore=1 RealMemory=24105"
detected=$(slurmd -C | sed -n '1s/^NodeName=[^ ]* //p')
[ -n "$detected" ] || fail "slurmd -C printed no hardware line"
memory=$(sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p' <<<"$detected")
if [ "$CPUS" -gt 0 ]; then
  # advertise CPUS single-thread cores; config_overrides makes slurmd accept more than it finds
  hardware="CPUs=$CPUS Boards=1 SocketsPerBoard=1 CoresPerSocket=$CPUS ThreadsPerCore=1 RealMemory=$memory"
  overrides="SlurmdParameters=config_overrides"
else
  hardware=$detected
  overrides=""
fi

gpu_devices=(/dev/null /dev/zero /dev/full /dev/random /dev/urandom)
gres_line="" gres_types="" gres_conf=""
if [ "$GPUS" -gt 0 ]; then
  [ "$GPUS" -le ${#gpu_devices[@]} ] || fail "SLURM_CI_GPUS=$GPUS: at most ${#gpu_devices[@]} fake GPUs"
  gres_line="Gres=gpu:$GPUS"
  gres_types="GresTypes=gpu"
  # Slurm drops a gpu count that has no device files (and drains the node), so each fake GPU
  # names a distinct character device that always exists.
  files=$(IFS=,; echo "${gpu_devices[*]:0:$GPUS}")
  gres_conf="# written by scripts/slurm/start.sh: fake GPUs
AutoDetect=off
Name=gpu File=$files"
fi

slurm_conf="# written by scripts/slurm/start.sh
ClusterName=lmtd
SlurmctldHost=$HOST(127.0.0.1)
SlurmUser=slurm
AuthType=auth/munge
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
MailProg=/bin/true
MpiDefault=none
$overrides
# nothing here needs cgroups, and there is no slurmdbd (so no sacct)
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
# the default batch_sched_delay=3 holds every job for up to 3 s
SchedulerParameters=batch_sched_delay=0
SelectType=select/cons_tres
# consumable memory with a default per CPU, or every job takes the whole node's memory
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=256
ReturnToService=2
# finished jobs stay visible to squeue and scontrol for a day (the executor polls them)
MinJobAge=86400
KillWait=5
$gres_types
NodeName=$HOST NodeAddr=127.0.0.1 $hardware $gres_line State=UNKNOWN
PartitionName=$PARTITION Nodes=ALL Default=YES MaxTime=INFINITE State=UP"

# The default cgroup autodetection makes slurmd exit when no cgroup filesystem is mounted (and
# wants systemd on cgroup v2); forcing v1 is harmless since no plugin above uses cgroups.
cgroup_conf="# written by scripts/slurm/start.sh
CgroupPlugin=cgroup/v1"

changed=0
put() { # $1=file $2=content ('' removes the file); sets changed=1 when it differs
  if [ -z "$2" ]; then
    if [ -e "$1" ]; then rm -f "$1"; changed=1; fi
  elif [ "$(cat "$1" 2>/dev/null)" != "$2" ]; then
    printf '%s\n' "$2" >"$1"
    changed=1
  fi
}
install -d -m 0755 "$CONF_DIR"
put "$CONF_DIR/slurm.conf" "$slurm_conf"
put "$CONF_DIR/cgroup.conf" "$cgroup_conf"
put "$CONF_DIR/gres.conf" "$gres_conf"
if [ "$changed" -eq 1 ] && { running /run/slurmd.pid slurmd || running /run/slurmctld.pid slurmctld; }; then
  say "configuration changed: restarting the Slurm daemons"
  halt /run/slurmd.pid slurmd
  halt /run/slurmctld.pid slurmctld
fi
install -d -o slurm -g slurm -m 0755 /var/spool/slurmctld /var/log/slurm
install -d -m 0755 /var/spool/slurmd

# ------------------------------------------------------------------------------ daemons
fresh=0
if ! running /run/slurmctld.pid slurmctld; then
  say "starting slurmctld"
  slurmctld 9>&- || fail "slurmctld would not start" # forks, then runs as SlurmUser
  fresh=1
fi
await slurmctld /run/slurmctld.pid slurmctld sh -c 'scontrol ping | grep -q "is UP"'
if ! running /run/slurmd.pid slurmd; then
  say "starting slurmd"
  slurmd -N "$HOST" 9>&- || fail "slurmd would not start" # forks; stays root to launch jobs
  fresh=1
fi

# Wait for the node to become usable; a node drained by an earlier configuration needs RESUME
# (ReturnToService=2 only returns DOWN nodes).
start=$SECONDS
resumed=0
while :; do
  state=$(sinfo -h -N -n "$HOST" -o %T 2>/dev/null | head -n 1 || true)
  case "$state" in
    idle | mixed | allocated | completing) break ;;
    *drain* | *down* | *fail* | inval*)
      if [ "$resumed" -eq 0 ] && running /run/slurmd.pid slurmd; then
        say "node is '$state': resuming it"
        scontrol update NodeName="$HOST" State=RESUME >/dev/null 2>&1 || true
        resumed=1
      fi
      ;;
  esac
  [ $((SECONDS - start)) -lt "$TIMEOUT" ] || fail "node $HOST not ready after ${TIMEOUT}s (state '${state:-none}')"
  if [ $((SECONDS - start)) -ge 3 ] && ! running /run/slurmd.pid slurmd; then fail "slurmd died"; fi
  sleep 0.3
done

# A fresh controller schedules its first job only after a few seconds: run a trivial job so that
# whoever called us gets a cluster that demonstrably runs jobs.
if [ "$fresh" -eq 1 ]; then
  probe=$(sbatch --parsable --job-name=start-probe --chdir=/tmp --output=/dev/null --wrap=true) ||
    fail "could not submit the probe job"
  start=$SECONDS
  while :; do
    state=$(squeue -h -t all -j "$probe" -o %T 2>/dev/null || true)
    [ "$state" = COMPLETED ] && break
    case "$state" in FAILED | CANCELLED | TIMEOUT | NODE_FAIL | OUT_OF_MEMORY) fail "probe job $probe ended $state" ;; esac
    [ $((SECONDS - start)) -lt "$TIMEOUT" ] || fail "probe job $probe not done after ${TIMEOUT}s (state '$state')"
    sleep 0.2
  done
fi
sinfo -N -o '%N %P %T %c %m %G'
