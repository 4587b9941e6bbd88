#!/bin/sh
# Install telework for a GitLab runner on Debian 12 (as root): the Debian packages the
# pipeline's jobs run, a virtualenv in /opt/telework with the telework wheel, `telework` on
# PATH. The Containerfile beside this file runs it for a docker runner's image; on a shell
# runner's VM run it as is:
#
#   sh install.sh telework-0.1.0-py3-none-any.whl
#
# PIP_INDEX_URL / PIP_FIND_LINKS point pip at a mirror or a wheelhouse where PyPI is not reachable.
set -eu
wheel=${1:?usage: install.sh TELEWORK_WHEEL}
[ -f "$wheel" ] || { echo "install.sh: no wheel at $wheel" >&2; exit 1; }

# python3-venv: the virtualenv; git: the inventory's history and the run records;
# openssh-client: ssh-agent/ssh-add hold a job's SSH key; ca-certificates: GitLab's API over TLS
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends python3 python3-venv git openssh-client ca-certificates >/dev/null

python3 -m venv /opt/telework
/opt/telework/bin/pip install -q --disable-pip-version-check "$wheel"
ln -sf /opt/telework/bin/telework /usr/local/bin/telework
rm -rf /var/lib/apt/lists/*
telework --version
