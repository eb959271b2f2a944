#!/usr/bin/env bash
# The Linux packages as a user gets them (test.sh's `package` step; also runs alone):
#   1. builds the .deb and .rpm of version N and of N+1 in release (package.sh), both signed with a
#      throw-away updater key and pointed at an update server on 127.0.0.1;
#   2. installs N's .deb with apt-get (so its Depends are resolved as a user's apt does);
#   3. checks what it put in place (tests/tests/installed_package.rs, deb_installed_files): the
#      binary's --version, the .desktop entry (desktop-file-validate), the hicolor icons, the Depends,
#      ldd;
#   4. starts the installed /usr/bin/parley under Xvfb in a keyring session and sees its window paint
#      (installed_app_paints_its_window);
#   5. lets the installed app update itself to N+1 (tests/tests/installed_update.rs);
#   6. purges the package and checks nothing it installed is left while the user's data folder is
#      (deb_removed_cleanly);
#   7. checks the .rpm holds the same files and sensible Requires (rpm_matches_deb).
# The package is purged even when a stage fails. Prints one timing line per stage.
#
#   bash src-tauri/scripts/package-test.sh
#
# Needs root or sudo (apt-get, dpkg), the test packages from deps.sh, and parley-cli built
# (`cargo build -p parley-cli`; the window stage fills the user's data folder with it).
#
# Builds: the release profile as shipped, except where PARLEY_PACKAGE_PROFILE=ci (test.sh sets it
# in CI), which overrides by environment what only makes the build slower: CARGO_PROFILE_RELEASE_LTO
# and CARGO_PROFILE_RELEASE_CODEGEN_UNITS (see ci_profile below). The packages' contents, the
# opt-level, strip and panic=abort are the shipped ones.
set -euo pipefail

SCRIPTS="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPTS/../.." && pwd)"
cd "$REPO_ROOT"

TARGET_DIR="${CARGO_TARGET_DIR:-$REPO_ROOT/target}"
WORK="$TARGET_DIR/package-test"
PACKAGE=parley
# The update server U's test serves N+1 from; fixed, so it can be built into N's config.
export PARLEY_UPDATE_PORT="${PARLEY_UPDATE_PORT:-47311}"
export PATH="$TARGET_DIR/tools/bin:$PATH"
STARTED_AT=$SECONDS
INSTALLED_BY_US=0
CURRENT_STAGE=""
STAGE_STARTED=$SECONDS

LOG_TAG=package
# shellcheck source=lib.sh
source "$SCRIPTS/lib.sh"

# Runs one named stage and prints how long it took. Not `"$@" || status=$?`: that would switch
# `set -e` off inside the stage's function; a failure exits the script and on_exit reports it.
stage() {
    CURRENT_STAGE="$1" STAGE_STARTED=$SECONDS
    shift
    log "==> $CURRENT_STAGE"
    "$@"
    printf '[time] package/%-10s %4d s  (exit 0)\n' "$CURRENT_STAGE" "$((SECONDS - STAGE_STARTED))"
    CURRENT_STAGE=""
}

is_installed() { package_installed "$PACKAGE"; }

# On any exit: report a failed stage, and purge the package, so a failed run never leaves Parley
# installed on the machine.
on_exit() {
    local status=$?
    if [ -n "${CURRENT_STAGE:-}" ]; then
        printf '[time] package/%-10s %4d s  (exit %d)\n' "$CURRENT_STAGE" "$((SECONDS - STAGE_STARTED))" "$status"
        echo "FAILED: package stage $CURRENT_STAGE (exit $status) after $((SECONDS - STARTED_AT)) s" >&2
    fi
    if [ "$INSTALLED_BY_US" = 1 ] && dpkg-query -W "$PACKAGE" >/dev/null 2>&1; then
        log "removing $PACKAGE after the failed run"
        apt_as_root purge -y -qq "$PACKAGE" >/dev/null || true
    fi
    exit "$status"
}

# N from the app crate (the version the package and --version carry), N+1 with the patch raised.
versions() {
    VERSION="$(cargo pkgid -p parley-app | sed 's/.*[#@]//')"
    local major minor patch
    IFS=. read -r major minor patch <<<"${VERSION%%[-+]*}"
    NEXT_VERSION="$major.$minor.$((patch + 1))"
    log "version N = $VERSION, N+1 = $NEXT_VERSION"
}

# The Tauri CLI (package.sh installs it) and a throw-away updater key pair without a password.
prepare() {
    rm -rf "$WORK"
    mkdir -p "$WORK"
    TAURI="$(bash "$SCRIPTS/package.sh" --cli-path)"
    export PARLEY_TAURI_CLI="$TAURI"
    "$TAURI" signer generate --ci -p "" -w "$WORK/updater.key" >/dev/null
    export TAURI_SIGNING_PRIVATE_KEY="$(cat "$WORK/updater.key")"
    export TAURI_SIGNING_PRIVATE_KEY_PASSWORD=""
    versions
    cargo build -q -p parley-cli
}

