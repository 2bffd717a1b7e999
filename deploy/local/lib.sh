# shellcheck shell=bash
# What kafka.sh and redis.sh share; sourced by them, not run.
#
# The sourcing script sets NAME (kafka or redis) before sourcing: it gives the
# log prefix ("$NAME.sh: ") and the state files $RELAIS_LOCAL_DIR/$NAME/,
# $NAME.pid and $NAME.log. Before running a subcommand it also sets
#   IS_OURS       function: true if pid $1 is our server, alive
#   ANSWERS       function: true if the server answers a real request
#   ADDRESS       where clients connect, as printed in the ready line
#   STOP_TIMEOUT  seconds between SIGTERM and SIGKILL
# and defines wait_ready T0 [PID] (see rejoin).

SCRIPT_DIR="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)"
REPO_ROOT="$(cd -- "$SCRIPT_DIR/../.." && pwd -P)"

RELAIS_LOCAL_DIR="${RELAIS_LOCAL_DIR:-$REPO_ROOT/.local}"
case "$RELAIS_LOCAL_DIR" in
  /*) ;;
  *) RELAIS_LOCAL_DIR="$PWD/$RELAIS_LOCAL_DIR" ;;
esac
STATE_DIR="$RELAIS_LOCAL_DIR/$NAME"
PID_FILE="$STATE_DIR/$NAME.pid"
LOG_FILE="$STATE_DIR/$NAME.log"

POLL_INTERVAL=0.2

log() { printf '%s.sh: %s\n' "$NAME" "$*" >&2; }
die() { log "error: $*"; exit 1; }

check_port() {
  if ! [[ "$2" =~ ^[0-9]+$ ]] || (("$2" < 1 || "$2" > 65535)); then
    die "$1 must be a TCP port, got '$2'"
  fi
}

check_seconds() {
  [[ "$2" =~ ^[0-9]+$ ]] || die "$1 must be whole seconds"
}

# Wall-clock time in microseconds (bash 5 EPOCHREALTIME; '.' or ',' separator).
now_us() { printf '%s\n' "${EPOCHREALTIME//[.,]/}"; }
# Seconds since $1 (from now_us), one decimal.
elapsed_since() {
  local ds=$((($(now_us) - $1) / 100000))
  printf '%d.%d' $((ds / 10)) $((ds % 10))
}
# A deadline $1 seconds from now, for passed.
deadline_in() { printf '%s\n' $(($(now_us) + $1 * 1000000)); }
passed() { (($(now_us) >= $1)); }

# True if something accepts TCP connections on 127.0.0.1:$1.
port_open() {
  # shellcheck disable=SC2016 # $0 is expanded by the inner bash
  timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$0"' "$1" 2>/dev/null
}

refuse_ports_in_use() {
  local port
  for port in "$@"; do
    if port_open "$port"; then
      die "127.0.0.1:$port is already in use by another process (not started by this script for $STATE_DIR)"
    fi
  done
}

# True if process $1 exists and is not a zombie.
pid_alive() {
  local stat state
  stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
  state="${stat##*) }"
  [[ "${state%% *}" != Z ]]
}

# Prints the command line of live process $1, arguments joined by spaces, for
# IS_OURS functions to match (so a reused pid is not mistaken for our server).
proc_cmdline() {
  pid_alive "$1" || return 1
  { tr '\0' ' ' <"/proc/$1/cmdline"; } 2>/dev/null
}

# Prints the pid from the pid file if that process is our server and alive.
running_pid() {
  local pid
  [[ -f "$PID_FILE" ]] || return 1
  pid="$(<"$PID_FILE")"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  "$IS_OURS" "$pid" || return 1
  printf '%s\n' "$pid"
}

# Serialises concurrent start/stop calls for the same state dir. The lock fd
# (8) must not leak into the server process (it is closed with 8>&- there).
lock_state_dir() {
  mkdir -p "$STATE_DIR"
  if command -v flock >/dev/null 2>&1; then
    exec 8>"$STATE_DIR/.lock"
    flock 8
  fi
}

rotate_log() {
  if [[ -f "$LOG_FILE" ]]; then
    mv -f "$LOG_FILE" "$LOG_FILE.prev"
  fi
}

log_tail() {
  log "$*; last 40 lines of $LOG_FILE:"
  tail -n 40 "$LOG_FILE" >&2 || true
}

print_ready() { echo "$NAME ready at $ADDRESS"; }

# For a start that finds our server (pid $1) already running: if it does not
# answer yet, waits with the script's wait_ready (given start's t0, $2, and the
# pid), then prints the ready line.
rejoin() {
  local pid="$1" t0="$2"
  if "$ANSWERS"; then
    log "already running (pid $pid)"
  else
    log "process $pid is running but not answering yet; waiting"
    wait_ready "$t0" "$pid" || exit 1
  fi
  print_ready
}

# SIGTERM, poll up to STOP_TIMEOUT seconds, then SIGKILL.
stop_pid() {
  local pid="$1" deadline
  kill -TERM "$pid" 2>/dev/null || true
  deadline="$(deadline_in "$STOP_TIMEOUT")"
  while "$IS_OURS" "$pid"; do
    if passed "$deadline"; then
      log "pid $pid still alive after ${STOP_TIMEOUT}s; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      while "$IS_OURS" "$pid"; do sleep "$POLL_INTERVAL"; done
      break
    fi
    sleep "$POLL_INTERVAL"
  done
  rm -f "$PID_FILE"
}

cmd_stop() {
  local pid t0
  if [[ -d "$STATE_DIR" ]]; then
    lock_state_dir
  fi
  if ! pid="$(running_pid)"; then
    rm -f "$PID_FILE"
    log "not running ($STATE_DIR)"
    return 0
  fi
  t0="$(now_us)"
  stop_pid "$pid"
  log "stopped (pid $pid) in $(elapsed_since "$t0")s"
}

# Exit status: 0 running and answering, 1 process alive but not answering,
# 3 not running. $1 completes "<name> process <pid> alive but ...", e.g.
# "not answering on 127.0.0.1:19092".
cmd_status() {
  local pid
  if ! pid="$(running_pid)"; then
    echo "$NAME not running (state $STATE_DIR)"
    return 3
  fi
  if "$ANSWERS"; then
    echo "$NAME running (pid $pid) at $ADDRESS (state $STATE_DIR, log $LOG_FILE)"
    return 0
  fi
  echo "$NAME process $pid alive but $1 (log $LOG_FILE)"
  return 1
}

# Prints the sourcing script's header comment.
usage() {
  sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[-1]}"
}
