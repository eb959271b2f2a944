#!/usr/bin/env bash
# Installs what Parley needs to build, test and demo on Debian 12, and nothing that is already there.
#
#   bash src-tauri/scripts/deps.sh           # build + test packages, pinned Rust toolchain, tauri-driver, axe-core
#   bash src-tauri/scripts/deps.sh build     # only what `cargo build` of the app needs
#   bash src-tauri/scripts/deps.sh licences  # cargo-about, to regenerate the licence list (licences.sh)
#
# Idempotent: packages are checked with dpkg-query first, and `apt-get update` runs only when
# something is missing. Uses sudo only when not running as root.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
WANT="${1:-all}"
LOG_TAG=deps
# shellcheck source=lib.sh
source "$REPO_ROOT/src-tauri/scripts/lib.sh"

# WebKitGTK and friends for the Tauri app shell.
BUILD_PACKAGES=(
    libwebkit2gtk-4.1-dev build-essential file libxdo-dev libssl-dev
    libayatana-appindicator3-dev librsvg2-dev pkg-config
)
# Headless display, WebDriver, screenshots, the X clipboard (xclip, for the paste test), and a Secret
# Service (gnome-keyring) for the token store.
TEST_PACKAGES=(
    xvfb xauth webkit2gtk-driver x11-utils xclip gnome-keyring dbus dbus-x11
    libsecret-tools xdotool imagemagick
    # So customer emoji and Chinese names render in the demo window and the end-to-end screenshots
    # instead of boxes (a desktop has such fonts; a bare server does not).
    fonts-noto-color-emoji fonts-wqy-microhei
    # The drag source of the drag-and-drop window test: a small GTK window in Python.
    python3-gi gir1.2-gtk-3.0
    # The package test (package-test.sh): the .desktop validator, the .rpm's query and unpack tools,
    # and sudo, which the in-app updater runs to install a .deb where there is no polkit (CI as root).
    desktop-file-utils rpm cpio sudo
    # Fetching axe-core for the accessibility test, and checking its sha512.
    curl ca-certificates openssl
    # The media window test (window_media.rs): gst-launch-1.0 makes its ogg/opus voice note (base:
    # opusenc, oggmux), mp3 (good: lamemp3enc) and H.264/AAC mp4 (ugly: x264enc; libav: avenc_aac,
    # good: mp4mux), and WebKit's GStreamer plays them (libav: avdec_h264, avdec_aac for the mp4).
    gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-ugly
    gstreamer1.0-libav
)

missing_packages() {
    local pkg
    for pkg in "$@"; do
        package_installed "$pkg" || printf '%s\n' "$pkg"
    done
}

install_packages() {
    local -a missing
    mapfile -t missing < <(missing_packages "$@")
    if [ "${#missing[@]}" -eq 0 ]; then
        log "system packages: all present"
        return
    fi
    log "installing: ${missing[*]}"
    local started=$SECONDS
    export DEBIAN_FRONTEND=noninteractive
    apt_as_root update -qq
    apt_as_root install -y -qq --no-install-recommends \
        "${missing[@]}" >/dev/null
    log "apt took $((SECONDS - started)) s"
}

# rust-toolchain.toml pins the compiler; make sure it and its components are really installed.
ensure_toolchain() {
    if ! command -v rustup >/dev/null 2>&1; then
        log "rustup not found: using whatever cargo is on PATH ($(cargo --version 2>/dev/null || echo none))"
        return
    fi
    cd "$REPO_ROOT"
    if rustc --version >/dev/null 2>&1 && cargo fmt --version >/dev/null 2>&1 \
        && cargo clippy --version >/dev/null 2>&1; then
        log "toolchain: $(rustc --version)"
        return
    fi
    log "installing the toolchain pinned in rust-toolchain.toml"
    rustup toolchain install
    log "toolchain: $(rustc --version)"
}

# tauri-driver (the WebDriver server the window tests talk to), once, into target/tools so a
# re-run reuses it. Pinned to ^2: crates.io's newest is a 3.0 alpha.
ensure_tauri_driver() {
    local tools="$REPO_ROOT/target/tools"
    if [ -x "$tools/bin/tauri-driver" ]; then
        log "tauri-driver: $tools/bin/tauri-driver"
        return
    fi
    log "installing tauri-driver into $tools"
    local started=$SECONDS
    cargo install tauri-driver --version '^2' --locked --root "$tools"
    log "tauri-driver took $((SECONDS - started)) s"
}

# cargo-about (regenerates the About view's licence list: licences.sh), once, into target/tools like
# tauri-driver. Its binary needs the `cli` feature; about 5 minutes to build on two cores, so only
# `deps.sh licences` installs it: the test command checks the committed list without it.
ensure_cargo_about() {
    local tools="$REPO_ROOT/target/tools"
    if [ -x "$tools/bin/cargo-about" ]; then
        log "cargo-about: $tools/bin/cargo-about"
        return
    fi
    log "installing cargo-about into $tools"
    local started=$SECONDS
    cargo install cargo-about --version 0.9.3 --features cli --locked --root "$tools"
    log "cargo-about took $((SECONDS - started)) s"
}

# axe-core (the accessibility rules the window test runs inside the real window), from the npm
# registry as the package's tarball, checked against the registry's sha512, into target/tools: no
# Node.js needed, only its axe.min.js.
AXE_VERSION=4.10.3
AXE_SHA512="Xm7bpRXnDSX2YE2YFfBk2FnF0ep6tmG7xPh8iHee8MIcrgq762Nkce856dYtJYLkuIoYZvGfTs/PbZhideTcEg=="
ensure_axe_core() {
    local tools="$REPO_ROOT/target/tools" script="$REPO_ROOT/target/tools/axe-core/axe.min.js"
    if [ -f "$script" ] && grep -q "axe v$AXE_VERSION" "$script"; then
        log "axe-core: $script"
        return
    fi
    log "fetching axe-core $AXE_VERSION into $tools/axe-core"
    mkdir -p "$tools/axe-core"
    local tarball="$tools/axe-core-$AXE_VERSION.tgz"
    curl -fsSL --retry 3 -o "$tarball" "https://registry.npmjs.org/axe-core/-/axe-core-$AXE_VERSION.tgz"
    local got
    got="$(openssl dgst -sha512 -binary "$tarball" | base64 -w0)"
    if [ "$got" != "$AXE_SHA512" ]; then
        echo "[deps] axe-core $AXE_VERSION: checksum mismatch (got $got)" >&2
        rm -f "$tarball"
        return 1
    fi
    tar -xzf "$tarball" -C "$tools/axe-core" --strip-components=1 package/axe.min.js package/LICENSE
    rm -f "$tarball"
}

main() {
    case "$WANT" in
        build) install_packages "${BUILD_PACKAGES[@]}" ;;
        all) install_packages "${BUILD_PACKAGES[@]}" "${TEST_PACKAGES[@]}" ;;
        licences)
            ensure_cargo_about
            return
            ;;
        *)
            echo "usage: $0 [all|build|licences]" >&2
            exit 2
            ;;
    esac
    ensure_toolchain
    if [ "$WANT" = "all" ]; then
        ensure_tauri_driver
        ensure_axe_core
    fi
}

main
