# Sourced by scripts/demo and scripts/test: installs what is missing, nothing more.
# Debian 12. Idempotent: a second run installs nothing. Debian packages need root; the
# fast test loop (`./scripts/test -m "not lab"`) runs as any user once they are installed.

APT_PACKAGES="systemd dbus gearman-job-server gearman-tools openssh-server openssh-client
util-linux libsystemd-dev pkg-config gcc python3 python3-dev python3-venv tmux
mariadb-server mariadb-client"

VENV="${ATOMCTL_VENV:-$PWD/.venv}"
# The lab mounts private, empty /tmp, /var/tmp and /run: a console or check started inside
# it (the demo, the tests) could not see a checkout or venv kept there.
for place in "$(pwd -P)" "$VENV"; do
    case "$place/" in
    /tmp/* | /var/tmp/* | /run/*)
        echo "atomctl-tui: $place is under /tmp, /var/tmp or /run, which the lab hides from" \
            "its processes: clone the repository elsewhere (e.g. under /root or /srv)" >&2
        exit 1
        ;;
    esac
done

missing=""
for package in $APT_PACKAGES; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
        missing="$missing $package"
done
if [ -n "$missing" ] && [ "$(id -u)" != 0 ]; then
    echo "atomctl-tui: missing Debian packages:$missing; run this once as root to install them" >&2
    exit 1
fi
if [ -n "$missing" ]; then
    echo "Installing Debian packages:$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # shellcheck disable=SC2086  # word splitting of the package list is intended
    apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

stamp="$VENV/.installed-$(sha256sum pyproject.toml | cut -c1-16)"
if [ ! -e "$stamp" ]; then
    echo "Installing atomctl-tui and its test tools into $VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q --upgrade pip
    "$VENV/bin/pip" install -q -e ".[test]"
    touch "$stamp"
fi
