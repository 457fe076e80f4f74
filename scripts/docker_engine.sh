#!/usr/bin/env bash
# Make sure a Docker engine is installed and running (for the `docker` stack).
#
#   scripts/docker_engine.sh          install docker.io, debootstrap and docker-registry from Debian
#                                     if missing, start dockerd in the background if not running
#
# docker-registry is the docker stack's local container registry (ZenML reuses an
# unchanged build only when the stack has one); scripts/docker_stack.py starts it on
# demand at 127.0.0.1:$HAR_REGISTRY_PORT (default 5050), so it is not started here.
#
# Needs root (or sudo) on Debian/Ubuntu. Elsewhere install Docker yourself and
# start it; the script then only checks that `docker info` answers.
set -euo pipefail

SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"

if ! command -v docker-registry >/dev/null && command -v apt-get >/dev/null; then
  echo "Installing docker-registry (the docker stack's local image registry) from Debian's packages ..."
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq docker-registry >/dev/null
  # Where systemd runs, the package starts its own service on :5000 (with auth): that port is
  # the MLflow UI's, and the stack runs its own instance on demand. Stop and disable it.
  if command -v systemctl >/dev/null; then $SUDO systemctl disable --now docker-registry >/dev/null 2>&1 || true; fi
fi
if docker info >/dev/null 2>&1; then
  echo "Docker engine: running ($(docker version --format '{{.Server.Version}}' 2>/dev/null))"
  exit 0
fi
if ! command -v dockerd >/dev/null || ! command -v debootstrap >/dev/null; then
  command -v apt-get >/dev/null || {
    echo "No Docker engine and no apt-get: install Docker for your OS, start it, and re-run." >&2; exit 1; }
  echo "Installing docker.io and debootstrap from Debian's packages ..."
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq docker.io debootstrap >/dev/null
fi
if ! docker info >/dev/null 2>&1; then
  echo "Starting dockerd in the background (log: /tmp/har-dockerd.log) ..."
  # No systemd in containers/CI sandboxes: start the daemon directly.
  $SUDO sh -c 'nohup dockerd >/tmp/har-dockerd.log 2>&1 &'
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && break
    sleep 1
  done
fi
if ! docker info >/dev/null 2>&1; then
  echo "Docker engine did not start; last lines of /tmp/har-dockerd.log:" >&2
  tail -20 /tmp/har-dockerd.log >&2 || true
  exit 1
fi
echo "Docker engine: running ($(docker version --format '{{.Server.Version}}'))"
