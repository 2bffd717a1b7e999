#!/usr/bin/env bash
# Debian's Chromium for the agent desk's browser tests (Playwright drives it; it never downloads a
# browser of its own, which this network would refuse).
#
# Usage: deploy/local/chromium.sh install|status
set -euo pipefail

CHROMIUM=/usr/bin/chromium
log() { printf 'chromium.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

cmd_install() {
  if [[ -x "$CHROMIUM" ]]; then
    log "chromium found: $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM")"
    return 0
  fi
  local -a sudo=()
  if [[ "$(id -u)" != 0 ]]; then
    command -v sudo >/dev/null 2>&1 || die "chromium missing; not root and no sudo: run 'apt-get install -y chromium' as root"
    sudo=(sudo)
  fi
  command -v apt-get >/dev/null 2>&1 || die "chromium missing and apt-get not available; install Chromium at $CHROMIUM"
  log "installing chromium with apt-get ..."
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium >&2
  [[ -x "$CHROMIUM" ]] || die "$CHROMIUM still missing after apt-get install"
}

case "${1:-}" in
  install) cmd_install ;;
  status) if [[ -x "$CHROMIUM" ]]; then "$CHROMIUM" --version; else log "not installed"; exit 1; fi ;;
  *) echo "usage: $0 install|status" >&2; exit 2 ;;
esac
