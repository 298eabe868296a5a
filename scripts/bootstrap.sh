#!/usr/bin/env bash
# Installs the Debian 12 packages that coreplay's build, tests and demo need; skips what is there.
set -euo pipefail
PKGS=(
  # build
  cmake ninja-build pkg-config ccache clang-19 libclang-rt-19-dev
  libboost1.81-dev libpcap-dev liburing-dev librdkafka-dev librange-v3-dev catch2
  libyaml-cpp-dev libssl-dev zlib1g-dev
  # test peers and the demo
  tcpdump tshark nginx-light wrk kcat curl apache2-utils python3 iproute2 openssl
)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "bootstrap: all ${#PKGS[@]} packages present"
  exit 0
fi
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo
echo "bootstrap: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "bootstrap: done"
