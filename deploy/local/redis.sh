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
#   REDIS_APPENDONLY     yes = append-only file, no = none [yes]
#
# State lives in $RELAIS_LOCAL_DIR/redis (--dir): redis.log, redis.pid, and
# the append-only file (appendonlydir/). With REDIS_APPENDONLY=yes (the default,
# what `make up` uses) every write is logged and fsynced once a second, so a
# restart of redis-server is not a wipe: at most the last second is lost, and
# the services rebuild what is missing from Kafka (docs/operations.md). RDB
# snapshots stay off (--save ""). REDIS_APPENDONLY=no keeps nothing across a
# restart (a test that wants to see a wipe heal).
set -euo pipefail

NAME=redis
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

REDIS_PORT="${REDIS_PORT:-16379}"
REDIS_FRESH="${REDIS_FRESH:-0}"
REDIS_START_TIMEOUT="${REDIS_START_TIMEOUT:-20}"
REDIS_STOP_TIMEOUT="${REDIS_STOP_TIMEOUT:-20}"
REDIS_APPENDONLY="${REDIS_APPENDONLY:-yes}"

IS_OURS=is_our_redis
ANSWERS=redis_answers
ADDRESS="redis://127.0.0.1:$REDIS_PORT/0"
STOP_TIMEOUT="$REDIS_STOP_TIMEOUT"

# redis writes its pid file right after binding the port; if it has not
# appeared after this many seconds, the daemon died during start-up.
PIDFILE_GRACE=5

redis_answers() {
  [[ "$(timeout 2 redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" == PONG ]]
}

is_our_redis() {
  local cmdline
  cmdline="$(proc_cmdline "$1")" || return 1
  [[ "$cmdline" == *redis-server* ]]
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

# Waits until redis answers PING. redis-server daemonizes itself, so the pid
# comes from the pid file it writes (a pid argument is not needed).
wait_ready() {
  local t0="$1" deadline grace pid
  deadline="$(deadline_in "$REDIS_START_TIMEOUT")"
  grace="$(deadline_in "$PIDFILE_GRACE")"
  while :; do
    if redis_answers; then
      pid="$(running_pid)" || pid="?"
      log "redis up in $(elapsed_since "$t0")s (pid $pid, log $LOG_FILE)"
      return 0
    fi
    if [[ -f "$PID_FILE" ]]; then
      if ! running_pid >/dev/null; then
        log_tail "redis-server exited during start-up"
        rm -f "$PID_FILE"
        return 1
      fi
    elif passed "$grace"; then
      log_tail "redis-server did not write $PID_FILE"
      return 1
    fi
    if passed "$deadline"; then
      log_tail "redis not ready after ${REDIS_START_TIMEOUT}s"
      if pid="$(running_pid)"; then
        log "stopping the half-started redis-server (pid $pid)"
        stop_pid "$pid"
      fi
      return 1
    fi
    sleep "$POLL_INTERVAL"
  done
}

cmd_start() {
  local pid t0
  t0="$(now_us)"
  lock_state_dir
  if pid="$(running_pid)"; then
    if [[ "$REDIS_FRESH" == 1 ]]; then
      log "REDIS_FRESH=1 ignored: redis already running (stop it first)"
    fi
    rejoin "$pid" "$t0"
    return 0
  fi
  rm -f "$PID_FILE"

  cmd_install
  refuse_ports_in_use "$REDIS_PORT"

  if [[ "$REDIS_FRESH" == 1 ]]; then
    log "REDIS_FRESH=1: wiping $STATE_DIR"
    find "$STATE_DIR" -mindepth 1 -maxdepth 1 ! -name .lock -exec rm -rf {} +
  fi
  rotate_log

  # --daemonize yes: redis-server forks, writes --pidfile and returns.
  if ! redis-server \
      --port "$REDIS_PORT" \
      --bind 127.0.0.1 \
      --dir "$STATE_DIR" \
      --daemonize yes \
      --pidfile "$PID_FILE" \
      --logfile "$LOG_FILE" \
      --save "" \
      --appendonly "$REDIS_APPENDONLY" \
      --appendfsync everysec \
      --protected-mode no 8>&-; then
    tail -n 40 "$LOG_FILE" >&2 2>/dev/null || true
    die "redis-server failed to start"
  fi
  log "starting redis-server on 127.0.0.1:$REDIS_PORT"

  wait_ready "$t0" || exit 1
  print_ready
}

main() {
  check_port REDIS_PORT "$REDIS_PORT"
  check_seconds REDIS_START_TIMEOUT "$REDIS_START_TIMEOUT"
  check_seconds REDIS_STOP_TIMEOUT "$REDIS_STOP_TIMEOUT"
  [[ "$REDIS_APPENDONLY" == yes || "$REDIS_APPENDONLY" == no ]] ||
    die "REDIS_APPENDONLY must be yes or no, not '$REDIS_APPENDONLY'"
  case "${1:-}" in
    install) cmd_install ;;
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status "not answering PING on 127.0.0.1:$REDIS_PORT" ;;
    -h | --help | help) usage ;;
    *)
      usage >&2
      exit 2
      ;;
  esac
}

main "$@"
