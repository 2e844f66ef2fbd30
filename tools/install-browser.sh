#!/usr/bin/env bash
# Installs Debian's Chromium (/usr/bin/chromium) for the headless browser tests, once; they drive it with Microsoft.Playwright,
# which cannot download its own browser here.
set -euo pipefail
browser=/usr/bin/chromium
if [ -x "$browser" ] && "$browser" --version >/dev/null 2>&1; then
  exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-browser.sh: $browser is missing and installing it needs root (apt-get install -y chromium)." >&2; exit 1; }
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq || { echo "install-browser.sh: apt-get update failed; cannot install chromium." >&2; exit 1; }
$sudo apt-get install -y -qq --no-install-recommends chromium >/dev/null \
  || { echo "install-browser.sh: apt-get install -y chromium failed." >&2; exit 1; }
if ! "$browser" --version >/dev/null 2>&1; then
  echo "install-browser.sh: chromium was installed but $browser does not run." >&2
  exit 1
fi
