"""Convert the paper's checkpoint (reference code github.com/ryanhe312/ABAW2-FPNMAA, MIT) to the affect model contract.

  python -m fpnmaa.convert_paper --ckpt fpn_multi.ckpt --out models/export/fpn-maa-paper.onnx
  VISION_AFFECT_MODEL=models/export/fpn-maa-paper.onnx npm start

The reference's MultiPyramidClassifier (PyTorch Lightning) is torchvision's resnet_fpn_backbone('resnet50') (ResNet-50
with FrozenBatchNorm2d, eps 1e-5 since torchvision 0.8; FPN 256 channels, outputs '0'..'3' + 'pool') whose five outputs
are global-average-pooled and concatenated (1280-d), and three linear heads VA_head / EXPR_head / AU_head. Its input is
the ABAW cropped_aligned frame resized to 128 x 128, ImageNet mean/std. That is our FPNMAA("r50") (model.py) with the
VA head's output clipped to +-0.99 instead of tanh (the reference's VA head is linear, its predictions are clipped to
+-0.99), so the conversion is a renaming of the state dict's keys (checked one to one: every key used, shapes equal).

AU thresholds: the reference decides an AU on its logit > 0.5 (predict_step and its AU metric), i.e. p > sigmoid(0.5)
= 0.6225; the exported thresholds are that value, so the server reproduces the paper's decisions.

Crop: the reference never saw our crop, only ABAW's cropped_aligned frames, so the metadata declares the
eyes-mouth-v1 square that matches those frames (AFFWILD2_CROP, README "Research use", how it was chosen and checked).
"""
import argparse
import datetime
import json
import os
import pickle
import re
import types

import numpy as np
import torch

from .datasets import PAPER
from .export import fixture_input, parity_fixture, write_contract_onnx
from .model import FPNMAA, INPUT_SIZE
from .teachers import AU_LABELS

IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]
# The ABAW cropped_aligned frame as an eyes-mouth-v1 square: the 112 x 112 five-point template those frames are
# aligned to (insightface's ArcFace template: eyes (38.29, 51.70), (73.53, 51.50), mouth corners (41.55, 92.37),
# (70.73, 92.20)) has eye-midpoint-to-mouth distance 40.69 (> eye distance 35.24), so side 112 = 2.753 x 40.69, and
# the frame centre (56, 56) lies 4.40 px = 0.108 x 40.69 below the eye midpoint towards the mouth.
AFFWILD2_CROP = {"method": "eyes-mouth-v1", "scale": 2.753, "shift": 0.108}
PAPER_AU_THRESHOLD = round(float(1 / (1 + np.exp(-0.5))), 4)


class _StandIn(dict):
    """What a class the loader cannot import (Lightning's AttributeDict, ...) unpickles as."""

    def __setstate__(self, state):
        self.state = state


class _PermissiveUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        try:
            return super().find_class(module, name)
        except (ImportError, AttributeError):
            return _StandIn


def load_checkpoint(path):
    """The checkpoint's tensors (its state dict) and the whole checkpoint. A Lightning checkpoint pickles its
    hyper-parameters with Lightning's classes (e.g. AttributeDict); without Lightning installed those load as plain
    stand-ins: only the tensors matter."""
    try:
        ck = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        permissive = types.SimpleNamespace(Unpickler=_PermissiveUnpickler, load=pickle.load, __name__="pickle")
        ck = torch.load(path, map_location="cpu", weights_only=False, pickle_module=permissive)
    state = ck.get("state_dict", ck) if isinstance(ck, dict) else ck
    return {k: v for k, v in state.items() if torch.is_tensor(v)}, ck


def reference_key(ours):
    """Our FPNMAA('r50') state-dict key -> the reference MultiPyramidClassifier's (torchvision layout); None for our
    batch norms' num_batches_tracked (FrozenBatchNorm2d has none)."""
    if ours.endswith("num_batches_tracked"):
        return None
    k = ours
    k = re.sub(r"^backbone\.stem\.0\.0\.", "backbone.body.conv1.", k)
    k = re.sub(r"^backbone\.stem\.0\.1\.", "backbone.body.bn1.", k)
    k = re.sub(r"^backbone\.stages\.(\d)\.(\d+)\.c(\d)\.0\.", lambda m: f"backbone.body.layer{int(m[1]) + 1}.{m[2]}.conv{m[3]}.", k)
    k = re.sub(r"^backbone\.stages\.(\d)\.(\d+)\.c(\d)\.1\.", lambda m: f"backbone.body.layer{int(m[1]) + 1}.{m[2]}.bn{m[3]}.", k)
    k = re.sub(r"^backbone\.stages\.(\d)\.(\d+)\.short\.(\d)\.", lambda m: f"backbone.body.layer{int(m[1]) + 1}.{m[2]}.downsample.{m[3]}.", k)
    k = re.sub(r"^fpn\.lateral\.", "backbone.fpn.inner_blocks.", k)
    k = re.sub(r"^fpn\.out\.", "backbone.fpn.layer_blocks.", k)
    k = re.sub(r"^(va|expr|au)\.", lambda m: {"va": "VA_head", "expr": "EXPR_head", "au": "AU_head"}[m[1]] + ".linear.", k)
    if k == ours:
        raise KeyError(f"no reference name for {ours}")
    return k


