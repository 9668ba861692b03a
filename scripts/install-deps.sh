#!/usr/bin/env bash
# Installs the Debian 12 packages stakewatch needs to build, test and demo. Idempotent: it only
# calls apt-get when a package is missing. Run as root (or with sudo available).
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config git clang-format
  libabsl-dev libsimdjson-dev libcpp-httplib-dev libyaml-cpp-dev libre2-dev zlib1g-dev
  libssl-dev libbrotli-dev libgtest-dev libgmock-dev libbenchmark-dev prometheus-cpp-dev
  libpq-dev python3 clang-14 libclang-rt-14-dev
  prometheus prometheus-alertmanager prometheus-node-exporter postgresql
  chromium fonts-liberation docker-compose apache2-utils openssl systemd
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# Package services (prometheus, postgresql) must not be started by the install: tests start
# their own instances on free ports.
policy_added=0
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
  $SUDO chmod +x /usr/sbin/policy-rc.d
  policy_added=1
fi
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
if [ $policy_added -eq 1 ]; then $SUDO rm -f /usr/sbin/policy-rc.d; fi
