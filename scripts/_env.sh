# Shared by scripts/*: find or build the Python >= 3.14.2 environment and run
# commands in it. Sourced, not executed.
#
# Two ways to get there:
#   1. the machine has Python >= 3.14.2: a plain venv in the cache folder;
#   2. otherwise (Debian bookworm has 3.11): a Debian sid root file system with
#      python3.14, built once with debootstrap into the cache folder and entered
#      with chroot; the project is bind-mounted at the same path inside it.
# The cache lives outside the clone so that a fresh clone on the same machine
# reuses it. Nothing is rebuilt unless requirements_test.txt or the package list
# changes.

set -euo pipefail

PROJECT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE_DIR=${EVSE_BRIDGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/evse-bridge}
ROOT_DIR=$CACHE_DIR/sid-root
HOST_VENV=$CACHE_DIR/venv
# Debian packages the tests and scripts need besides Python. libturbojpeg0:
# Home Assistant's camera integration, which the UI loads, logs a traceback
# at every start without it. PostgreSQL with TimescaleDB: the example consumer.
APT_PACKAGES=(mosquitto procps chromium fonts-dejavu-core g++ python3.14-dev libturbojpeg0
  postgresql-18 postgresql-18-timescaledb libpq5)

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

host_python() {
  # Print a host interpreter that is >= 3.14.2, if there is one.
  local candidate
  for candidate in python3.14 python3 python; do
    if command -v "$candidate" >/dev/null 2>&1 &&
      "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 14, 2))' 2>/dev/null; then
      command -v "$candidate"
      return 0
    fi
  done
  return 1
}

requirements_stamp() {
  cat "$PROJECT_DIR/requirements_test.txt" <(printf '%s\n' "${APT_PACKAGES[@]}") | sha256sum | cut -d' ' -f1
}

mount_root() {
  # Mounts needed inside the root; idempotent, kept between runs.
  mountpoint -q "$ROOT_DIR/proc" || mount -t proc proc "$ROOT_DIR/proc"
  mountpoint -q "$ROOT_DIR/dev" || mount --rbind /dev "$ROOT_DIR/dev"
  local target=$ROOT_DIR$PROJECT_DIR
  mkdir -p "$target"
  # A folder deleted and cloned again at the same path leaves a stale mount.
  if mountpoint -q "$target" && [ "$(stat -c %d:%i "$PROJECT_DIR")" != "$(stat -c %d:%i "$target")" ]; then
    umount -l "$target"
  fi
  mountpoint -q "$target" || mount --bind "$PROJECT_DIR" "$target"
  # DNS and the registry proxy's CA may change between runs.
  cp /etc/resolv.conf "$ROOT_DIR/etc/resolv.conf"
  cp /etc/ssl/certs/ca-certificates.crt "$ROOT_DIR/etc/ssl/certs/ca-certificates.crt"
}

in_root() {
  # Run a command inside the root, in the project folder, with a clean environment.
  chroot "$ROOT_DIR" /usr/bin/env -i \
    PATH=/opt/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    HOME=/root LANG=C.UTF-8 TERM="${TERM:-dumb}" CI="${CI:-}" \
    PIP_CERT=/etc/ssl/certs/ca-certificates.crt PIP_DISABLE_PIP_VERSION_CHECK=1 \
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
    EVSE_BRIDGE_EXTRA="${EVSE_BRIDGE_EXTRA:-}" \
    /bin/bash -c 'cd "$1" && shift && exec "$@"' bash "$PROJECT_DIR" "$@"
}

build_root() {
  if [ ! -x "$ROOT_DIR/usr/bin/python3.14" ]; then
    command -v debootstrap >/dev/null 2>&1 || {
      log "installing debootstrap"
      apt-get update -qq && apt-get install -y -qq debootstrap >/dev/null
    }
    log "building a Debian sid root with Python 3.14 in $ROOT_DIR (about 1 minute, once)"
    rm -rf "$ROOT_DIR.partial"
    debootstrap --variant=minbase --include=python3.14,python3.14-venv,ca-certificates \
      sid "$ROOT_DIR.partial" http://deb.debian.org/debian >"$CACHE_DIR/debootstrap.log" 2>&1 ||
      { tail -20 "$CACHE_DIR/debootstrap.log"; exit 1; }
    mv "$ROOT_DIR.partial" "$ROOT_DIR"
  fi
  mount_root
  if [ "$(cat "$ROOT_DIR/.stamp" 2>/dev/null)" != "$(requirements_stamp)" ]; then
    log "installing Debian packages in the root: ${APT_PACKAGES[*]}"
    # The archive may be a dated snapshot whose Release file has expired.
    in_root apt-get -o Acquire::Check-Valid-Until=false update -qq
    in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${APT_PACKAGES[@]}" >/dev/null
    [ -x "$ROOT_DIR/opt/venv/bin/python" ] || in_root python3.14 -m venv /opt/venv
    log "installing Python packages (requirements_test.txt)"
    in_root pip install -q -r requirements_test.txt
    requirements_stamp >"$ROOT_DIR/.stamp"
  fi
}

build_host_venv() {
  local python=$1
  if [ "$(cat "$HOST_VENV/.stamp" 2>/dev/null)" != "$(requirements_stamp)" ]; then
    if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
      log "installing Debian packages: ${APT_PACKAGES[*]}"
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${APT_PACKAGES[@]}" >/dev/null ||
        log "could not install all of ${APT_PACKAGES[*]}; install them by hand"
    fi
  fi
  [ -x "$HOST_VENV/bin/python" ] || "$python" -m venv "$HOST_VENV"
  if [ "$(cat "$HOST_VENV/.stamp" 2>/dev/null)" != "$(requirements_stamp)" ]; then
    log "installing Python packages (requirements_test.txt)"
    "$HOST_VENV/bin/pip" install -q -r "$PROJECT_DIR/requirements_test.txt"
    requirements_stamp >"$HOST_VENV/.stamp"
  fi
}

# Build (or reuse) the environment, then define `run` for the calling script.
setup_environment() {
  mkdir -p "$CACHE_DIR"
  exec 9>"$CACHE_DIR/.lock"
  flock 9
  local python
  if python=$(host_python); then
    build_host_venv "$python"
    run() { (cd "$PROJECT_DIR" && PATH="$HOST_VENV/bin:$PATH" PATH="$PATH:/usr/sbin" "$@"); }
  else
    [ "$(id -u)" = 0 ] || { log "no Python >= 3.14.2 here, and building one needs root (chroot)"; exit 1; }
    build_root
    run() { in_root "$@"; }
  fi
  flock -u 9
}
