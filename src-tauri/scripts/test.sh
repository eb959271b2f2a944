#!/usr/bin/env bash
# Parley's test gate, the same on a developer machine and in CI (`.ci/run` calls it):
#   deps -> cargo fmt --check -> cargo clippy -D warnings -> cargo build (app + CLI)
#   -> cargo test --workspace --no-fail-fast -> the Linux packages installed and removed (package-test.sh)
# The tests run inside a private D-Bus session with an unlocked, throw-away gnome-keyring
# (see with-keyring.sh), and under Xvfb (PARLEY_NEED_DISPLAY=1, the default; set it to 0 to skip
# Xvfb): the end-to-end tests drive the real window through tauri-driver, which deps.sh installs
# into target/tools/bin and this script puts on PATH.
#
#   bash src-tauri/scripts/test.sh            # everything
#   bash src-tauri/scripts/test.sh -- -p parley-core   # extra arguments go to `cargo test`
#   bash src-tauri/scripts/test.sh -- -p parley-tests --test window   # only the window tests
#   PARLEY_TEST_SKIP="fmt clippy" bash src-tauri/scripts/test.sh   # skip steps by name (local use)
#
# Stops at the first failing step and exits with its status. Prints one timing line per step.
set -euo pipefail

SCRIPTS="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPTS/../.." && pwd)"
cd "$REPO_ROOT"

export CARGO_TERM_COLOR=never
# The window tests need a display and tauri-driver (installed by deps.sh under target/tools).
export PARLEY_NEED_DISPLAY="${PARLEY_NEED_DISPLAY:-1}"
export PATH="$REPO_ROOT/target/tools/bin:$PATH"
if [ "${CI:-}" = "true" ]; then
    # A CI build starts from nothing: incremental data is only overhead, and full debug info
    # makes linking the WebKit app slow on two cores.
    export CARGO_INCREMENTAL=0
    export CARGO_PROFILE_DEV_DEBUG="${CARGO_PROFILE_DEV_DEBUG:-line-tables-only}"
fi

STARTED_AT=$SECONDS

# Runs one named step, prints how long it took, and stops the script if it failed.
step() {
    local name="$1" started=$SECONDS status=0
    shift
    if [[ " ${PARLEY_TEST_SKIP:-} " == *" $name "* ]]; then
        printf '[time] %-8s skipped (PARLEY_TEST_SKIP)\n' "$name"
        return
    fi
    echo "==> $name"
    "$@" || status=$?
    printf '[time] %-8s %4d s  (exit %d)\n' "$name" "$((SECONDS - started))" "$status"
    if [ "$status" -ne 0 ]; then
        echo "FAILED: $name (exit $status) after $((SECONDS - STARTED_AT)) s in all" >&2
        exit "$status"
    fi
}

# The keyring must work before tests rely on it: store, read back, and clear one secret.
keyring_probe() {
    local secret
    printf 'parley-probe' | secret-tool store --label='parley test probe' service parley-ci probe 1
    secret="$(secret-tool lookup service parley-ci probe 1)"
    secret-tool clear service parley-ci probe 1
    if [ "$secret" != "parley-probe" ]; then
        echo "keyring probe: stored 'parley-probe' but read back '$secret'" >&2
        return 1
    fi
    echo "keyring probe: secret-tool store/lookup/clear OK (HOME=$HOME)"
}

# Runs inside the keyring session: probe, then cargo test (under Xvfb when asked).
run_tests_in_session() {
    keyring_probe
    if [ "${PARLEY_NEED_DISPLAY:-0}" = "1" ]; then
        echo "PARLEY_NEED_DISPLAY=1: running the tests under xvfb-run"
        xvfb-run -a -s "-screen 0 1280x800x24" cargo test "$@"
    else
        cargo test "$@"
    fi
}

if [ "${PARLEY_TEST_STAGE:-}" = "in-session" ]; then
    unset PARLEY_TEST_STAGE
    run_tests_in_session "$@"
    exit $?
fi

TEST_ARGS=("--workspace" "--no-fail-fast")
FULL_RUN=1
if [ "${1:-}" = "--" ]; then
    shift
    TEST_ARGS=("$@")
    FULL_RUN=0
fi

step deps bash "$SCRIPTS/deps.sh"
step fmt cargo fmt --all -- --check --color never
# The About view's licence list must match Cargo.lock (regenerate: bash src-tauri/scripts/licences.sh).
step licences bash "$SCRIPTS/licences.sh" --check
# --all-targets leaves out test = false targets: name them (they run in the `package` step).
step clippy cargo clippy --workspace --all-targets --test installed_package --test installed_update -- -D warnings
# The demo (the README's first command) is a feature the installed app leaves out: lint it too.
step clippy-demo cargo clippy -p parley-app --all-targets --features demo -- -D warnings
# The window tests start the built app and the acceptance tests the built CLI: cargo test does
# not build other packages' binaries.
step build cargo build -p parley-app -p parley-cli
step test env PARLEY_TEST_STAGE=in-session \
    bash "$SCRIPTS/with-keyring.sh" bash "$SCRIPTS/test.sh" "${TEST_ARGS[@]}"
# The .deb and .rpm built in release, installed, started, updated and removed as a user's apt
# does (package-test.sh). Only in a full run, not when `--` picks tests. In CI with a cheaper LTO
# set-up (package-test.sh's ci_profile) so two release builds fit the time.
if [ "$FULL_RUN" = 1 ]; then
    if [ "${CI:-}" = "true" ]; then
        export PARLEY_PACKAGE_PROFILE="${PARLEY_PACKAGE_PROFILE:-ci}"
    fi
    step package bash "$SCRIPTS/package-test.sh"
fi
echo "all steps passed in $((SECONDS - STARTED_AT)) s"
