#!/usr/bin/env bash
# One-time (and idempotent) set-up on a fresh Debian/Ubuntu machine: system packages, npm packages,
# and a mediasoup worker (cached prebuilt download, or an offline build from source).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

# Runtime: ffmpeg decodes the tapped video; chromium runs the browser tests; openssl makes the development
# certificate (infra/dev-cert.sh); redis-server is the engine of several nodes (REDIS_URL), and the cluster
# tests start their own on a free port. Build: what the offline mediasoup worker build links against (Debian's
# libraries instead of downloads).
PACKAGES="ffmpeg chromium ca-certificates openssl redis-server curl g++ make pkg-config python3-pip libssl-dev libuv1-dev \
libsrtp2-dev libusrsctp-dev libabsl-dev libflatbuffers-dev flatbuffers-compiler"
missing=$(dpkg-query -W -f='${Package} ${Status}\n' $PACKAGES 2>/dev/null | grep -v 'install ok installed' | cut -d' ' -f1 || true)
missing="$missing $(for p in $PACKAGES; do dpkg-query -W "$p" >/dev/null 2>&1 || echo "$p"; done)"
missing=$(echo $missing | tr ' ' '\n' | sort -u | tr '\n' ' ')
if [ -n "${missing// /}" ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "[setup] installing system packages: $missing"
  $SUDO apt-get update -qq || true
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends $missing
fi

# mediasoup's own postinstall would try GitHub, then a source build that downloads its dependencies;
# ensure-worker.sh does both steps in a way that also works offline, so the postinstall is skipped here.
echo "[setup] installing npm packages"
MEDIASOUP_WORKER_BIN=provided-by-infra-setup ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund

infra/mediasoup/ensure-worker.sh
echo "[setup] done"
