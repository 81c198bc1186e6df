"""Refit a trained student's AU head on its frozen features (3.1.2's AU head; backbone, expression and VA unchanged).

  python -m fpnmaa.refit_au --ckpt checkpoints/realtime-v3.2/final.pt --crops cache/crops --labels cache/labels.npz \
      --out checkpoints/realtime-v3.2-au/final.pt

The head trained with the network fits the AU teacher's soft intensities on augmented crops, most of them neutral or
happy faces; the threshold rule (export.py) then caps its false alarms on neutral faces, and on the rarer expressions
it fires less often than its teacher does. The refit: one logistic regression per AU on the pooled features of the
served (un-augmented) crop of every training face, against the AU teacher's decisions (active or not), each face
weighted by its human expression class's (n / (7 n_c))^0.5 (faces without one: 1, the expression loss's balance),
L2 1e-4 on the weights, L-BFGS from the trained head. Export applies the same threshold rule afterwards.
Measured on 3.1.0's weights (MODEL_CARD.md): FACS-prototype agreement on FER+ valid 0.47 -> 0.51, in the wild
0.31 -> 0.32, neutral false alarms at most 0.13, F1 against the teacher 0.607 -> 0.603.
--expression-prior W: the targets mix in the AUs each face's human expression judgement carries (au_priors.py):
an unambiguous anger face's targets are (1 - W) x the teacher's decisions + W x P(AU | anger).
"""
import argparse
import os

import numpy as np
import torch
import torch.nn.functional as F

from .au_priors import mixed_targets
from .model import INPUT_SIZE
from .train import augment_view, held_out_rows, human_class, human_distribution, load_data, load_student

L2 = 1e-4


def class_balance_weights(human, n_classes=7):
    """Per face: (n / (n_classes * n_c))^0.5 of its class c (human >= 0), 1 where it has none."""
    counts = np.bincount(human[human >= 0], minlength=n_classes).astype(float)
    per_class = (counts.sum() / (n_classes * np.maximum(counts, 1))) ** 0.5
    return np.where(human >= 0, per_class[np.clip(human, 0, n_classes - 1)], 1.0)


def fit_head(features, targets, weights, weight, bias, iterations=3):
    """Weighted logistic regression of `targets` (n, k) on `features` (n, d) from the head (weight (k, d), bias (k,))."""
    w = weight.clone().requires_grad_(True)
    b = bias.clone().requires_grad_(True)
    sw = weights / weights.sum()
    opt = torch.optim.LBFGS([w, b], max_iter=200, line_search_fn="strong_wolfe")

    def loss():
        opt.zero_grad()
        per_face = F.binary_cross_entropy_with_logits(features @ w.T + b, targets, reduction="none").mean(1)
        value = (per_face * sw).sum() + L2 * (w ** 2).sum()
        value.backward()
        return value

    for _ in range(iterations):
        opt.step(loss)
    return w.detach(), b.detach()


def features_of(model, x_u8, rows, size, batch=256):
    model.eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(rows), batch):
            out.append(model.features(augment_view(x_u8[rows[i:i + batch]], size, False, None)))
    return torch.cat(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", required=True)
    ap.add_argument("--crops", required=True)
    ap.add_argument("--labels", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--expression-prior", type=float, default=0.0,
                    help="weight of the published AU-given-expression table in the targets of faces a human judged")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    ck, model, arch = load_student(args.ckpt)
    meta, x_u8, lab = load_data(args.crops, args.labels)
    train = np.where(~held_out_rows(lab))[0]
    human = human_class(lab)
    # the features of a checkpoint do not change: computing them is most of the time (minutes on a CPU); a cache
    # older than the checkpoint, or of another set of training faces, is recomputed
    cache = os.path.join(os.path.dirname(os.path.abspath(args.ckpt)), "train-features.pt")
    fresh = os.path.exists(cache) and os.path.getmtime(cache) > os.path.getmtime(args.ckpt)
    features = torch.load(cache) if fresh else None
    if features is None or features.shape[0] != len(train):
        features = features_of(model, x_u8, train, INPUT_SIZE[arch])
        torch.save(features, cache)
    targets = lab["au_act"][train]
    if args.expression_prior:
        targets = mixed_targets(targets, human_distribution(lab)[train].numpy(), args.expression_prior)
    targets = torch.from_numpy(targets).float()
    weights = torch.from_numpy(class_balance_weights(human[train])).float()
    w, b = fit_head(features, targets, weights, model.au.weight.detach(), model.au.bias.detach())
    with torch.no_grad():
        model.au.weight.copy_(w)
        model.au.bias.copy_(b)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    refit = {"faces": int(len(train)), "targets": "au_act", "expression_prior": args.expression_prior,
             "weights": "class balance ^0.5", "l2": L2, "from": args.ckpt}
    torch.save({**ck, "model": model.state_dict(), "arch": arch, "args": {**ck["args"], "au_refit": refit}}, args.out)
    print(f"refit the AU head on {len(train)} training faces -> {args.out}")


if __name__ == "__main__":
    main()
