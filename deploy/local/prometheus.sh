#!/usr/bin/env bash
# Run Debian's Prometheus for local Relais development: it scrapes the four services started by
# services.sh and evaluates the project's alert rules (deploy/prometheus/rules.yml, the file the
# Kubernetes PrometheusRule is generated from).
#
# Usage: deploy/local/prometheus.sh install|start|stop|status|reload
#   reload   re-reads the configuration and the rules (SIGHUP), e.g. after editing rules.yml
#
# Environment (defaults in brackets):
#   RELAIS_LOCAL_DIR             state root                              [<repo>/.local]
#   PROMETHEUS_PORT              web UI and HTTP API on 127.0.0.1        [9090]
#   PROMETHEUS_SCRAPE_INTERVAL   scrape and rule evaluation interval     [15s]
#   PROMETHEUS_RETENTION         how long samples are kept               [7d]
#   PROMETHEUS_START_TIMEOUT     seconds to wait for /-/ready            [30]
#   PROMETHEUS_STOP_TIMEOUT      seconds to wait after SIGTERM           [20]
#   CONTEXT_STORE_PORT, BOT_PORT, ROUTER_PORT, GATEWAY_PORT, CHANNELS_PORT
#                                where the services listen, as for services.sh [8081, 8082, 8083, 8080, 8084]
#
# State lives in $RELAIS_LOCAL_DIR/prometheus: prometheus.yml (rendered from
# deploy/prometheus/prometheus.yml.in), data/ (the TSDB), prometheus.log, prometheus.pid.
set -euo pipefail

NAME=prometheus
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

PROMETHEUS_PORT="${PROMETHEUS_PORT:-9090}"
PROMETHEUS_SCRAPE_INTERVAL="${PROMETHEUS_SCRAPE_INTERVAL:-15s}"
PROMETHEUS_RETENTION="${PROMETHEUS_RETENTION:-7d}"
PROMETHEUS_START_TIMEOUT="${PROMETHEUS_START_TIMEOUT:-30}"
PROMETHEUS_STOP_TIMEOUT="${PROMETHEUS_STOP_TIMEOUT:-20}"
CONTEXT_STORE_PORT="${CONTEXT_STORE_PORT:-8081}"
BOT_PORT="${BOT_PORT:-8082}"
ROUTER_PORT="${ROUTER_PORT:-8083}"
GATEWAY_PORT="${GATEWAY_PORT:-8080}"
CHANNELS_PORT="${CHANNELS_PORT:-8084}"

IS_OURS=is_our_prometheus
ANSWERS=prometheus_answers
ADDRESS="http://127.0.0.1:$PROMETHEUS_PORT"
STOP_TIMEOUT="$PROMETHEUS_STOP_TIMEOUT"
TEMPLATE="$REPO_ROOT/deploy/prometheus/prometheus.yml.in"
RULES="$REPO_ROOT/deploy/prometheus/rules.yml"
CONFIG="$STATE_DIR/prometheus.yml"

prometheus_answers() {
  curl -fsS --max-time 2 "$ADDRESS/-/ready" >/dev/null 2>&1
}

is_our_prometheus() {
  local cmdline
  cmdline="$(proc_cmdline "$1")" || return 1
  [[ "$cmdline" == *prometheus*--config.file="$CONFIG"* ]]
}

cmd_install() {
  if command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1; then
    log "prometheus found: $(command -v prometheus)"
    return 0
  fi
  local -a sudo=()
  if [[ "$(id -u)" != 0 ]]; then
    command -v sudo >/dev/null 2>&1 || die "prometheus missing; not root and no sudo: run 'apt-get install -y prometheus' as root"
    sudo=(sudo)
  fi
  command -v apt-get >/dev/null 2>&1 || die "prometheus missing and apt-get not available; install prometheus and promtool manually"
  log "installing prometheus with apt-get ..."
  # Without recommends: the node exporter and friends are not needed. Debian's package also enables a
  # system prometheus service on :9090 where an init system runs; the scripts never use it.
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends prometheus >&2
  command -v prometheus >/dev/null 2>&1 || die "prometheus still not on PATH after apt-get install"
}

