#!/usr/bin/env bash
# One command to (re)produce the default model; re-running resumes every step that already finished.
#   models/train.sh DATA_DIR [RUN_NAME] [extra train args...]
# DATA_DIR holds expressions/ (labels.csv + images/), faces/ and, optionally, ferplus/ (labels.csv + images/).
# Steps: setup venv, fetch teachers, crops + teacher labels (Node, server's detector/aligner; the face-api package's
# demo photos are added as unlabelled faces; FER+ faces framed for the detector), more teacher views (expression crops
# at scale 2.8, mirrored mesh crops), MediaPipe blendshapes (the AU teacher), split + AU/VA teachers, training
# (resumes from checkpoints). Export and evaluation: models/README.md.
# Heavy steps run under nice. Set THREADS (default 2).
set -euo pipefail
cd "$(dirname "$0")/.."
data="${1:?usage: models/train.sh DATA_DIR [RUN_NAME] [train args]}"
run="${2:-realtime-v3}"
shift $(( $# >= 2 ? 2 : 1 ))
threads="${THREADS:-2}"
ferplus=()
[ -f "$data/ferplus/labels.csv" ] && ferplus=(--ferplus "$data/ferplus")
[ -x models/.venv/bin/python ] || models/setup.sh
models/scripts/fetch-teachers.sh models/cache
if [ ! -f models/cache/crops/.done ]; then
  nice -n 19 npx tsx models/scripts/make-crops.ts --data "$data" --out models/cache/crops --teachers models/cache --extra models/cache/fa/package/demo "${ferplus[@]}"
  touch models/cache/crops/.done
fi
if [ ! -f models/cache/crops/.views-done ]; then
  nice -n 19 npx tsx models/scripts/teacher-views.ts --data "$data" --crops models/cache/crops --teachers models/cache --extra models/cache/fa/package/demo "${ferplus[@]}"
  touch models/cache/crops/.views-done
fi
if [ ! -f models/cache/crops/blendshapes.json ]; then
  (cd models && nice -n 19 .venv/bin/python -m fpnmaa.blendshapes --crops cache/crops)
fi
[ -f models/cache/labels.npz ] || (cd models && nice -n 19 .venv/bin/python -m fpnmaa.prepare --crops cache/crops --data "$data" --out cache/labels.npz \
  --expr-views teachers-s2.8.f32 --expr-teacher faceapi --mirror-mesh --au-teacher blendshapes)
# 3.0.0 starts from the weights of 2.0.0 (the last commit that shipped it), fine-tuned on the new data and teachers
[ -f models/cache/init-2.0.0.onnx ] || git show 46e2855:models/affect/fpn-maa-realtime.onnx > models/cache/init-2.0.0.onnx
(cd models && nice -n 19 .venv/bin/python -m fpnmaa.train --crops cache/crops --labels cache/labels.npz --run "checkpoints/$run" --threads "$threads" "$@")