# The config overlay a build merges over tauri.conf.json: updater artifacts (signed packages), our
# throw-away public key and the local update server; VERSION, when given, replaces the version.
updater_overlay() {
    local version="${1:-}" pubkey version_field=""
    pubkey="$(cat "$WORK/updater.key.pub")"
    [ -z "$version" ] || version_field="\"version\":\"$version\","
    printf '{%s"bundle":{"createUpdaterArtifacts":true},"plugins":{"updater":{"pubkey":"%s","endpoints":["http://127.0.0.1:%s/latest.json"],"dangerousInsecureTransportProtocol":true}}}\n' \
        "$version_field" "$pubkey" "$PARLEY_UPDATE_PORT"
}

# CI only: thin LTO over 16 codegen units instead of fat LTO over one, which changes how long the
# two release builds take on two cores, not what is in the packages.
ci_profile() {
    if [ "${PARLEY_PACKAGE_PROFILE:-}" = "ci" ]; then
        export CARGO_PROFILE_RELEASE_LTO=thin CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16
        log "CI profile: LTO thin and 16 codegen units (shipped: fat LTO, 1 codegen unit)"
    fi
}

# Builds the release packages with OVERLAY into $WORK/NAME/.
build_packages() {
    local name="$1" overlay="$2"
    local bundles="$TARGET_DIR/release/bundle"
    printf '%s\n' "$overlay" >"$WORK/$name.json"
    rm -rf "$bundles/deb" "$bundles/rpm"
    bash "$SCRIPTS/package.sh" --ci --config "$WORK/$name.json"
    mkdir -p "$WORK/$name"
    cp "$bundles"/deb/*.deb* "$bundles"/rpm/*.rpm* "$WORK/$name/"
    ls -l "$WORK/$name" | sed 's/^/[package]   /'
}

build_n() { build_packages n "$(updater_overlay)"; }
build_next() { build_packages next "$(updater_overlay "$NEXT_VERSION")"; }

# One file in $WORK/NAME matching GLOB, or a failure naming what is there.
one_file() {
    local dir="$WORK/$1" glob="$2" found
    found="$(find "$dir" -maxdepth 1 -name "$glob" | head -n 2)"
    if [ "$(printf '%s\n' "$found" | grep -c .)" != 1 ]; then
        echo "expected one $glob in $dir, found: $(ls "$dir")" >&2
        return 1
    fi
    printf '%s\n' "$found"
}

install_deb() {
    if dpkg-query -W "$PACKAGE" >/dev/null 2>&1; then
        log "$PACKAGE is already installed (a previous run?): purging it first"
        apt_as_root purge -y -qq "$PACKAGE" >/dev/null
    fi
    INSTALLED_BY_US=1
    apt_as_root install -y -q "$DEB" | grep -E '^(Setting up|Unpacking|The following NEW)' || true
    is_installed || { echo "apt-get install of $DEB did not leave $PACKAGE installed" >&2; return 1; }
    dpkg -L "$PACKAGE" >"$WORK/installed-files.txt"
    log "installed $(dpkg-query -W -f='${Package} ${Version}' "$PACKAGE"): $(wc -l <"$WORK/installed-files.txt") paths"
}

# Runs one check of tests/tests/installed_package.rs by its exact name.
check() {
    cargo test -q -p parley-tests --test installed_package -- --exact "$1" --nocapture
}

check_window() {
    bash "$SCRIPTS/with-keyring.sh" xvfb-run -a -s "-screen 0 1280x800x24" \
        cargo test -q -p parley-tests --test installed_package -- --exact installed_app_paints_its_window --nocapture
}

# The installed N updates itself to N+1 served from 127.0.0.1 (and refuses a bad signature first).
update() {
    PARLEY_INSTALLED_APP=/usr/bin/parley PARLEY_INSTALLED_VERSION="$VERSION" \
        PARLEY_NEXT_VERSION="$NEXT_VERSION" PARLEY_NEXT_DEB="$NEXT_DEB" \
        PARLEY_NEXT_DEB_SIG="$NEXT_DEB.sig" \
        bash "$SCRIPTS/with-keyring.sh" xvfb-run -a -s "-screen 0 1280x800x24" \
        cargo test -q -p parley-tests --test installed_update -- --nocapture
}

purge() {
    apt_as_root purge -y -q "$PACKAGE" | grep -E '^(Removing|Purging)' || true
    INSTALLED_BY_US=0
}

main() {
    trap on_exit EXIT
    stage prepare prepare
    ci_profile
    stage build-n build_n
    stage build-next build_next
    DEB="$(one_file n '*.deb')"
    RPM="$(one_file n '*.rpm')"
    NEXT_DEB="$(one_file next '*.deb')"
    export PARLEY_DEB="$DEB" PARLEY_RPM="$RPM" PARLEY_EXPECTED_VERSION="$VERSION"
    export PARLEY_INSTALLED_APP=/usr/bin/parley
    export PARLEY_INSTALLED_FILES="$WORK/installed-files.txt"
    export PARLEY_USER_HOME="$WORK/user-home"
    stage install install_deb
    stage files check deb_installed_files
    stage window check_window
    stage update update
    stage purge purge
    stage leftovers check deb_removed_cleanly
    stage rpm check rpm_matches_deb
    log "all package stages passed in $((SECONDS - STARTED_AT)) s"
}

main "$@"
