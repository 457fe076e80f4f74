#!/usr/bin/env bash
# Make sure nginx is installed: each model's deployment sits behind its own user-level nginx
# (mlops/proxy.py) so a redeploy swaps servers without losing a request.
#
#   scripts/proxy_deps.sh           install Debian's `nginx-light` package if nginx is missing
#
# Only the binary is used: the project never starts, configures or reloads the system nginx (each
# model's proxy runs as the current user with its own prefix, config, pid file and logs). Needs root
# (or sudo) on Debian/Ubuntu; elsewhere install nginx yourself. Without nginx, deployments listen on
# the public port directly and a redeploy has downtime. Idempotent: a second run only prints the version.
set -euo pipefail

nginx_path() { command -v nginx || { [ -x /usr/sbin/nginx ] && echo /usr/sbin/nginx; } || true; }
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"

if [ -z "$(nginx_path)" ]; then
  command -v apt-get >/dev/null || {
    echo "No nginx and no apt-get: install nginx for your OS (any build with the http proxy module)." >&2
    exit 1
  }
  echo "Installing nginx-light from Debian's packages ..."
  $SUDO apt-get update -qq
  # --no-install-recommends; and policy-rc.d-less containers: the package's own service may fail to start,
  # which does not matter here (the system nginx is never used).
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends nginx-light >/dev/null
fi
NGINX="$(nginx_path)"
if [ -z "$NGINX" ] || ! version="$("$NGINX" -v 2>&1)"; then
  echo "nginx is not installed or does not start." >&2
  exit 1
fi
echo "nginx: ${version#nginx version: } ($NGINX)"
