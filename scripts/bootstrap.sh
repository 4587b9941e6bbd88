#!/usr/bin/env bash
# Install what telework needs on a fresh Debian 12 machine (as root) and build the venv.
# Idempotent and quick on a second run: apt is skipped when every package is present,
# pip and debootstrap downloads are cached under /var/cache/telework.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  python3 python3-venv python3-dev git ca-certificates   # the venv and the package
  age                                                    # secrets interop (age CLI)
  openssl oathtool                                       # VPN PKI and TOTP interop tests
  debootstrap systemd-container apt-cacher-ng            # the lab: base image, hosts, apt proxy
  iproute2 nftables openssh-client iputils-ping          # the lab: namespaces, NAT, SSH
  openvpn wireguard-tools wireguard-go                   # the lab: real VPN clients in a home network
  chromium fonts-dejavu-core                             # audit report rendered headless (screenshot test)
  poppler-utils zbar-tools                               # handover letters: PDF to image, QR code decoded
  baresip-core sox sip-tester                            # the lab: real SIP phones at home, their tone measured, a carrier (SIPp)
)
CACHE=/var/cache/telework
mkdir -p "$CACHE/pip"

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "bootstrap: missing Debian packages: ${missing[*]}; run as root or: apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  echo "bootstrap: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # policy-rc.d: package scripts must not start services on the controller; the lab starts its own.
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  rm -f /usr/sbin/policy-rc.d
fi

PYTHON=/usr/bin/python3
if [[ ! -x .venv/bin/python ]] || ! .venv/bin/python -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  rm -rf .venv
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.telework-installed
if [[ ! -f $stamp || pyproject.toml -nt $stamp ]]; then
  PIP_CACHE_DIR="$CACHE/pip" .venv/bin/pip install -q --disable-pip-version-check -e '.[test]'
  touch "$stamp"
fi

# gitlab-ci-local runs the example pipeline in tests/pipeline/ with its shell executor. Pinned:
# 4.52.0 runs on Debian 12's Node.js (newer releases need Node 22); installed from the npm
# registry into the cache, outside the clone, once. Its --shell-isolation copies jobs with rsync.
GCL_VERSION=4.52.0
GCL_DIR=$CACHE/npm/gitlab-ci-local-$GCL_VERSION
if [[ ! -x $GCL_DIR/node_modules/.bin/gitlab-ci-local ]]; then
  gcl_missing=()
  command -v npm >/dev/null || gcl_missing+=(nodejs npm)
  command -v rsync >/dev/null || gcl_missing+=(rsync)
  if ((${#gcl_missing[@]})) && [[ $(id -u) -eq 0 ]]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${gcl_missing[@]}" >/dev/null
  fi
  mkdir -p "$GCL_DIR"
  npm install --prefix "$GCL_DIR" --cache "$CACHE/npm/cache" --no-fund --no-audit --loglevel=error "gitlab-ci-local@$GCL_VERSION" >/dev/null
fi
