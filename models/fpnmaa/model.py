"""FPN multi-task affect models, plain torch modules (no torchvision/timm).

fpn-maa-r50: the paper's MultiPyramidClassifier shape: ResNet-50 (Bottleneck 3-4-6-3) + FPN (256 ch) with outputs
  '0'..'3' (strides 4..32) and 'pool' (max-pool stride 2 of the last, as torchvision's LastLevelMaxPool), each
  global-average-pooled and concatenated (5 x 256 = 1280-d), linear heads VA 2 / EXPR 7 / AU 12.
fpn-maa-realtime: a slim ResNet-style backbone (BasicBlocks, widths 32-64-128-256 at strides 4-8-16-32) with the same
  5-level FPN pooling and heads; the FPN uses 96 channels and depthwise-separable output convs (5 x 96 = 480-d).
fpn-maa-realtime-deep: the realtime variant with blocks 1-1-3-2 (DEEP_BLOCKS), grown from a trained realtime model.
fpn-maa-realtime-wide: the realtime variant with 1.5x the channels at strides 16 and 32 (WIDE_WIDTHS), grown from a
  trained realtime model by new channels (train.py --init-ckpt).
fpn-maa-mfn: MobileFaceNet (mobilefacenet.py; taps at strides 4-8-16-16) with the realtime variant's FPN and heads;
  "mfn" has the layout of the face-recognition weights it starts from (train.py --init-backbone), "mfn-bn" is the
  same network with batch norm layers, to train from scratch (batch norm folds into the convolutions on export).
The VA head ends in tanh (contract: values in [-1, 1]); va_out="clip" instead clips to +-0.99, as the paper's
reference code does at prediction time (its VA head is linear; convert_paper.py).
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from .mobilefacenet import MobileFaceNetBackbone


def conv_bn(cin, cout, k=3, s=1, act=True):
    layers = [nn.Conv2d(cin, cout, k, s, k // 2, bias=False), nn.BatchNorm2d(cout)]
    if act:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.c1 = conv_bn(cin, cout, 3, stride)
        self.c2 = conv_bn(cout, cout, 3, 1, act=False)
        self.short = None if (cin == cout and stride == 1) else conv_bn(cin, cout, 1, stride, act=False)

    def forward(self, x):
        y = self.c2(self.c1(x))
        return F.relu(y + (x if self.short is None else self.short(x)))


class Bottleneck(nn.Module):
    def __init__(self, cin, mid, stride):
        super().__init__()
        cout = mid * 4
        self.c1 = conv_bn(cin, mid, 1)
        self.c2 = conv_bn(mid, mid, 3, stride)
        self.c3 = conv_bn(mid, cout, 1, act=False)
        self.short = None if (cin == cout and stride == 1) else conv_bn(cin, cout, 1, stride, act=False)

    def forward(self, x):
        y = self.c3(self.c2(self.c1(x)))
        return F.relu(y + (x if self.short is None else self.short(x)))


class StagedBackbone(nn.Module):
    """A stem, then `stages` (one per FPN level): the features after each stage, finest first."""

    def forward(self, x):
        x = self.stem(x)
        feats = []
        for s in self.stages:
            x = s(x)
            feats.append(x)
        return feats


class SlimResNet(StagedBackbone):
    """Stem to stride 4, then one stage per FPN level."""

    def __init__(self, widths=(32, 64, 128, 256), blocks=(1, 1, 2, 1)):
        super().__init__()
        self.stem = nn.Sequential(conv_bn(3, 24, 3, 2), conv_bn(24, widths[0], 3, 2))
        stages, cin = [], widths[0]
        for i, (w, b) in enumerate(zip(widths, blocks)):
            layers = []
            for j in range(b):
                layers.append(BasicBlock(cin, w, 2 if (j == 0 and i > 0) else 1))
                cin = w
            stages.append(nn.Sequential(*layers))
        self.stages = nn.ModuleList(stages)
        self.channels = list(widths)


# realtime-deep: one more block at strides 16 and 32, where a block costs little time (7x7 and 4x4 maps at 112 px)
# and adds 0.3 M and 1.2 M parameters; the blocks of "realtime" keep their names, so its weights load as they are.
DEEP_BLOCKS = (1, 1, 3, 2)


# realtime-wide: the two coarsest stages (7x7 and 4x4 maps at 112 px) hold 45% of the realtime variant's
# multiply-adds but most of its parameters; 1.5x their channels is ~1.5x the time per face, inside the 3 ms budget.
WIDE_WIDTHS = (32, 64, 192, 384)


class ResNet50(StagedBackbone):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(conv_bn(3, 64, 7, 2), nn.MaxPool2d(3, 2, 1))
        cfg = [(64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)]
        stages, cin = [], 64
        for mid, n, stride in cfg:
            layers = []
            for j in range(n):
                layers.append(Bottleneck(cin, mid, stride if j == 0 else 1))
                cin = mid * 4
            stages.append(nn.Sequential(*layers))
        self.stages = nn.ModuleList(stages)
        self.channels = [256, 512, 1024, 2048]


class FPN(nn.Module):
    def __init__(self, in_channels, ch, separable):
        super().__init__()
        self.lateral = nn.ModuleList([nn.Conv2d(c, ch, 1) for c in in_channels])
        if separable:
            self.out = nn.ModuleList([nn.Sequential(nn.Conv2d(ch, ch, 3, 1, 1, groups=ch), nn.Conv2d(ch, ch, 1)) for _ in in_channels])
        else:
            self.out = nn.ModuleList([nn.Conv2d(ch, ch, 3, 1, 1) for _ in in_channels])

    def forward(self, feats):
        lat = [l(f) for l, f in zip(self.lateral, feats)]
        outs = [None] * len(lat)
        x = lat[-1]
        outs[-1] = self.out[-1](x)
        for i in range(len(lat) - 2, -1, -1):
            x = lat[i] + F.interpolate(x, size=lat[i].shape[-2:], mode="nearest")
            outs[i] = self.out[i](x)
        outs.append(F.max_pool2d(outs[-1], 1, 2))  # LastLevelMaxPool
        return outs


class FPNMAA(nn.Module):
    def __init__(self, arch="realtime", n_expr=7, n_au=12, va_out="tanh"):
        super().__init__()
        self.arch = arch
        if va_out not in ("tanh", "clip"):
            raise ValueError(va_out)
        self.va_out = va_out
        if arch == "r50":
            self.backbone, ch, sep = ResNet50(), 256, False
        elif arch == "realtime":
            self.backbone, ch, sep = SlimResNet(), 96, True
        elif arch == "realtime-deep":
            self.backbone, ch, sep = SlimResNet(blocks=DEEP_BLOCKS), 96, True
        elif arch == "realtime-wide":
            self.backbone, ch, sep = SlimResNet(widths=WIDE_WIDTHS), 96, True
        elif arch == "mfn":
            self.backbone, ch, sep = MobileFaceNetBackbone(), 96, True
        elif arch == "mfn-bn":
            self.backbone, ch, sep = MobileFaceNetBackbone(batch_norm=True), 96, True
        else:
            raise ValueError(arch)
        self.fpn = FPN(self.backbone.channels, ch, sep)
        d = 5 * ch
        self.feat_dim = d
        self.va = nn.Linear(d, 2)
        self.expr = nn.Linear(d, n_expr)
        self.au = nn.Linear(d, n_au)

    def features(self, x):
        outs = self.fpn(self.backbone(x))
        return torch.cat([o.mean(dim=(2, 3)) for o in outs], 1)

    def forward(self, x):
        f = self.features(x)
        va = self.va(f)
        va = torch.tanh(va) if self.va_out == "tanh" else va.clamp(-0.99, 0.99)
        return va, self.expr(f), self.au(f)


INPUT_SIZE = {"realtime": 112, "realtime-deep": 112, "realtime-wide": 112, "mfn": 112, "mfn-bn": 112, "r50": 128}
