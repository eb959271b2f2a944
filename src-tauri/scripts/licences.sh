#!/usr/bin/env bash
# The About view's list of third-party crates and their licence texts, made by cargo-about
# (EmbarkStudios; deps.sh installs it into target/tools/bin) from src-tauri/about.toml and the
# template src-tauri/licenses/third-party.hbs, for the app crate's shipped (not build or dev)
# dependencies on Linux, Windows and macOS:
#
#   bash src-tauri/scripts/licences.sh          # rewrite src-tauri/licenses/third-party.json
#   bash src-tauri/scripts/licences.sh --check  # fail when the committed file is not current
#
# Offline apart from crates.io: `cargo fetch` downloads every platform's crates (cargo metadata needs
# them), then cargo-about runs --offline, so it reads only the licence files inside the crates and
# never asks clearlydefined.io or a git host.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$REPO_ROOT"
export PATH="$REPO_ROOT/target/tools/bin:$PATH"

LIST=src-tauri/licenses/third-party.json
MODE="${1:-write}"

if ! command -v cargo-about >/dev/null 2>&1; then
    echo "cargo-about is missing: run bash src-tauri/scripts/deps.sh (it installs it into target/tools)" >&2
    exit 1
fi

generated="$(mktemp)"
trap 'rm -f "$generated"' EXIT
cargo fetch --locked --manifest-path src-tauri/Cargo.toml --quiet
cargo-about generate --offline --locked --fail --manifest-path src-tauri/Cargo.toml \
    --output-file "$generated" src-tauri/licenses/third-party.hbs

case "$MODE" in
    write)
        cp "$generated" "$LIST"
        echo "wrote $LIST"
        ;;
    --check)
        if ! cmp -s "$generated" "$LIST"; then
            echo "$LIST is not current for Cargo.lock; the differences:" >&2
            diff <(jq -r '.crates[] | "\(.name) \(.version) \(.license)"' "$LIST") \
                <(jq -r '.crates[] | "\(.name) \(.version) \(.license)"' "$generated") >&2 || true
            echo "regenerate it with: bash src-tauri/scripts/licences.sh (and commit it)" >&2
            exit 1
        fi
        echo "$LIST is current ($(jq '.crates | length' "$LIST") crates, $(jq '.licenses | length' "$LIST") licence texts)"
        ;;
    *)
        echo "usage: $0 [--check]" >&2
        exit 2
        ;;
esac
