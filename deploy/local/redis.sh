#!/usr/bin/env bash
# Run a real redis-server for local Relais development (no Docker, no system
# config file: every setting is passed on the command line).
#
# Usage: deploy/local/redis.sh install|start|stop|status
#
# Environment (defaults in brackets):
#   RELAIS_LOCAL_DIR     state root                        [<repo>/.local]
#   REDIS_PORT           port on 127.0.0.1                 [16379]
#   REDIS_FRESH          1 = wipe the state dir on start   [0]
#   REDIS_START_TIMEOUT  seconds to wait for PONG          [20]
#   REDIS_STOP_TIMEOUT   seconds to wait after SIGTERM     [20]
#
# State lives in $RELAIS_LOCAL_DIR/redis (--dir): redis.log, redis.pid.
# Persistence is off (--save "" --appendonly no): data is lost on stop.
set -euo pipefail

SCRIPT_DIR="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)"
REPO_ROOT="$(cd -- "$SCRIPT_DIR/../.." && pwd -P)"

RELAIS_LOCAL_DIR="${RELAIS_LOCAL_DIR:-$REPO_ROOT/.local}"
case "$RELAIS_LOCAL_DIR" in
  /*) ;;
  *) RELAIS_LOCAL_DIR="$PWD/$RELAIS_LOCAL_DIR" ;;
esac
REDIS_PORT="${REDIS_PORT:-16379}"
REDIS_FRESH="${REDIS_FRESH:-0}"
REDIS_START_TIMEOUT="${REDIS_START_TIMEOUT:-20}"
REDIS_STOP_TIMEOUT="${REDIS_STOP_TIMEOUT:-20}"

STATE_DIR="$RELAIS_LOCAL_DIR/redis"
PID_FILE="$STATE_DIR/redis.pid"
LOG_FILE="$STATE_DIR/redis.log"

POLL_INTERVAL=0.2
# redis writes its pid file right after binding the port; if it has not
# appeared after this long, the daemon died during start-up.
PIDFILE_GRACE_US=5000000

log() { printf 'redis.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

now_us() { printf '%s\n' "${EPOCHREALTIME//[.,]/}"; }
elapsed_since() {
  local ds=$((($(now_us) - $1) / 100000))
  printf '%d.%d' $((ds / 10)) $((ds % 10))
}

port_open() {
  # shellcheck disable=SC2016 # $0 is expanded by the inner bash
  timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$0"' "$1" 2>/dev/null
}

redis_answers() {
  [[ "$(timeout 2 redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" == PONG ]]
}

# True if $1 is a live (non-zombie) redis-server process; guards against pid reuse.
is_our_redis() {
  local stat cmdline
  stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
  stat="${stat##*) }"
  [[ "${stat%% *}" != Z ]] || return 1
  cmdline="$(tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null)" || return 1
  [[ "$cmdline" == *redis-server* ]]
}

running_pid() {
  local pid
  [[ -f "$PID_FILE" ]] || return 1
  pid="$(<"$PID_FILE")"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  is_our_redis "$pid" || return 1
  printf '%s\n' "$pid"
}

cmd_install() {
  if command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1; then
    log "redis-server found: $(command -v redis-server)"
    return 0
  fi
  local -a sudo=()
  if [[ "$(id -u)" != 0 ]]; then
    command -v sudo >/dev/null 2>&1 || die "redis-server missing; not root and no sudo: run 'apt-get install -y redis-server' as root"
    sudo=(sudo)
  fi
  command -v apt-get >/dev/null 2>&1 || die "redis-server missing and apt-get not available; install redis-server manually"
  log "installing redis-server with apt-get ..."
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q redis-server >&2
  command -v redis-server >/dev/null 2>&1 || die "redis-server still not on PATH after apt-get install"
}

wait_ready() {
  local t0="$1" started deadline pid
  started="$(now_us)"
  deadline=$((started + REDIS_START_TIMEOUT * 1000000))
  while :; do
    if redis_answers; then
      pid="$(running_pid)" || pid="?"
      log "redis up in $(elapsed_since "$t0")s (pid $pid, log $LOG_FILE)"
      return 0
    fi
    if [[ -f "$PID_FILE" ]]; then
      if ! running_pid >/dev/null; then
        log "redis-server exited during start-up; last 40 lines of $LOG_FILE:"
        tail -n 40 "$LOG_FILE" >&2 || true
        rm -f "$PID_FILE"
        return 1
      fi
    elif (($(now_us) - started > PIDFILE_GRACE_US)); then
      log "redis-server did not write $PID_FILE; last 40 lines of $LOG_FILE:"
      tail -n 40 "$LOG_FILE" >&2 || true
      return 1
    fi
    if (($(now_us) >= deadline)); then
      log "redis not ready after ${REDIS_START_TIMEOUT}s; last 40 lines of $LOG_FILE:"
      tail -n 40 "$LOG_FILE" >&2 || true
      if pid="$(running_pid)"; then
        log "stopping the half-started redis-server (pid $pid)"
        stop_pid "$pid"
      fi
      return 1
    fi
    sleep "$POLL_INTERVAL"
  done
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

cmd_start() {
  local pid t0
  t0="$(now_us)"
  lock_state_dir
  if pid="$(running_pid)"; then
    if [[ "$REDIS_FRESH" == 1 ]]; then
      log "REDIS_FRESH=1 ignored: redis already running (stop it first)"
    fi
    if redis_answers; then
      log "already running (pid $pid)"
      echo "redis ready at redis://127.0.0.1:$REDIS_PORT/0"
      return 0
    fi
    log "process $pid is running but not answering yet; waiting"
    wait_ready "$t0" || exit 1
    echo "redis ready at redis://127.0.0.1:$REDIS_PORT/0"
    return 0
  fi
  rm -f "$PID_FILE"

  cmd_install
  if port_open "$REDIS_PORT"; then
    die "127.0.0.1:$REDIS_PORT is already in use by another process (not started by this script for $STATE_DIR)"
  fi

  if [[ "$REDIS_FRESH" == 1 ]]; then
    log "REDIS_FRESH=1: wiping $STATE_DIR"
    find "$STATE_DIR" -mindepth 1 -maxdepth 1 ! -name .lock -exec rm -rf {} +
  fi
  if [[ -f "$LOG_FILE" ]]; then
    mv -f "$LOG_FILE" "$LOG_FILE.prev"
  fi

  # --daemonize yes: redis-server forks, writes --pidfile and returns.
  if ! redis-server \
      --port "$REDIS_PORT" \
      --bind 127.0.0.1 \
      --dir "$STATE_DIR" \
      --daemonize yes \
      --pidfile "$PID_FILE" \
      --logfile "$LOG_FILE" \
      --save "" \
      --appendonly no \
      --protected-mode no 8>&-; then
    tail -n 40 "$LOG_FILE" >&2 2>/dev/null || true
    die "redis-server failed to start"
  fi
  log "starting redis-server on 127.0.0.1:$REDIS_PORT"

  wait_ready "$t0" || exit 1
  echo "redis ready at redis://127.0.0.1:$REDIS_PORT/0"
}

# SIGTERM, poll up to REDIS_STOP_TIMEOUT seconds, then SIGKILL.
stop_pid() {
  local pid="$1" deadline
  kill -TERM "$pid" 2>/dev/null || true
  deadline=$(($(now_us) + REDIS_STOP_TIMEOUT * 1000000))
  while is_our_redis "$pid"; do
    if (($(now_us) >= deadline)); then
      log "pid $pid still alive after ${REDIS_STOP_TIMEOUT}s; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      while is_our_redis "$pid"; do sleep "$POLL_INTERVAL"; done
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

# Exit status: 0 running and answering PING, 1 process alive but not
# answering, 3 not running.
cmd_status() {
  local pid
  if ! pid="$(running_pid)"; then
    echo "redis not running (state $STATE_DIR)"
    return 3
  fi
  if redis_answers; then
    echo "redis running (pid $pid) at redis://127.0.0.1:$REDIS_PORT/0 (state $STATE_DIR, log $LOG_FILE)"
    return 0
  fi
  echo "redis process $pid alive but not answering PING on 127.0.0.1:$REDIS_PORT (log $LOG_FILE)"
  return 1
}

usage() {
  sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"
}

main() {
  if ! [[ "$REDIS_PORT" =~ ^[0-9]+$ ]] || ((REDIS_PORT < 1 || REDIS_PORT > 65535)); then
    die "REDIS_PORT must be a TCP port, got '$REDIS_PORT'"
  fi
  [[ "$REDIS_START_TIMEOUT" =~ ^[0-9]+$ ]] || die "REDIS_START_TIMEOUT must be whole seconds"
  [[ "$REDIS_STOP_TIMEOUT" =~ ^[0-9]+$ ]] || die "REDIS_STOP_TIMEOUT must be whole seconds"
  case "${1:-}" in
    install) cmd_install ;;
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    -h | --help | help) usage ;;
    *)
      usage >&2
      exit 2
      ;;
  esac
}

main "$@"
