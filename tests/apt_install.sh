# Sourced by tests/*/install-deps.sh: apt_install PACKAGE… installs Debian packages quietly,
# without recommended packages, through sudo unless run as root.
apt_install() {
    SUDO=
    if [ "$(id -u)" != 0 ]; then
        SUDO=sudo
    fi
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}
