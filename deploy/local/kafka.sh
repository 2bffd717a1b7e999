#!/usr/bin/env bash
# Run a real single-node Apache Kafka broker (KRaft mode: no ZooKeeper, no
# Docker) for local Relais development. Jars come from Maven Central via
# deploy/local/kafka/pom.xml; Java 17+ and Maven are required.
#
# Usage: deploy/local/kafka.sh install|start|stop|status
#
# Environment (defaults in brackets):
#   RELAIS_LOCAL_DIR       state root                         [<repo>/.local]
#   KAFKA_PORT             client (PLAINTEXT) listener port   [19092]
#   KAFKA_CONTROLLER_PORT  KRaft controller listener port     [19093]
#   KAFKA_FRESH            1 = wipe the data dir on start     [0]
#   KAFKA_START_TIMEOUT    seconds to wait for readiness      [60]
#   KAFKA_STOP_TIMEOUT     seconds to wait after SIGTERM      [20]
#   KAFKA_HEAP_OPTS        JVM heap flags                     [-Xms256m -Xmx768m]
#   JAVA_HOME              use $JAVA_HOME/bin/java if set
#
# State lives in $RELAIS_LOCAL_DIR/kafka: data/ (log.dirs), server.properties,
# kafka.log (broker output), kafka.pid.
set -euo pipefail

NAME=kafka
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

KAFKA_DIR="$SCRIPT_DIR/kafka"
POM="$KAFKA_DIR/pom.xml"
LOG4J_CONF="$KAFKA_DIR/log4j2.properties"
PROPS_TEMPLATE="$KAFKA_DIR/server.properties.in"
LIBS_DIR="$KAFKA_DIR/libs"
STAMP_FILE="$KAFKA_DIR/.stamp-libs"
LOCK_FILE="$KAFKA_DIR/.stamp-lock"

KAFKA_PORT="${KAFKA_PORT:-19092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-19093}"
KAFKA_FRESH="${KAFKA_FRESH:-0}"
KAFKA_START_TIMEOUT="${KAFKA_START_TIMEOUT:-60}"
KAFKA_STOP_TIMEOUT="${KAFKA_STOP_TIMEOUT:-20}"
KAFKA_HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xms256m -Xmx768m}"
JAVA="${JAVA_HOME:+$JAVA_HOME/bin/}java"

DATA_DIR="$STATE_DIR/data"
PROPS_FILE="$STATE_DIR/server.properties"

IS_OURS=is_our_broker
ANSWERS=kafka_answers
ADDRESS="127.0.0.1:$KAFKA_PORT"
STOP_TIMEOUT="$KAFKA_STOP_TIMEOUT"

need() {
  command -v "$1" >/dev/null 2>&1 || die "'$1' not found on PATH${2:+ ($2)}"
}

# True if the broker answers an ApiVersions request on KAFKA_PORT. Stronger
# than a TCP connect: it proves the broker is processing requests (and that
# what listens on the port is Kafka), not just that it is bound.
kafka_answers() {
  local hex
  # shellcheck disable=SC2016 # $0 is expanded by the inner bash
  # ApiVersions v0 request: size=10, api_key=18, api_version=0,
  # correlation_id=1, client_id=null. Reply starts with size, correlation_id=1,
  # error_code=0.
  hex="$(timeout 2 bash -c '
      exec 3<>"/dev/tcp/127.0.0.1/$0" || exit 1
      printf "\x00\x00\x00\x0a\x00\x12\x00\x00\x00\x00\x00\x01\xff\xff" >&3
      head -c 10 <&3 | od -An -v -tx1' "$KAFKA_PORT" 2>/dev/null | tr -d ' \n')" || return 1
  [[ "${hex:8}" == "000000010000" ]]
}

# A java process running kafka.Kafka on our server.properties.
is_our_broker() {
  local cmdline
  cmdline="$(proc_cmdline "$1")" || return 1
  [[ "$cmdline" == *kafka.Kafka*"$PROPS_FILE"* ]]
}

libs_complete() {
  [[ -f "$STAMP_FILE" ]] || return 1
  [[ "$(<"$STAMP_FILE")" == "$(pom_sha256)" ]] || return 1
  compgen -G "$LIBS_DIR/kafka_2.13-*.jar" >/dev/null
}

pom_sha256() {
  sha256sum "$POM" | cut -d' ' -f1
}

