#!/usr/bin/env bash
# Builds Parley's Linux packages (.deb and .rpm) with the Tauri CLI, offline.
#
#   bash src-tauri/scripts/package.sh            # release bundles in target/release/bundle/
#   bash src-tauri/scripts/package.sh --debug    # quicker, unoptimised, in target/debug/bundle/
#   bash src-tauri/scripts/package.sh --cli-path # only installs the Tauri CLI and prints its path
#
# Why TAURI_APP_PATH=src-tauri: the repository root is a virtual Cargo workspace, where the CLI
# stops with "No package info in the config file". The CLI therefore runs on src-tauri/, where
# three committed symlinks make it see what plain `cargo build` sees through build.rs:
#   src-tauri/tauri.conf.json -> ../tauri.conf.json, src-tauri/ui -> ../ui, src-tauri/icons -> ../icons
# (the CLI resolves the config's paths against src-tauri/, cargo against the root).
# AppImage is left out: its bundler downloads a runtime at build time.
set -euo pipefail

SCRIPTS="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPTS/../.." && pwd)"
cd "$REPO_ROOT"

TARGET_DIR="${CARGO_TARGET_DIR:-$REPO_ROOT/target}"
CLI_PREFIX="$TARGET_DIR/tauri-cli"
TAURI="$CLI_PREFIX/node_modules/.bin/tauri"

# The npm package carries a prebuilt CLI binary (seconds), unlike `cargo install tauri-cli` (10+ min).
install_cli() {
    if [ ! -x "$TAURI" ]; then
        echo "[package] installing @tauri-apps/cli@^2 into $CLI_PREFIX" >&2
        npm install --prefix "$CLI_PREFIX" --no-save --no-audit --no-fund '@tauri-apps/cli@^2' >/dev/null
    fi
}

if [ "${1:-}" = "--cli-path" ]; then
    install_cli
    printf '%s\n' "$TAURI"
    exit 0
fi

bash "$SCRIPTS/deps.sh" build
install_cli
echo "[package] $("$TAURI" --version)"

TAURI_APP_PATH=src-tauri "$TAURI" build --bundles deb,rpm "$@"
