#!/usr/bin/env bash
# Install what osq needs (Debian packages, only those missing), then build
# into build/. Idempotent. Run as root on a fresh Debian machine.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  build-essential cmake pkg-config clang
  libsqlite3-dev libjansson-dev libedit-dev libssl-dev libcmocka-dev
  librdkafka-dev
  libcurl4-openssl-dev
  python3 python3-thrift thrift-compiler libthrift-dev libboost-dev g++ make
  sqlite3 procps
  util-linux attr keyutils openssh-client libcap2-bin
  # tables that read a format through a library (dlopen'ed on first use:
  # the -dev packages bring headers and the runtime library), and the
  # tools their tests compare with
  libsystemd-dev dbus-daemon systemd
  librpm-dev rpm
  libmagic-dev file
  libyara-dev yara
  libaugeas-dev augeas-tools augeas-lenses
  libip4tc-dev iptables
  libcurl4-openssl-dev openssl
  libcryptsetup-dev cryptsetup-bin
  zlib1g-dev
  libzstd-dev zstd
  hwdata pciutils usbutils dmidecode mdadm libtsk-dev sleuthkit e2fsprogs
)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

BUILD_DIR=${BUILD_DIR:-build}
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD_DIR" -j"$(nproc)"
