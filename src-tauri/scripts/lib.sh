# Helpers shared by deps.sh and package-test.sh (sourced, never run): prefixed log lines, commands
# that need root (sudo only when not root already), and whether a Debian package is installed.
# Set LOG_TAG before sourcing to name the script in its log lines.

LOG_TAG="${LOG_TAG:-parley}"

log() { printf '[%s] %s\n' "$LOG_TAG" "$*"; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    else
        sudo "$@"
    fi
}

# apt-get as root, never asking a question.
apt_as_root() {
    as_root env DEBIAN_FRONTEND=noninteractive apt-get "$@"
}

package_installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}
