#!/usr/bin/env bash
# Make sure a headless Chromium is installed for the browser test and `make screenshots`.
#
#   scripts/browser_deps.sh           install Debian's `chromium` package if /usr/bin/chromium is missing
#
# Playwright drives this system Chromium (executable_path=/usr/bin/chromium); we never run
# `playwright install`, which downloads browsers from a CDN (not reachable offline). Needs root
# (or sudo) on Debian/Ubuntu; elsewhere install Chromium yourself and set HAR_CHROMIUM to its path.
# Idempotent: a second run only prints the version.
set -euo pipefail

CHROMIUM="${HAR_CHROMIUM:-/usr/bin/chromium}"
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"

if [ ! -x "$CHROMIUM" ]; then
  command -v apt-get >/dev/null || {
    echo "No Chromium at $CHROMIUM and no apt-get: install Chromium for your OS and set HAR_CHROMIUM." >&2
    exit 1
  }
  echo "Installing chromium from Debian's packages ..."
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi
if ! version="$("$CHROMIUM" --headless --no-sandbox --version 2>/dev/null)"; then
  echo "Chromium at $CHROMIUM does not start." >&2
  exit 1
fi
echo "Chromium: $version ($CHROMIUM)"