render_config() {
  sed -e "s|@SCRAPE_INTERVAL@|$PROMETHEUS_SCRAPE_INTERVAL|g" \
    -e "s|@RULES@|$RULES|g" \
    -e "s|@CONTEXT_STORE_PORT@|$CONTEXT_STORE_PORT|g" \
    -e "s|@BOT_PORT@|$BOT_PORT|g" \
    -e "s|@ROUTER_PORT@|$ROUTER_PORT|g" \
    -e "s|@GATEWAY_PORT@|$GATEWAY_PORT|g" \
    -e "s|@CHANNELS_PORT@|$CHANNELS_PORT|g" \
    "$TEMPLATE" >"$CONFIG"
  # A broken rule or configuration is reported here, with promtool's reason, not as a dead process.
  promtool check config "$CONFIG" >"$STATE_DIR/promtool.out" 2>&1 || {
    cat "$STATE_DIR/promtool.out" >&2
    die "promtool check config $CONFIG failed"
  }
}

wait_ready() {
  local t0="$1" pid="$2" deadline
  deadline="$(deadline_in "$PROMETHEUS_START_TIMEOUT")"
  while :; do
    if ! pid_alive "$pid"; then
      log_tail "prometheus (pid $pid) exited during start-up"
      rm -f "$PID_FILE"
      return 1
    fi
    if prometheus_answers; then
      log "prometheus up in $(elapsed_since "$t0")s (pid $pid, log $LOG_FILE)"
      return 0
    fi
    if passed "$deadline"; then
      log_tail "prometheus not ready after ${PROMETHEUS_START_TIMEOUT}s"
      stop_pid "$pid"
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
    rejoin "$pid" "$t0"
    return 0
  fi
  rm -f "$PID_FILE"

  cmd_install
  refuse_ports_in_use "$PROMETHEUS_PORT"
  render_config
  rotate_log
  setsid nohup prometheus \
    --config.file="$CONFIG" \
    --storage.tsdb.path="$STATE_DIR/data" \
    --storage.tsdb.retention.time="$PROMETHEUS_RETENTION" \
    --web.listen-address="127.0.0.1:$PROMETHEUS_PORT" \
    >"$LOG_FILE" 2>&1 </dev/null 8>&- &
  pid=$!
  printf '%s\n' "$pid" >"$PID_FILE"
  log "starting prometheus (pid $pid) on 127.0.0.1:$PROMETHEUS_PORT, rules $RULES"

  wait_ready "$t0" "$pid" || exit 1
  print_ready
}

cmd_reload() {
  local pid
  pid="$(running_pid)" || die "not running ($STATE_DIR)"
  render_config
  kill -HUP "$pid"
  log "configuration and rules reloaded (pid $pid)"
}

main() {
  check_port PROMETHEUS_PORT "$PROMETHEUS_PORT"
  check_seconds PROMETHEUS_START_TIMEOUT "$PROMETHEUS_START_TIMEOUT"
  check_seconds PROMETHEUS_STOP_TIMEOUT "$PROMETHEUS_STOP_TIMEOUT"
  [[ "$PROMETHEUS_SCRAPE_INTERVAL" =~ ^[0-9]+(ms|s|m)$ ]] ||
    die "PROMETHEUS_SCRAPE_INTERVAL must be a duration like 15s, not '$PROMETHEUS_SCRAPE_INTERVAL'"
  [[ "$PROMETHEUS_RETENTION" =~ ^[0-9]+(h|d|w|y)$ ]] ||
    die "PROMETHEUS_RETENTION must be a duration like 7d, not '$PROMETHEUS_RETENTION'"
  local name
  for name in CONTEXT_STORE_PORT BOT_PORT ROUTER_PORT GATEWAY_PORT CHANNELS_PORT; do check_port "$name" "${!name}"; done
  case "${1:-}" in
    install) cmd_install ;;
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status "not answering on $ADDRESS/-/ready" ;;
    reload) cmd_reload ;;
    -h | --help | help) usage ;;
    *)
      usage >&2
      exit 2
      ;;
  esac
}

main "$@"