def convert_state(ref_state):
    """Reference state dict -> an FPNMAA('r50', va_out='clip') in eval mode. Accepts both torchvision FPN layouts
    (inner_blocks.0.weight before 0.13, inner_blocks.0.0.weight since) and a 'model.' or 'module.' prefix."""
    ref = {}
    for k, v in ref_state.items():
        k = re.sub(r"^(model\.|module\.)", "", k)
        k = re.sub(r"^(backbone\.fpn\.(inner|layer)_blocks\.\d+)\.0\.", r"\1.", k)
        ref[k] = v
    model = FPNMAA("r50", va_out="clip")
    state = model.state_dict()
    used, problems = set(), []
    for ours, t in state.items():
        k = reference_key(ours)
        if k is None:
            continue
        if k not in ref:
            problems.append(f"missing {k}")
        elif ref[k].shape != t.shape:
            problems.append(f"{k}: shape {tuple(ref[k].shape)}, expected {tuple(t.shape)}")
        else:
            t.copy_(ref[k])
            used.add(k)
    extra = sorted(k for k in ref if k not in used and not k.endswith("num_batches_tracked"))
    if extra:
        problems.append(f"not used: {', '.join(extra[:8])}{' ...' if len(extra) > 8 else ''} ({len(extra)})")
    if problems:
        raise SystemExit("checkpoint does not have the reference MultiPyramidClassifier structure: " + "; ".join(problems[:12]))
    model.load_state_dict(state)
    return model.eval()


def contract_props(name, version, provenance, crop, size=INPUT_SIZE["r50"], expr_labels=PAPER, au_labels=AU_LABELS):
    """Contract metadata of a model trained the paper's way (ABAW crops, ImageNet normalisation, AU at logit > 0.5)."""
    return {
        "affect.contract_version": "1", "affect.name": name, "affect.version": version, "affect.provenance": provenance,
        "affect.input_size": str(size), "affect.mean": json.dumps(IMAGENET_MEAN),
        "affect.std": json.dumps(IMAGENET_STD), "affect.crop": json.dumps(crop),
        "affect.expression_labels": json.dumps(expr_labels), "affect.au_labels": json.dumps(au_labels),
        "affect.au_thresholds": json.dumps([PAPER_AU_THRESHOLD] * len(au_labels)),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ckpt", required=True, help="the reference code's checkpoint (Lightning .ckpt or a state dict)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--name", default="fpn-maa-paper")
    ap.add_argument("--version", default="1.0.0")
    ap.add_argument("--source", default="the ABAW2 2021 multi-task checkpoint published with the reference code",
                    help="where the checkpoint came from, for the provenance")
    ap.add_argument("--crop-scale", type=float, default=AFFWILD2_CROP["scale"])
    ap.add_argument("--crop-shift", type=float, default=AFFWILD2_CROP["shift"])
    ap.add_argument("--fixture-json", default=None, help="write PyTorch outputs for the fixture input (parity tests)")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    state, _ = load_checkpoint(args.ckpt)
    model = convert_state(state)
    crop = {"method": "eyes-mouth-v1", "scale": args.crop_scale, "shift": args.crop_shift}
    provenance = (f"{args.name}: the FPN-MAA paper's weights (He et al., ABAW2 2021; reference code "
                  f"github.com/ryanhe312/ABAW2-FPNMAA, MIT): {args.source} ({os.path.basename(args.ckpt)}), converted by "
                  f"models/fpnmaa/convert_paper.py on {datetime.date.today()}; trained on Aff-Wild2 cropped_aligned "
                  f"frames (+ AffectNet, ExpW in the teachers), 128 px, ImageNet normalisation; crop {json.dumps(crop)} "
                  f"approximates those frames; VA clipped to +-0.99, AU active at logit > 0.5 as in the reference.")
    props = contract_props(args.name, args.version, provenance, crop)
    size = INPUT_SIZE["r50"]
    rng = np.random.default_rng(0)
    worst = write_contract_onnx(model, args.out, props, size,
                                [fixture_input(size), rng.normal(size=(3, 3, size, size)).astype(np.float32)])
    print(f"parity torch vs onnxruntime (python): max |diff| = {worst:.2e}")
    if args.fixture_json:
        parity_fixture(model, args.out, size, args.fixture_json)
    print(f"wrote {args.out} ({os.path.getsize(args.out) / 1e6:.1f} MB), crop {json.dumps(crop)}")


if __name__ == "__main__":
    main()
