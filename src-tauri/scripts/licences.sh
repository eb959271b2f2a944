#!/usr/bin/env bash
# The About view's list of third-party crates and their licence texts, made by cargo-about
# (EmbarkStudios) from src-tauri/about.toml and the template src-tauri/licenses/third-party.hbs, for the
# app crate's shipped (not build or dev) dependencies on Linux, Windows and macOS:
#
#   bash src-tauri/scripts/licences.sh          # rewrite src-tauri/licenses/third-party.json
#   bash src-tauri/scripts/licences.sh --check  # fail when a shipped crate is missing from it
#
# Writing installs cargo-about into target/tools (deps.sh licences, ~5 min once) and is offline apart
# from crates.io: `cargo fetch` downloads every platform's crates, then cargo-about runs --offline, so
# it reads only the licence files inside the crates and never asks clearlydefined.io or a git host.
# Checking (the test command's `licences` step) needs no cargo-about: check.py compares the list with
# what `cargo tree` says the app links on each target, in seconds.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$REPO_ROOT"
export PATH="$REPO_ROOT/target/tools/bin:$PATH"

LIST=src-tauri/licenses/third-party.json

case "${1:-write}" in
    write)
        bash src-tauri/scripts/deps.sh licences
        generated="$(mktemp)"
        trap 'rm -f "$generated"' EXIT
        cargo fetch --locked --manifest-path src-tauri/Cargo.toml --quiet
        cargo-about generate --offline --locked --fail --manifest-path src-tauri/Cargo.toml \
            --output-file "$generated" src-tauri/licenses/third-party.hbs
        cp "$generated" "$LIST"
        echo "wrote $LIST"
        ;;
    --check)
        cargo fetch --locked --manifest-path src-tauri/Cargo.toml --quiet
        python3 src-tauri/licenses/check.py
        ;;
    *)
        echo "usage: $0 [--check]" >&2
        exit 2
        ;;
esac
