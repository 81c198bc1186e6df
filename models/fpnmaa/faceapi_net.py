"""face-api's expression net (`@vladmandic/face-api@1.7.15` `face_expression_model`, the expression teacher) in
PyTorch, its weights read from the package's tfjs weights manifest, and its export to ONNX: a teacher that can judge
augmented views inside a training loop (on a GPU too) and a second session the server's runtime could load.

The network, after face-api's source (faceFeatureExtractor/, faceProcessor/, faceExpressionNet/): input 112 x 112 RGB
in 0..255 minus the mean RGB (122.782, 117.001, 104.298), / 255; four dense blocks (32, 64, 128, 256 channels), each a
stride-2 convolution (a plain 3x3 convolution in the first block, a depthwise-separable one after) followed by three
separable convolutions whose inputs are the ReLU of the running sum of the block's outputs; 7 x 7 average pool; a fully
connected layer to 7 logits; softmax. TensorFlow's SAME padding (the extra pixel bottom/right at stride 2).

Outputs here are in the paper's class order (Neutral, Anger, Disgust, Fear, Happiness, Sadness, Surprise), like the
tfjs teacher wrapper (models/scripts/teachers.ts). Input: NCHW float RGB in 0..255, the crop the server's aligner
cuts with mean 0 and std 1/255 at face-api's crop (eyes-mouth-v1, scale 2.8, shift 0.5, 112 px).

  python -m fpnmaa.faceapi_net --package cache/fa/package --out cache/faceapi-expression.onnx

Parity against the tfjs original on real faces: models/scripts/ensemble-ceiling.ts --faceapi-onnx.
"""
import argparse
import json
import os
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch
import torch.nn as nn
import torch.nn.functional as F

from .mobilefacenet import read_weights_manifest, tf_same_pad

MEAN_RGB = (122.782, 117.001, 104.298)
# face-api's output order (neutral, happy, sad, angry, fearful, disgusted, surprised) -> the paper's index
FACEAPI_TO_PAPER = [0, 4, 5, 1, 3, 2, 6]
PAPER_FROM_FACEAPI = [FACEAPI_TO_PAPER.index(i) for i in range(7)]
SIZE = 112


class Conv(nn.Module):
    """A 3x3 convolution (plain, or depthwise + pointwise) with bias and TensorFlow SAME padding."""

    def __init__(self, c_in, c_out, stride, separable):
        super().__init__()
        self.stride = stride
        self.separable = separable
        if separable:
            self.depthwise = nn.Conv2d(c_in, c_in, 3, stride, groups=c_in, bias=False)
            self.pointwise = nn.Conv2d(c_in, c_out, 1)
        else:
            self.conv = nn.Conv2d(c_in, c_out, 3, stride)

    def forward(self, x):
        x = tf_same_pad(x, 3, self.stride)
        return self.pointwise(self.depthwise(x)) if self.separable else self.conv(x)


class DenseBlock4(nn.Module):
    def __init__(self, c_in, c_out, first):
        super().__init__()
        self.convs = nn.ModuleList([Conv(c_in, c_out, 2, not first)] + [Conv(c_out, c_out, 1, True) for _ in range(3)])

    def forward(self, x):
        total = F.relu(self.convs[0](x))
        for conv in self.convs[1:]:
            total = total + conv(F.relu(total))
        return F.relu(total)


