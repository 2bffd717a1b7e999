#!/usr/bin/env bash
# Start or stop the five Relais services locally, each as its own process (its real entry point),
# against the Kafka and Redis started by kafka.sh and redis.sh.
#
#   deploy/local/services.sh start|stop|status
#
# Env: RELAIS_LOCAL_DIR (state root, default <repo>/.local), KAFKA_PORT (19092), REDIS_PORT (16379),
# and the ports CONTEXT_STORE_PORT (8081), BOT_PORT (8082), ROUTER_PORT (8083), GATEWAY_PORT (8080),
# CHANNELS_PORT (8084) (the gateway is told where the context store and the router listen).
# Any other RELAIS_* variable is passed to the services as it is. RELAIS_ENV defaults to dev here (the
# services alone default to prod), and the dev callers of the context store's and router's APIs are the
# gateway (token relais-dev-gateway-token) and ops (relais-dev-ops-token), unless RELAIS_API_CALLERS says.
# The channels service knows one integrator, demo-dev (tenant demo; webchat, sms, whatsapp, email; the web chat
# widget and its demo page at /chat/), unless RELAIS_INTEGRATORS says; its secret is made once and kept
# in $state/channels/demo-dev.secret. The channels service takes mail for support@demo.example on SMTP_PORT (2525) and relays its replies to a
# local sink on MAIL_SINK_PORT (2526) that writes each mail to $state/mail/ (deploy/local/mailsink.py).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
state="${RELAIS_LOCAL_DIR:-$repo/.local}"
run="$state/services"
mkdir -p "$run"

services=(
  "context-store:${CONTEXT_STORE_PORT:-8081}"
  "bot:${BOT_PORT:-8082}"
  "router:${ROUTER_PORT:-8083}"
  "agent-gateway:${GATEWAY_PORT:-8080}"
  "channels:${CHANNELS_PORT:-8084}"
)

dev_gateway_token="relais-dev-gateway-token"
dev_ops_token="relais-dev-ops-token"
sha256() { printf %s "$1" | sha256sum | cut -d' ' -f1; }
dev_callers="[{\"name\": \"agent-gateway\", \"tokens_sha256\": [\"$(sha256 "$dev_gateway_token")\"],
  \"scopes\": [\"conversations:read\", \"customers:read\", \"identities:link\", \"routing:read\"]},
 {\"name\": \"ops\", \"tokens_sha256\": [\"$(sha256 "$dev_ops_token")\"],
  \"scopes\": [\"admin\", \"conversations:read\", \"customers:read\", \"routing:read\"]}]"

# The development integrator's secret: random, made on the first start, kept across restarts so that a
# script signing with it goes on working (docs/integrators.md).
demo_secret="$state/channels/demo-dev.secret"
if [[ ! -s "$demo_secret" ]]; then
  mkdir -p "$(dirname "$demo_secret")"
  (umask 077 && od -An -N32 -tx1 /dev/urandom | tr -d ' \n' >"$demo_secret")
fi
dev_integrators="[{\"id\": \"demo-dev\", \"tenant\": \"demo\", \"channels\": [\"webchat\", \"sms\", \"whatsapp\", \"email\"],
  \"secret_file\": \"$demo_secret\", \"email_addresses\": [\"support@demo.example\"], \"widget\": true}]"
smtp_port="${SMTP_PORT:-2525}" sink_port="${MAIL_SINK_PORT:-2526}"

alive() { [[ -f "$run/$1.pid" ]] && kill -0 "$(cat "$run/$1.pid")" 2>/dev/null; }

start() {
  if ! alive mail-sink; then
    setsid nohup "$repo/.venv/bin/python" "$here/mailsink.py" --port "$sink_port" --dir "$state/mail" \
      >>"$run/mail-sink.log" 2>&1 &
    echo $! >"$run/mail-sink.pid"
  fi
  for entry in "${services[@]}"; do
    name="${entry%%:*}" port="${entry##*:}"
    if alive "$name"; then echo "$name already running" >&2; continue; fi
    RELAIS_HTTP_PORT="$port" \
    RELAIS_KAFKA_BOOTSTRAP_SERVERS="${RELAIS_KAFKA_BOOTSTRAP_SERVERS:-127.0.0.1:${KAFKA_PORT:-19092}}" \
    RELAIS_REDIS_URL="${RELAIS_REDIS_URL:-redis://127.0.0.1:${REDIS_PORT:-16379}/0}" \
    RELAIS_ENV="${RELAIS_ENV:-dev}" \
    RELAIS_API_CALLERS="${RELAIS_API_CALLERS:-$dev_callers}" \
    RELAIS_INTEGRATORS="${RELAIS_INTEGRATORS:-$dev_integrators}" \
    RELAIS_SMTP_PORT="${RELAIS_SMTP_PORT:-$smtp_port}" \
    RELAIS_SMTP_RELAY_PORT="${RELAIS_SMTP_RELAY_PORT:-$sink_port}" \
    RELAIS_UPSTREAM_TOKEN="${RELAIS_UPSTREAM_TOKEN:-$dev_gateway_token}" \
    RELAIS_CONTEXT_STORE_URL="${RELAIS_CONTEXT_STORE_URL:-http://127.0.0.1:${CONTEXT_STORE_PORT:-8081}}" \
    RELAIS_ROUTER_URL="${RELAIS_ROUTER_URL:-http://127.0.0.1:${ROUTER_PORT:-8083}}" \
    RELAIS_ROUTING_CONFIG_DIR="${RELAIS_ROUTING_CONFIG_DIR:-$repo/deploy/k8s/base/router/routing}" \
      setsid nohup "$repo/.venv/bin/relais-$name" >>"$run/$name.log" 2>&1 &
    echo $! >"$run/$name.pid"
  done
  # Ready means the service answers /readyz: Kafka and Redis reachable, consumers running.
  deadline=$((SECONDS + ${SERVICES_START_TIMEOUT:-90}))
  for entry in "${services[@]}"; do
    name="${entry%%:*}" port="${entry##*:}"
    until curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; do
      if ! alive "$name"; then echo "$name exited; last log lines:" >&2; tail -n 30 "$run/$name.log" >&2; exit 1; fi
      if ((SECONDS > deadline)); then echo "$name not ready in time; see $run/$name.log" >&2; exit 1; fi
      sleep 0.2
    done
    echo "$name ready at http://127.0.0.1:$port (log: $run/$name.log)"
  done
  echo "integrator demo-dev (tenant demo): POST http://127.0.0.1:${CHANNELS_PORT:-8084}/v1/events, secret in $demo_secret"
  echo "web chat: be the customer at http://127.0.0.1:${CHANNELS_PORT:-8084}/chat/ (the widget of demo-dev, tenant demo)"
  echo "email: write to support@demo.example over SMTP at 127.0.0.1:$smtp_port; replies land in $state/mail/"
}

stop() {
  for entry in "${services[@]}" "mail-sink:$sink_port"; do
    name="${entry%%:*}"
    if alive "$name"; then
      pid="$(cat "$run/$name.pid")"
      kill -TERM "$pid"
      for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
      kill -KILL "$pid" 2>/dev/null || true
      echo "$name stopped" >&2
    fi
    rm -f "$run/$name.pid"
  done
}

status() {
  for entry in "${services[@]}"; do
    name="${entry%%:*}" port="${entry##*:}"
    if alive "$name"; then echo "$name running (pid $(cat "$run/$name.pid"), http://127.0.0.1:$port)"; else echo "$name stopped"; fi
  done
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
