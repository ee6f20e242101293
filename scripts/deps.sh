#!/usr/bin/env bash
# Install the Debian packages flanvk builds and tests with (as root, or through sudo).
set -euo pipefail
PKGS="build-essential cmake pkg-config libvulkan-dev mesa-vulkan-drivers vulkan-validationlayers glslang-tools libcjson-dev libmicrohttpd-dev libstb-dev python3 libopenmpi-dev openmpi-bin clang libclang-rt-14-dev"
missing=""
for p in $PKGS; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
[ -z "$missing" ] && exit 0
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends $missing
