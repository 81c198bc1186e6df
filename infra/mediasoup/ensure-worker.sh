#!/usr/bin/env bash
# Puts a working mediasoup-worker where mediasoup looks for it
# (node_modules/mediasoup/worker/out/Release/mediasoup-worker), in this order:
#   1. a binary cached by an earlier run (outside the repo, keyed by mediasoup version + patch hash);
#   2. mediasoup's prebuilt worker from its GitHub release (machines with internet);
#   3. a build from source against Debian's libraries with local shim subprojects and a
#      source patch (machines without internet; ~7 minutes on 2 cores). See README.md here.
# Every path ends with the binary in the cache, so the next install copies it in seconds.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
PKG="$ROOT/node_modules/mediasoup"
VERSION=$(node -p "require('$PKG/package.json').version")
PATCH_HASH=$(cat "$HERE/patch-worker.py" $(find "$HERE/shims" -type f | sort) | sha256sum | cut -c1-12)
CACHE_ROOT=${AFFECT_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/affect-call}
CACHED="$CACHE_ROOT/mediasoup-worker-$VERSION-$PATCH_HASH"
TARGET="$PKG/worker/out/Release/mediasoup-worker"

log() { echo "[mediasoup-worker] $*"; }

# A worker started without MEDIASOUP_VERSION exits with 41: proof that it loads and runs on this host.
runs_here() { [ -x "$1" ] && { "$1" >/dev/null 2>&1; [ $? -eq 41 ]; }; }

install_cached() {
  mkdir -p "$(dirname "$TARGET")"
  cp "$CACHED" "$TARGET"
  chmod 755 "$TARGET"
  log "using $CACHED"
}

if runs_here "$CACHED"; then install_cached; exit 0; fi
mkdir -p "$CACHE_ROOT"

if [ -z "${MEDIASOUP_SKIP_WORKER_PREBUILT_DOWNLOAD:-}" ]; then
  kernel=$(uname -r | cut -d. -f1)
  tarball="mediasoup-worker-$VERSION-$(node -p process.platform)-$(node -p process.arch)-kernel$kernel.tgz"
  url="https://github.com/versatica/mediasoup/releases/download/$VERSION/$tarball"
  tmp=$(mktemp -d)
  log "trying prebuilt $url"
  if curl -fsSL --connect-timeout 10 --max-time 120 "$url" | tar -xz -C "$tmp" 2>/dev/null \
     && runs_here "$tmp/mediasoup-worker"; then
    mv "$tmp/mediasoup-worker" "$CACHED"
    rm -rf "$tmp"
    install_cached
    exit 0
  fi
  rm -rf "$tmp"
  log "no usable prebuilt worker; building from source"
fi

# Offline build: Debian libraries stand in for the meson wraps mediasoup would download.
for name in openssl libuv libsrtp3 usrsctp abseil-cpp catch2 flatbuffers liburing; do
  rm -f "$PKG/worker/subprojects/$name.wrap"
  rm -rf "$PKG/worker/subprojects/$name"
  cp -r "$HERE/shims/$name" "$PKG/worker/subprojects/$name"
done
python3 "$HERE/patch-worker.py" "$PKG/worker"

# The pip mirror has these meson/ninja versions (mediasoup's defaults are not there).
export MESON_VERSION=${MESON_VERSION:-1.12.1} NINJA_VERSION=${NINJA_VERSION:-1.13.2}
# Debian's liburing 2.3 is too old for mediasoup; io_uring is only a send-path optimisation.
export MESON_ARGS="-Dms_disable_liburing=true --wrap-mode=nodownload"
export MEDIASOUP_SKIP_WORKER_PREBUILT_DOWNLOAD=1
unset MEDIASOUP_WORKER_BIN
# pip tries pypi.org first with retries when a mirror is configured as extra index: ask the mirror first.
if [ -z "${PIP_INDEX_URL:-}" ]; then
  mirror=$(pip config list 2>/dev/null | sed -n "s/^global.extra-index-url='\([^ ']*\).*/\1/p")
  [ -n "$mirror" ] && export PIP_INDEX_URL="$mirror"
fi
start=$(date +%s)
(cd "$ROOT" && npm rebuild mediasoup --foreground-scripts)
log "built in $(( $(date +%s) - start )) s"
runs_here "$TARGET" || { log "built worker does not run"; exit 1; }
cp "$TARGET" "$CACHED.tmp" && mv "$CACHED.tmp" "$CACHED"
log "cached at $CACHED"
