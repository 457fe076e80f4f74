#!/usr/bin/env bash
# Build a local stand-in for python:3.11-slim from Debian's packages, for
# machines that reach Debian's and PyPI's package mirrors but no image registry.
#
#   scripts/build_base_image.sh [IMAGE_NAME]      (default: har-base:py3.11-bookworm)
#
# Debian bookworm ships Python 3.11, the project's Python. The image has
# python3.11 + venv + pip and the CA bundle (so pip inside it reaches PyPI).
# Needs root, debootstrap and a running Docker engine (see README).
set -euo pipefail

IMAGE="${1:-har-base:py3.11-bookworm}"
SUITE="${SUITE:-bookworm}"
MIRROR="${MIRROR:-http://deb.debian.org/debian}"

if docker image inspect "$IMAGE" >/dev/null 2>&1; then
  echo "Base image $IMAGE already exists."
  exit 0
fi
command -v debootstrap >/dev/null || { echo "debootstrap missing: apt-get install -y debootstrap" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "debootstrap needs root" >&2; exit 1; }

ROOTFS="$(mktemp -d /tmp/har-rootfs.XXXXXX)"
trap 'rm -rf "$ROOTFS"' EXIT
echo "Bootstrapping Debian $SUITE into $ROOTFS (a few minutes) ..."
debootstrap --variant=minbase \
  --include=python3.11,python3.11-venv,python3-pip,ca-certificates,libgomp1 \
  "$SUITE" "$ROOTFS" "$MIRROR" >/tmp/har-debootstrap.log 2>&1 \
  || { tail -20 /tmp/har-debootstrap.log >&2; exit 1; }
# The host's CA bundle, in case the image's is older than the host's view of PyPI.
cp /etc/ssl/certs/ca-certificates.crt "$ROOTFS/etc/ssl/certs/ca-certificates.crt"
ln -sf /usr/bin/python3.11 "$ROOTFS/usr/local/bin/python"
ln -sf /usr/bin/python3.11 "$ROOTFS/usr/local/bin/python3"
# Like python:3.11-slim: `pip` on PATH and pip allowed to install into the image's Python
# (BentoML's generated Dockerfile runs `pip install uv` before making its own venv).
ln -sf /usr/bin/pip3 "$ROOTFS/usr/local/bin/pip"
rm -f "$ROOTFS"/usr/lib/python3.11/EXTERNALLY-MANAGED
rm -rf "$ROOTFS"/var/cache/apt/archives/*.deb "$ROOTFS"/var/lib/apt/lists/*
tar -C "$ROOTFS" -c . | docker import \
  --change 'ENV LANG=C.UTF-8 PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'CMD ["python3"]' - "$IMAGE"
echo "Built $IMAGE"
