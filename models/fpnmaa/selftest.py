"""Python-side checks (run: cd models && .venv/bin/python -m fpnmaa.selftest):
metrics vs the hand-computed cases, AU-teacher pose/scale invariance, a tiny training run lowers the loss."""
import json
import os

import numpy as np
import torch
import torch.nn.functional as F

from . import metrics as M
from . import teachers as T
from .model import FPNMAA


def check_metrics():
    c = json.load(open(os.path.join(os.path.dirname(__file__), "metric_cases.json")))
    for k in c["accuracy"]:
        assert abs(M.accuracy(k["true"], k["pred"]) - k["expected"]) < 1e-12
    for k in c["f1_binary"]:
        assert abs(M.f1_binary(k["true"], k["pred"]) - k["expected"]) < 1e-12
    for k in c["macro_f1"]:
        assert abs(M.macro_f1(k["true"], k["pred"], k["n"]) - k["expected"]) < 1e-12
    for k in c["per_class_recall"]:
        assert np.allclose(M.per_class_recall(k["true"], k["pred"], k["n"]), k["expected"])
    for k in c["ccc"]:
        assert abs(M.ccc(k["x"], k["y"]) - k["expected"]) < 1e-12
    print("metrics: ok")


def check_au_invariance():
    rng = np.random.default_rng(0)
    ref = rng.normal(size=(468, 3)) * 50 + 96
    meshes = ref[None] + rng.normal(size=(40, 468, 3)) * 0.8
    refm = T.fit_reference(meshes)
    f0 = T.feature_matrix(meshes[:3], refm)
    ang = 0.3
    r = np.array([[np.cos(ang), -np.sin(ang), 0], [np.sin(ang), np.cos(ang), 0], [0, 0, 1]])
    moved = np.array([(1.7 * (r @ m.T)).T + np.array([10.0, -5.0, 3.0]) for m in meshes[:3]])
    f1 = T.feature_matrix(moved, refm)
    assert np.allclose(f0, f1, atol=1e-6), np.abs(f0 - f1).max()
    print("AU teacher: invariant to roll, scale and shift: ok")


def check_tiny_training():
    torch.manual_seed(0)
    m = FPNMAA("realtime")
    x = torch.randn(8, 3, 112, 112)
    y = torch.randint(0, 7, (8,))
    opt = torch.optim.Adam(m.parameters(), 1e-3)
    losses = []
    for _ in range(8):
        va, ex, au = m(x)
        loss = F.cross_entropy(ex, y) + F.mse_loss(va, torch.zeros_like(va)) + F.binary_cross_entropy_with_logits(au, torch.zeros_like(au))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0], losses
    print(f"tiny training: loss {losses[0]:.3f} -> {losses[-1]:.3f}: ok")


if __name__ == "__main__":
    check_metrics()
    check_au_invariance()
    check_tiny_training()
