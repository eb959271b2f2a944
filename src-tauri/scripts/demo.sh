#!/usr/bin/env bash
# Parley demo, nothing real touched: `parley --demo` starts our sandbox Pact server inside the app with
# realistic data, adds a demo account in a temporary data folder (token in memory, no keyring needed),
# syncs it with progress, and brings in a customer message every 20-40 s so notifications and live
# updates show. Closing the window (or Ctrl+C) ends it and removes the temporary folder.
#   1. installs what is missing (deps.sh) and builds the app;
#   2. runs `parley --demo`: in a window when there is a display, else under Xvfb, keeping a screenshot.
#
#   bash src-tauri/scripts/demo.sh
set -euo pipefail

SCRIPTS="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPTS/../.." && pwd)"
cd "$REPO_ROOT"

TARGET_DIR="${CARGO_TARGET_DIR:-$REPO_ROOT/target}"
APP="$TARGET_DIR/debug/parley"
SCREEN="1280x800x24"
# How long the headless run waits after the window appears (first sync, paint) before the screenshot.
SETTLE_SECONDS="${PARLEY_DEMO_SETTLE:-8}"

log() { printf '\n[demo] %s\n' "$*"; }

prepare() {
    bash "$SCRIPTS/deps.sh"
    log "building the app (the first build takes a few minutes)"
    cargo build -p parley-app --features demo
}

# Runs inside xvfb-run: start the demo, wait for its window and the first sync, grab the screen, stop it
# (TERM: the app exits normally and removes its temporary folder).
take_screenshot() {
    local shot="$1" app_pid _
    "$APP" --demo &
    app_pid=$!
    for _ in $(seq 1 150); do
        xdotool search --name '^Parley' >/dev/null 2>&1 && break
        kill -0 "$app_pid" 2>/dev/null || break
        sleep 0.2
    done
    sleep "$SETTLE_SECONDS"
    import -window root "$shot"
    kill -TERM "$app_pid" 2>/dev/null || true
    wait "$app_pid" 2>/dev/null || true
}

main() {
    if [ "${1:-}" = "--screenshot" ]; then
        take_screenshot "$2"
        return
    fi
    prepare
    if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
        log "opening the Parley demo; close the window to end it"
        exec "$APP" --demo
    fi
    local shot
    shot="$(mktemp -t parley-demo-XXXXXX.png)"
    log "no display: running the demo under Xvfb to take a screenshot"
    xvfb-run -a -s "-screen 0 $SCREEN" bash "$SCRIPTS/demo.sh" --screenshot "$shot"
    log "screenshot of the window: $shot"
}

main "$@"
