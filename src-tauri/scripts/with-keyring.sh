#!/usr/bin/env bash
# Runs a command inside a private D-Bus session that has an unlocked gnome-keyring (the Secret
# Service the token store talks to), with HOME and the XDG folders in a throw-away directory, so
# the real keyring and home are never touched. Everything started here is stopped on exit.
#
#   bash src-tauri/scripts/with-keyring.sh cargo test --workspace
#
# Exit status: the command's. Needs dbus-run-session, gnome-keyring-daemon and dbus-send
# (deps.sh installs them).
set -euo pipefail

log() { printf '[keyring] %s\n' "$*" >&2; }

# Outside the session: make the sandbox folder, then re-run this script under dbus-run-session.
start_session() {
    local sandbox status=0
    sandbox="$(mktemp -d -t parley-keyring.XXXXXX)"
    trap 'rm -rf "$sandbox"' EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    # cargo and rustup find their homes through HOME unless told, and HOME is about to move.
    export CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}"
    export RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}"
    PARLEY_KEYRING_SANDBOX="$sandbox" dbus-run-session -- bash "${BASH_SOURCE[0]}" "$@" || status=$?
    exit "$status"
}

point_home_at_sandbox() {
    local sandbox="$1"
    export HOME="$sandbox/home"
    export XDG_DATA_HOME="$HOME/.local/share"
    export XDG_CONFIG_HOME="$HOME/.config"
    export XDG_CACHE_HOME="$HOME/.cache"
    export XDG_RUNTIME_DIR="$sandbox/run"
    mkdir -p "$XDG_DATA_HOME" "$XDG_CONFIG_HOME" "$XDG_CACHE_HOME" "$XDG_RUNTIME_DIR"
    chmod 700 "$XDG_RUNTIME_DIR"
}

secret_service_is_up() {
    dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
        org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null |
        grep -q 'boolean true'
}

wait_for_secret_service() {
    local _
    for _ in $(seq 1 100); do
        secret_service_is_up && return 0
        sleep 0.1
    done
    return 1
}

# Inside the session: start an unlocked keyring, run the command, stop the keyring.
run_inside() {
    local sandbox="$PARLEY_KEYRING_SANDBOX" keyring_pid status=0
    unset PARLEY_KEYRING_SANDBOX
    point_home_at_sandbox "$sandbox"
    # --foreground keeps the daemon our child, so we know its pid and can stop it.
    printf 'parley-test' | gnome-keyring-daemon --foreground --unlock --components=secrets \
        >"$sandbox/keyring.log" 2>&1 &
    keyring_pid=$!
    trap 'kill "$keyring_pid" 2>/dev/null || true; wait "$keyring_pid" 2>/dev/null || true' EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    if ! wait_for_secret_service; then
        log "gnome-keyring did not come up on the session bus; its log:"
        cat "$sandbox/keyring.log" >&2
        exit 1
    fi
    "$@" || status=$?
    exit "$status"
}

if [ "$#" -eq 0 ]; then
    echo "usage: $0 COMMAND [ARGS...]" >&2
    exit 2
fi
if [ -n "${PARLEY_KEYRING_SANDBOX:-}" ]; then
    run_inside "$@"
else
    start_session "$@"
fi
