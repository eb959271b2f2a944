#!/usr/bin/env bash
# Parley demo against the local sandbox, nothing real touched:
#   1. installs what is missing (deps.sh) and builds parley-sandbox, parley-cli and the app;
#   2. starts the sandbox on a free port with demo data, in a temporary folder;
#   3. adds a demo account with parley-cli, syncs, and prints the conversations and one thread;
#   4. opens the Parley window (under Xvfb with a screenshot when there is no display).
# The token store needs a Secret Service: when none is on the session bus, the demo runs in a
# private D-Bus session with a throw-away gnome-keyring (with-keyring.sh).
# Everything started here is stopped on exit; the temporary folder is removed.
#
#   bash src-tauri/scripts/demo.sh
set -euo pipefail

SCRIPTS="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPTS/../.." && pwd)"
cd "$REPO_ROOT"

TARGET_DIR="${CARGO_TARGET_DIR:-$REPO_ROOT/target}"
BIN_DIR="$TARGET_DIR/debug"
SANDBOX_TOKEN="demo-token"
ACCOUNT="demo"
CLI_TIMEOUT=120
SCREEN="1280x800x24"

log() { printf '\n[demo] %s\n' "$*"; }
fail() {
    printf '[demo] error: %s\n' "$*" >&2
    exit 1
}

secret_service_available() {
    [ -n "${DBUS_SESSION_BUS_ADDRESS:-}" ] || return 1
    dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
        org.freedesktop.DBus.ListActivatableNames 2>/dev/null | grep -q 'org.freedesktop.secrets' ||
        dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
            org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null |
        grep -q 'boolean true'
}

prepare() {
    bash "$SCRIPTS/deps.sh"
    log "building parley-sandbox, parley-cli and the app (first build takes a few minutes)"
    cargo build -p parley-sandbox -p parley-cli -p parley-app
}

# --- everything below runs with a Secret Service available ---

WORK=""
SANDBOX_PID=""
SANDBOX_URL=""

cleanup() {
    if [ -n "$SANDBOX_PID" ]; then
        kill "$SANDBOX_PID" 2>/dev/null || true
        wait "$SANDBOX_PID" 2>/dev/null || true
    fi
    if [ -n "$WORK" ]; then
        rm -rf "$WORK"
    fi
}

cli() {
    timeout "$CLI_TIMEOUT" "$BIN_DIR/parley-cli" --data-dir "$WORK/data" "$@"
}

# Starts the sandbox on port 0 (the OS picks a free one); sets SANDBOX_PID and SANDBOX_URL (the
# p1 base URL the sandbox reports). Not called in a subshell, so cleanup can stop it.
start_sandbox() {
    local log_file="$WORK/sandbox.log" url="" _
    "$BIN_DIR/parley-sandbox" --port 0 --token "$SANDBOX_TOKEN" >"$log_file" 2>&1 &
    SANDBOX_PID=$!
    for _ in $(seq 1 150); do
        url="$(sed -n 's/^parley-sandbox listening on \([^ ]*\).*/\1/p' "$log_file")"
        [ -n "$url" ] && break
        kill -0 "$SANDBOX_PID" 2>/dev/null || break
        sleep 0.1
    done
    if [ -z "$url" ]; then
        cat "$log_file" >&2
        fail "the sandbox did not start"
    fi
    SANDBOX_URL="$url"
}

# "ACCOUNT/ID" of the newest conversation, from `conversations --json`.
first_conversation() {
    cli conversations --limit 1 --json | python3 -c '
import json, sys
rows = json.load(sys.stdin)
if rows:
    print("%s/%s" % (rows[0]["account"], rows[0]["id"]))
'
}

show_inbox() {
    local url="$1" reference
    log "adding account '$ACCOUNT' (pact-p1 at $url; the token goes in on stdin)"
    printf '%s' "$SANDBOX_TOKEN" |
        cli account add --provider pact-p1 --name "$ACCOUNT" --base-url "$url"
    log "sync"
    cli sync
    log "conversations"
    cli conversations
    reference="$(first_conversation)"
    [ -n "$reference" ] || fail "no conversation after sync"
    log "thread $reference (last 15 messages)"
    cli messages "$reference" --limit 15
}

# Opens the window; without a display, runs it under Xvfb and keeps a screenshot.
open_window() {
    if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
        log "opening the Parley window; close it to end the demo"
        "$BIN_DIR/parley" || true
        return
    fi
    local shot
    shot="$(mktemp -t parley-demo-XXXXXX.png)"
    log "no display: opening the window under Xvfb to take a screenshot"
    xvfb-run -a -s "-screen 0 $SCREEN" bash "$SCRIPTS/demo.sh" --screenshot "$shot" "$WORK/app.log"
    log "screenshot of the window: $shot"
}

# Runs inside xvfb-run: start the app, wait for its window, grab the screen, stop the app.
take_screenshot() {
    local shot="$1" app_log="$2" app_pid _
    "$BIN_DIR/parley" >"$app_log" 2>&1 &
    app_pid=$!
    for _ in $(seq 1 100); do
        xdotool search --name '^Parley$' >/dev/null 2>&1 && break
        sleep 0.2
    done
    sleep 2 # let WebKit paint the page
    import -window root "$shot"
    kill "$app_pid" 2>/dev/null || true
    wait "$app_pid" 2>/dev/null || true
}

run_demo() {
    WORK="$(mktemp -d -t parley-demo.XXXXXX)"
    trap cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    mkdir -p "$WORK/data"
    # The window reads the same data folder (and keyring) the CLI just filled.
    export PARLEY_DATA_DIR="$WORK/data"
    start_sandbox
    show_inbox "$SANDBOX_URL"
    open_window
}

main() {
    case "${1:-}" in
        --screenshot)
            take_screenshot "$2" "$3"
            return
            ;;
        --in-session)
            run_demo
            return
            ;;
    esac
    prepare
    if secret_service_available; then
        run_demo
    else
        log "no Secret Service on a session bus: using a private D-Bus session with a temporary keyring"
        bash "$SCRIPTS/with-keyring.sh" bash "$SCRIPTS/demo.sh" --in-session
    fi
}

main "$@"