cmd_install() {
  if libs_complete; then
    log "jars up to date in $LIBS_DIR"
    return 0
  fi
  need mvn "install Maven, e.g. apt-get install -y maven"
  need "$JAVA" "install Java 17+, e.g. apt-get install -y openjdk-17-jre-headless"

  # Serialise concurrent installs (e.g. two start commands at once).
  if command -v flock >/dev/null 2>&1; then
    exec 9>"$LOCK_FILE"
    flock 9
    if libs_complete; then
      log "jars up to date in $LIBS_DIR"
      return 0
    fi
  fi

  local t0 out
  t0="$(now_us)"
  # The stamp is written last, so an interrupted fetch is redone next time.
  rm -f "$STAMP_FILE"
  rm -rf "$LIBS_DIR"
  log "fetching Kafka jars with Maven into $LIBS_DIR ..."
  # Output is only shown on failure (with -q it is just errors plus ANSI noise).
  if ! out="$(mvn -q -B -f "$POM" dependency:copy-dependencies \
      -DoutputDirectory="$LIBS_DIR" -DincludeScope=runtime 2>&1)"; then
    printf '%s\n' "$out" >&2
    die "mvn dependency:copy-dependencies failed"
  fi
  compgen -G "$LIBS_DIR/kafka_2.13-*.jar" >/dev/null ||
    die "mvn finished but there is no kafka_2.13 jar in $LIBS_DIR"
  pom_sha256 >"$STAMP_FILE"
  log "fetched $(find "$LIBS_DIR" -name '*.jar' | wc -l) jars in $(elapsed_since "$t0")s"
}

render_properties() {
  local text
  text="$(<"$PROPS_TEMPLATE")"
  # Quoted replacements: no '&' expansion (bash 5.2 patsub_replacement).
  text="${text//@KAFKA_PORT@/"$KAFKA_PORT"}"
  text="${text//@KAFKA_CONTROLLER_PORT@/"$KAFKA_CONTROLLER_PORT"}"
  text="${text//@KAFKA_DATA_DIR@/"$DATA_DIR"}"
  printf '%s\n' "$text" >"$PROPS_FILE"
}

# Same format as "kafka-storage random-uuid" (16 random bytes, base64url without
# padding, not starting with '-') without paying for a JVM start.
new_cluster_id() {
  local id
  while :; do
    id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
    if [[ ${#id} -eq 22 && "$id" != -* ]]; then
      printf '%s\n' "$id"
      return 0
    fi
  done
}

format_storage() {
  local cluster_id out
  rm -rf "$DATA_DIR"
  cluster_id="$(new_cluster_id)"
  if ! out="$("$JAVA" -cp "$LIBS_DIR/*" -Dlog4j2.configurationFile="$LOG4J_CONF" \
      kafka.tools.StorageTool format -t "$cluster_id" -c "$PROPS_FILE" 2>&1)"; then
    printf '%s\n' "$out" >&2
    die "StorageTool format failed"
  fi
  log "formatted $DATA_DIR (cluster id $cluster_id)"
}

# Waits until the broker (pid $2) answers; returns non-zero if it dies or the
# deadline passes (then it is stopped).
wait_ready() {
  local t0="$1" pid="$2" deadline
  deadline="$(deadline_in "$KAFKA_START_TIMEOUT")"
  while :; do
    if ! pid_alive "$pid"; then
      log_tail "broker process $pid exited during start-up"
      rm -f "$PID_FILE"
      return 1
    fi
    if kafka_answers; then
      log "broker up in $(elapsed_since "$t0")s (pid $pid, log $LOG_FILE)"
      return 0
    fi
    if passed "$deadline"; then
      log_tail "broker not ready after ${KAFKA_START_TIMEOUT}s"
      log "stopping the half-started broker (pid $pid)"
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
    if [[ "$KAFKA_FRESH" == 1 ]]; then
      log "KAFKA_FRESH=1 ignored: broker already running (stop it first)"
    fi
    rejoin "$pid" "$t0"
    return 0
  fi
  rm -f "$PID_FILE"

  cmd_install
  need "$JAVA" "install Java 17+"
  refuse_ports_in_use "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"

  render_properties
  if [[ "$KAFKA_FRESH" == 1 ]]; then
    log "KAFKA_FRESH=1: wiping $DATA_DIR"
    format_storage
  elif [[ ! -f "$DATA_DIR/meta.properties" ]]; then
    format_storage
  fi

  rotate_log
  # shellcheck disable=SC2086 # KAFKA_HEAP_OPTS is a list of flags
  setsid nohup "$JAVA" $KAFKA_HEAP_OPTS \
    -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$LOG4J_CONF" \
    -cp "$LIBS_DIR/*" kafka.Kafka "$PROPS_FILE" \
    >"$LOG_FILE" 2>&1 </dev/null 8>&- 9>&- &
  pid=$!
  printf '%s\n' "$pid" >"$PID_FILE"
  log "starting broker (pid $pid) on 127.0.0.1:$KAFKA_PORT, controller 127.0.0.1:$KAFKA_CONTROLLER_PORT"

  wait_ready "$t0" "$pid" || exit 1
  print_ready
}

main() {
  check_port KAFKA_PORT "$KAFKA_PORT"
  check_port KAFKA_CONTROLLER_PORT "$KAFKA_CONTROLLER_PORT"
  check_seconds KAFKA_START_TIMEOUT "$KAFKA_START_TIMEOUT"
  check_seconds KAFKA_STOP_TIMEOUT "$KAFKA_STOP_TIMEOUT"
  case "${1:-}" in
    install) cmd_install ;;
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status "not answering on 127.0.0.1:$KAFKA_PORT" ;;
    -h | --help | help) usage ;;
    *)
      usage >&2
      exit 2
      ;;
  esac
}

main "$@"