class FaceExpressionNet(nn.Module):
    def __init__(self):
        super().__init__()
        widths = [3, 32, 64, 128, 256]
        self.blocks = nn.ModuleList([DenseBlock4(widths[i], widths[i + 1], i == 0) for i in range(4)])
        self.fc = nn.Linear(256, 7)
        self.register_buffer("mean", torch.tensor(MEAN_RGB).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("order", torch.tensor(PAPER_FROM_FACEAPI), persistent=False)

    def forward(self, x):
        """x: [N, 3, 112, 112] RGB 0..255 -> logits [N, 7], paper order."""
        x = (x - self.mean) / 255
        for block in self.blocks:
            x = block(x)
        return self.fc(x.mean((2, 3)))[:, self.order]


def load_faceapi(package):
    """The net with the package's weights; every tensor of the manifest is used and every parameter written."""
    manifest = Path(package) / "model/face_expression_model-weights_manifest.json"
    weights = read_weights_manifest(json.loads(manifest.read_text()), manifest.parent)
    net = FaceExpressionNet().eval()
    used = set()

    def put(param, name, layout):
        used.add(name)
        value = torch.from_numpy(np.ascontiguousarray(weights[name].transpose(layout)))
        if tuple(param.shape) != tuple(value.shape):
            raise ValueError(f"{name}: shape {tuple(value.shape)} vs {tuple(param.shape)}")
        with torch.no_grad():
            param.copy_(value)

    for b, block in enumerate(net.blocks):
        for c, conv in enumerate(block.convs):
            scope = f"dense{b}/conv{c}"
            if conv.separable:
                put(conv.depthwise.weight, f"{scope}/depthwise_filter", (2, 3, 0, 1))  # [kh, kw, in, 1] -> [in, 1, kh, kw]
                put(conv.pointwise.weight, f"{scope}/pointwise_filter", (3, 2, 0, 1))  # [1, 1, in, out] -> [out, in, 1, 1]
                put(conv.pointwise.bias, f"{scope}/bias", (0,))
            else:
                put(conv.conv.weight, f"{scope}/filters", (3, 2, 0, 1))
                put(conv.conv.bias, f"{scope}/bias", (0,))
    put(net.fc.weight, "fc/weights", (1, 0))
    put(net.fc.bias, "fc/bias", (0,))
    if used != set(weights):
        raise ValueError(f"weights not used: {sorted(set(weights) - used)}")
    return net


class WithSoftmax(nn.Module):
    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        logits = self.net(x)
        return logits, logits.softmax(1)


def export(net, out):
    """ONNX (opset 18, weights inside, dynamic batch): input `input` [N, 3, 112, 112] RGB 0..255, outputs `logits` and
    `probs` [N, 7] in paper order. Checked against PyTorch (fails above 1e-4); returns the max |diff|."""
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    model = WithSoftmax(net).eval()
    torch.onnx.export(model, (torch.zeros(2, 3, SIZE, SIZE),), out, input_names=["input"], output_names=["logits", "probs"],
                      dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}, "probs": {0: "N"}},
                      opset_version=18, external_data=False, dynamo=True)
    m = onnx.load(out)
    for node in m.graph.node:  # the exporter's stack traces name the build machine's paths
        del node.metadata_props[:]
    onnx.helper.set_model_props(m, {"name": "face-api face_expression_model", "version": "1.7.15",
                                    "source": "@vladmandic/face-api@1.7.15 model/face_expression_model (MIT)",
                                    "input": "RGB 0..255, NCHW 112 x 112, eyes-mouth-v1 crop scale 2.8 shift 0.5",
                                    "classes": "Neutral, Anger, Disgust, Fear, Happiness, Sadness, Surprise"})
    onnx.checker.check_model(m)
    onnx.save(m, out)
    if os.path.exists(out + ".data"):
        raise SystemExit("exporter wrote external data")
    x = torch.rand(8, 3, SIZE, SIZE) * 255
    with torch.no_grad():
        ref = model(x)
    sess = ort.InferenceSession(out, providers=["CPUExecutionProvider"])
    got = sess.run(["logits", "probs"], {"input": x.numpy()})
    worst = max(float(np.abs(r.numpy() - g).max()) for r, g in zip(ref, got))
    if worst > 1e-4:
        raise SystemExit(f"{out}: parity torch vs onnxruntime failed, max |diff| {worst:.2e}")
    return worst


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--package", default="cache/fa/package", help="the unpacked @vladmandic/face-api package")
    ap.add_argument("--out", default="cache/faceapi-expression.onnx")
    args = ap.parse_args()
    worst = export(load_faceapi(args.package), args.out)
    print(f"wrote {args.out} ({os.path.getsize(args.out) / 1e6:.2f} MB); torch vs onnxruntime max |diff| {worst:.1e}")


if __name__ == "__main__":
    main()
