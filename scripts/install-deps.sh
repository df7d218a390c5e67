#!/usr/bin/env bash
# Installs what the test suites need on a fresh Debian machine: the real AMQP
# clients used by integration/ (Python, Java, Ruby, command line), Node's amqplib,
# Chromium for the management web page's browser tests and the Go modules. Safe
# to run again: it skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

pkgs=(python3-pika python3-amqp librabbitmq-client-java libslf4j-java ruby-bunny amqp-tools)
# The browser tests (integration/browser_*_test.go) drive headless Chromium;
# a font, so that the page's text (and its screenshots) renders.
pkgs+=(chromium fonts-dejavu-core)
# The side-by-side benchmark: RabbitMQ itself, and perf, with which
# bench-compare.sh counts the brokers' fdatasync and fsync calls.
if [ "${WITH_RABBITMQ:-0}" = 1 ]; then pkgs+=(rabbitmq-server linux-perf); fi
# The interop suite compiles its Java scenario with javac and runs amqplib on Node.
command -v javac >/dev/null || pkgs+=(default-jdk-headless)
command -v node >/dev/null || pkgs+=(nodejs)
command -v npm >/dev/null || pkgs+=(npm)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  # RUNLEVEL=1 keeps invoke-rc.d from starting a system RabbitMQ node on install.
  DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ -f integration/node/package.json ] && [ ! -d integration/node/node_modules/amqplib ]; then
  (cd integration/node && npm ci --no-audit --no-fund --silent)
fi

go mod download
