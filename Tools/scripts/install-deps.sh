#!/usr/bin/env bash
# Installs the Debian packages HAS builds and runs with (needs root or sudo).
# Swift 6 itself is expected on PATH (this machine image ships it in /opt/swift).
set -euo pipefail
packages=(zlib1g-dev libpng-dev pkg-config dataset-fashion-mnist python3-numpy)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO=sudo
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq "${missing[@]}"
fi
command -v swift >/dev/null || { echo "install-deps: swift (6.x) is not on PATH" >&2; exit 1; }
